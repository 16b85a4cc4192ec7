"""Grouped cross-validation: the splits on the bundled study, scores on a known law, Dask."""

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from atlas_bayes.inference import SamplerSettings
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.simulate.law_study import simulate_law_study
from atlas_bayes.study import load_study, write_study
from atlas_bayes.validation import (
    SPLITS,
    CVEntry,
    SplitError,
    SplitNotApplicable,
    cross_validate,
    get_split,
    make_folds,
)
from atlas_bayes.validation.cli import add_crossval_parser
from atlas_bayes.validation.result import COLUMNS
from atlas_bayes.validation.splits import run_values
from atlas_bayes.variants import load_variant

TRUTH = {"log_E": np.log(1.8), "log_a": np.log(0.35), "log_b": np.log(0.5), "alpha": 0.34,
         "beta": 0.30}  # fmt: skip
#: Tiny, noisy enough that intervals matter: 24 runs x 3 checkpoints of one language.
SETTINGS = SamplerSettings(chains=2, draws=150, tune=300, seed=0)


@pytest.fixture(scope="module")
def tiny_study_dir(tmp_path_factory):
    study = simulate_law_study(
        {"en": TRUTH},
        params=[2e7, 6e7, 2e8, 6e8, 2e9, 6e9],
        tokens=[4e8, 2e9, 1e10, 5e10],
        checkpoints=(0.25, 0.5, 1.0),
        noise_scale=0.01,
        seed=3,
    )
    return write_study(study, tmp_path_factory.mktemp("crossval") / "tiny")


@pytest.fixture(scope="module")
def tiny_study(tiny_study_dir):
    # Read back from disk, so that the CLI test's study is the same (same compiled model).
    return load_study(tiny_study_dir)


@pytest.fixture(scope="module")
def fit_data(bundled_study):
    return {
        name: build_model_data(bundled_study, load_variant(name))
        for name in ("chinchilla", "atlas")
    }


def runs_of(data, mask):
    return set(data["run_id"].values[mask].astype(str))


# ------------------------------------------------------------------ splits (no fitting)
@pytest.mark.parametrize("variant", ["chinchilla", "atlas"])
def test_splits_hold_out_whole_runs(fit_data, bundled_study, variant):
    data = fit_data[variant]
    run_ids = data["run_id"].values.astype(str)
    for name in SPLITS:
        for fold in make_folds(name, data, bundled_study):
            assert fold.heldout.dtype == bool and fold.heldout.shape == run_ids.shape
            if name == "leave_one_language_out":
                # Grouped by (run, language): all checkpoints of the language go together.
                key = pd.Series(run_ids).str.cat(data["eval_language"].values.astype(str), "|")
            else:
                key = pd.Series(run_ids)
            sides = pd.Series(fold.heldout).groupby(key.to_numpy()).nunique()
            assert (sides == 1).all(), (name, fold.name)


def test_extrapolation_splits_hold_out_the_right_runs(fit_data, bundled_study):
    data = fit_data["chinchilla"]
    runs = run_values(data)
    n_runs = len(runs)
    # Largest sizes: whole sizes from the top until at least 20 % of runs.
    (fold,) = make_folds("largest_params", data, bundled_study)
    held = runs_of(data, fold.heldout)
    sizes = sorted(runs.loc[list(held), "params"].unique())
    assert runs.loc[list(held), "params"].min() > runs.drop(index=list(held))["params"].max()
    assert len(held) >= 0.2 * n_runs
    assert (runs["params"] > sizes[0]).sum() < 0.2 * n_runs  # one size fewer is not enough
    assert sizes == [4e9, 6e9, 8.45e9]
    # Top tokens and compute: about 20 % of runs, every held-out run above every training run.
    for name, column in (("top_tokens", "tokens"), ("largest_compute", "compute")):
        (fold,) = make_folds(name, data, bundled_study)
        held = runs_of(data, fold.heldout)
        assert 0.15 <= len(held) / n_runs <= 0.25, name
        assert runs.loc[list(held), column].min() > runs.drop(index=list(held))[column].max()
    # Random 20 %: the same runs for every call.
    a, b = make_folds("random_runs", data), make_folds("random_runs", data)
    assert np.array_equal(a[0].heldout, b[0].heldout)
    assert len(runs_of(data, a[0].heldout)) == round(0.2 * n_runs)


def test_kfold_and_language_folds_partition_the_data(fit_data):
    data = fit_data["atlas"]
    for name in ("kfold_runs", "leave_one_language_out"):
        folds = make_folds(name, data)
        counts = np.sum([f.heldout for f in folds], axis=0)
        assert (counts == 1).all(), name
    languages = [f.name for f in make_folds("leave_one_language_out", data)]
    assert languages == list(data["language"].values)


def test_unseen_mixtures_are_the_capacity_runs(fit_data, bundled_study):
    capacity = set(bundled_study.runs.loc[bundled_study.runs["kind"] == "capacity", "run_id"])
    # atlas excludes capacity runs from its data: they come back as runs to predict.
    (fold,) = make_folds("unseen_mixtures", fit_data["atlas"], bundled_study)
    assert fold.n_heldout == 0 and set(fold.extra_runs) == capacity and len(capacity) == 120
    assert "capacity" in fold.rule


def test_split_says_when_it_does_not_apply(tiny_study, bundled_study):
    data = build_model_data(tiny_study, load_variant("chinchilla"))
    with pytest.raises(SplitNotApplicable, match="no unseen mixtures.*monolingual"):
        make_folds("unseen_mixtures", data, tiny_study)
    with pytest.raises(SplitNotApplicable, match="at least two evaluation languages"):
        make_folds("leave_one_language_out", data, tiny_study)


def test_bad_split_name_is_a_clear_error(tiny_study, tmp_path, capsys):
    with pytest.raises(SplitError, match="unknown split 'largest_N'.*largest_params"):
        get_split("largest_N")
    # Refused before anything is fitted.
    with pytest.raises(SplitError, match="unknown split"):
        cross_validate(tiny_study, ["chinchilla"], ["top_tokens", "largest_N"], SETTINGS)
    parser = argparse.ArgumentParser()
    add_crossval_parser(parser.add_subparsers())
    out = tmp_path / "cv.csv"
    args = parser.parse_args(
        ["crossval", str(tmp_path), "--model", "chinchilla", "--split", "nope", "--out", str(out)]
    )
    assert args.func(args) == 2
    assert "unknown split 'nope'" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------ fits
@pytest.fixture(scope="module")
def serial_result(tiny_study):
    return cross_validate(
        tiny_study, ["chinchilla"], ["kfold_runs", "top_tokens", "largest_params"], SETTINGS
    )


@pytest.mark.slow
def test_true_law_predicts_held_out_runs(serial_result, tiny_study):
    table = serial_result.table
    assert list(table.columns) == list(COLUMNS)
    assert list(table["split"]) == ["kfold_runs"] * 5 + ["top_tokens", "largest_params"]
    n_obs = len(tiny_study.evals)
    assert ((table["n_train"] + table["n_heldout"]) == n_obs).all()
    assert (table["r2"] > 0.8).all(), table[["split", "fold", "r2"]]
    assert (table["mae"] < 0.05).all()
    for column in ("cover50", "cover90"):
        assert table[column].between(0, 1).all()
    assert np.isfinite(table["elpd"]).all() and (table["elpd_se"] > 0).all()
    summary = serial_result.summary.set_index("split")
    # Every evaluation is predicted once by K-fold; noise 0.01 on log-loss is what the
    # Student-t likelihood models, so the pooled intervals should be near nominal. Tolerance:
    # 72 points give a binomial sd of ~0.035 (90 %) and ~0.06 (50 %); allow about 3 sd plus
    # the short chains' error.
    kfold = summary.loc["kfold_runs"]
    assert kfold["n_heldout"] == n_obs
    assert 0.75 <= kfold["cover90"] <= 1.0
    assert 0.3 <= kfold["cover50"] <= 0.7
    assert "chinchilla" in serial_result.sentence and "nominal 90 %" in serial_result.sentence


@pytest.mark.slow
def test_results_are_saved_as_csv_and_json(serial_result, tmp_path):
    paths = serial_result.save(tmp_path / "cv.csv")
    table = pd.read_csv(paths["table"])
    assert list(table.columns) == list(COLUMNS)
    np.testing.assert_allclose(table["r2"], serial_result.table["r2"], rtol=1e-5)
    assert table["seed"].tolist() == serial_result.table["seed"].tolist()
    assert len(pd.read_csv(paths["summary"])) == 3
    saved = json.loads(paths["json"].read_text())
    assert saved["sentence"] == serial_result.sentence
    assert "r2" in saved["definitions"] and len(saved["folds"]) == 7
    with pytest.raises(FileExistsError):
        serial_result.save(tmp_path / "cv.csv")


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_numbers(serial_result, tiny_study):
    from distributed import Client, LocalCluster

    splits = ["top_tokens", "largest_params"]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        parallel = cross_validate(tiny_study, ["chinchilla"], splits, SETTINGS, client=client)
    assert parallel.meta["parallel"] == "dask (2 workers)"
    serial = serial_result.table[serial_result.table["split"].isin(splits)]
    columns = ["split", "fold", "seed", "n_train", "n_heldout", "r2", "mae", "elpd", "elpd_se",
               "cover50", "cover90"]  # fmt: skip
    pd.testing.assert_frame_equal(
        parallel.table[columns].reset_index(drop=True), serial[columns].reset_index(drop=True)
    )


def test_point_fit_methods_plug_in(tiny_study):
    seen = []

    def truth_draws(study, spec, seed):
        # The protocol: the study without held-out evaluations; draws named as the variant's.
        seen.append(set(study.runs["run_id"]))
        rng = np.random.default_rng(seed)
        draws = {
            name: (("chain", "draw", "language"), value + 0.001 * rng.standard_normal((1, 50, 1)))
            for name, value in TRUTH.items()
        }
        draws["sigma"] = (("chain", "draw"), np.full((1, 50), 0.01))
        return xr.Dataset(draws, coords={"language": ["en"]})

    entry = CVEntry(load_variant("chinchilla"), method="truth", fit_method=truth_draws)
    result = cross_validate(tiny_study, [entry], ["top_tokens"], SETTINGS)
    row = result.table.iloc[0]
    data = build_model_data(tiny_study, load_variant("chinchilla"))
    (fold,) = make_folds("top_tokens", data)
    assert seen == [set(tiny_study.runs["run_id"]) - runs_of(data, fold.heldout)]
    assert row["method"] == "truth" and row["r2"] > 0.95 and pd.isna(row["converged"])
    with pytest.raises(ValueError, match="fit_method"):
        CVEntry(load_variant("chinchilla"), method="huber")


@pytest.mark.slow
def test_cli_handler_writes_tables_and_json(serial_result, tiny_study_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_crossval_parser(parser.add_subparsers())
    out = tmp_path / "cv.csv"
    argv = ["crossval", str(tiny_study_dir), "--model", "chinchilla", "--split", "top_tokens",
            "--workers", "1", "--chains", "2", "--draws", "150", "--tune", "300", "--seed", "0",
            "--out", str(out), "--json"]  # fmt: skip
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = serial_result.table.set_index("split").loc["top_tokens"]
    assert printed["folds"][0]["r2"] == pytest.approx(expected["r2"], rel=1e-12)
    assert out.exists() and out.with_suffix(".json").exists()
    assert (tmp_path / "cv-summary.csv").exists()
    args = parser.parse_args(argv)
    assert args.func(args) == 2  # outputs exist, no --force
    assert "--force" in capsys.readouterr().err


# ------------------------------------------------------------------ grid-Huber baseline
def test_huber_bootstrap_baseline_is_a_cross_validation_method(small_study):
    from atlas_bayes.baselines import BaselineError, HuberBootstrap, baseline_entries

    chinchilla = load_variant("chinchilla")
    (entry,) = baseline_entries([chinchilla], n_bootstrap=20)
    assert entry.method == "huber_bootstrap" and isinstance(entry.fit_method, HuberBootstrap)
    result = cross_validate(small_study, [entry], ["top_tokens"], SETTINGS)
    table = result.table
    assert list(table["method"]) == ["huber_bootstrap"] and list(table["split"]) == ["top_tokens"]
    row = table.iloc[0]
    assert row["n_heldout"] > 0 and row["n_unpredicted"] == 0
    assert np.isfinite(row[["r2", "mae", "elpd"]].astype(float)).all()
    assert 0 <= row["cover50"] <= row["cover90"] <= 1
    assert pd.isna(row["converged"])  # no convergence gate for a point fit
    summary = result.summary
    assert list(summary["method"]) == ["huber_bootstrap"] and summary["converged"].all()
    assert "chinchilla (huber_bootstrap)" in result.sentence
    # The replicates are the bootstrap's, each with its robust residual scale as noise.
    last = entry.fit_method.last
    assert last is not None and last.posterior.sizes["draw"] == 20
    with pytest.raises(BaselineError, match="atlas_matrix"):
        baseline_entries([load_variant("atlas_matrix")], n_bootstrap=20)
    with pytest.raises(BaselineError, match="n_bootstrap must be >= 1"):
        HuberBootstrap(0)


@pytest.mark.slow
def test_cli_baseline_bootstrap_adds_the_baseline_rows(tiny_study_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_crossval_parser(parser.add_subparsers())
    out = tmp_path / "cv.csv"
    argv = ["crossval", str(tiny_study_dir), "--model", "chinchilla", "--split", "top_tokens",
            "--workers", "1", "--chains", "1", "--draws", "30", "--tune", "30",
            "--baseline-bootstrap", "20", "--out", str(out)]  # fmt: skip
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "huber_bootstrap" in printed and "20 run-bootstrap resamples" in printed
    table = pd.read_csv(out)
    assert list(table["method"]) == ["nuts", "huber_bootstrap"]
    assert set(table["split"]) == {"top_tokens"} and (table["n_heldout"] > 0).all()
    baseline = table.set_index("method").loc["huber_bootstrap"]
    assert np.isfinite(baseline["r2"]) and 0 <= baseline["cover90"] <= 1
    summary = pd.read_csv(tmp_path / "cv-summary.csv")
    assert list(summary["method"]) == ["nuts", "huber_bootstrap"]
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["meta"]["methods"] == ["nuts", "huber_bootstrap"]
    assert saved["meta"]["baseline"]["n_bootstrap"] == 20
    assert saved["folds"][0]["max_rhat"] is None  # one chain has no R-hat (-inf before JSON)
    # A negative count is bad input, refused before anything is fitted.
    args = parser.parse_args([*argv[:-4], "--baseline-bootstrap", "-1", "--out", str(out)])
    assert args.func(args) == 2
    assert "--baseline-bootstrap must be >= 0" in capsys.readouterr().err
