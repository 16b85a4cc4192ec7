"""The bundled study, validated, and the check that its seed re-creates it exactly."""

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_bayes.resources import BUNDLED_STUDY_SEED, bundled_study_path
from atlas_bayes.simulate import simulate_atlas_study
from atlas_bayes.study import Study, load_study


@dataclass(frozen=True)
class CheckedStudy:
    """The bundled study after its checks.

    Attributes
    ----------
    path : pathlib.Path
        Where it was read from.
    study : Study
        The validated study.
    truth : dict
        Its ``truth.json`` (the simulation's parameters and true answers).
    reproducible : bool
        Whether simulating from :data:`~atlas_bayes.resources.BUNDLED_STUDY_SEED` again wrote
        a study with the same content hash.
    """

    path: Path
    study: Study
    truth: dict[str, Any]
    reproducible: bool


def check_bundled_study(scratch: Path) -> CheckedStudy:
    """Load and validate the bundled study; re-simulate it from its seed and compare.

    Parameters
    ----------
    scratch
        A folder for the re-simulated copy (removed again before returning).

    Returns
    -------
    CheckedStudy

    Raises
    ------
    atlas_bayes.study.StudyValidationError
        If the bundled study is invalid (a broken installation).
    """
    path = bundled_study_path()
    study = load_study(path)
    # Compare what a user would get from the files: the written form of the new study.
    folder = Path(tempfile.mkdtemp(prefix="resimulated.", dir=scratch))
    try:
        simulate_atlas_study(seed=BUNDLED_STUDY_SEED).write(folder / "study")
        reproducible = load_study(folder / "study").content_hash() == study.content_hash()
    finally:
        shutil.rmtree(folder)
    truth = json.loads((path / "truth.json").read_text(encoding="utf-8"))
    return CheckedStudy(path=path, study=study, truth=truth, reproducible=reproducible)


__all__ = ["CheckedStudy", "check_bundled_study"]
