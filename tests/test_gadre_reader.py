"""The Gadre et al. (2024) reader on the shared dataset (fast: no fitting)."""

from pathlib import Path

import pandas as pd
import pytest

from atlas_bayes.public_data import (
    GADRE_DATASETS,
    GADRE_FILE,
    PublicDataError,
    read_gadre_overtraining,
)

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "gadre-overtraining"

pytestmark = pytest.mark.skipif(
    not (FOLDER / GADRE_FILE).is_file(),
    reason=f"shared dataset not found at {FOLDER} (the data are not shipped with the repo)",
)

SIZES = {10569312, 78914048, 153677376, 411616256, 1439795200, 6889410560}


def test_reader_builds_the_104_run_study():
    study = read_gadre_overtraining(FOLDER)
    summary = study.summary()
    assert summary["runs"] == 104 and summary["evaluations"] == 104
    assert study.language_codes == GADRE_DATASETS
    assert set(study.runs["params"].astype(int)) == SIZES
    per_dataset = study.evals.groupby("language").size().to_dict()
    assert per_dataset == {"c4_original": 34, "rpj": 35, "rw_original": 35}
    # Each run trains on its own dataset only and is evaluated under that dataset's code.
    pairs = study.mixture.merge(study.evals, on=["run_id", "language"])
    assert len(pairs) == 104
    run = study.evals.set_index("run_id").loc["rpj-open_lm_1b-32.0"]
    assert run["language"] == "rpj" and run["loss"] == pytest.approx(2.502054, abs=1e-5)
    tokens = study.mixture.set_index("run_id").loc["rpj-open_lm_1b-32.0", "tokens"]
    assert tokens == pytest.approx(640 * 1439795200)


def test_reader_selects_eval_set_and_datasets():
    study = read_gadre_overtraining(FOLDER / GADRE_FILE, eval_set="openlm", datasets=["rpj"])
    assert study.summary()["runs"] == 35 and study.language_codes == ("rpj",)
    c4 = read_gadre_overtraining(FOLDER, datasets=["rpj"]).evals.set_index("run_id")["loss"]
    assert not study.evals.set_index("run_id")["loss"].equals(c4)


def test_reader_errors_are_clear(tmp_path):
    with pytest.raises(PublicDataError, match="not found"):
        read_gadre_overtraining(tmp_path)
    with pytest.raises(PublicDataError, match="unknown eval_set 'c4'.*c4_val"):
        read_gadre_overtraining(FOLDER, eval_set="c4")
    with pytest.raises(PublicDataError, match="unknown training dataset.*pile"):
        read_gadre_overtraining(FOLDER, datasets=["pile"])
    table = pd.read_csv(FOLDER / GADRE_FILE).drop(columns=["loss_c4_val"])
    table.to_csv(tmp_path / GADRE_FILE, index=False)
    with pytest.raises(PublicDataError, match="no column.*loss_c4_val"):
        read_gadre_overtraining(tmp_path)
    with pytest.raises(PublicDataError, match="no positive loss_openlm"):
        table.assign(loss_openlm=0.0).to_csv(tmp_path / GADRE_FILE, index=False)
        read_gadre_overtraining(tmp_path, eval_set="openlm")
