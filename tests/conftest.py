"""Shared fixtures: small studies cut from the bundled simulated study, and small fits."""

import pandas as pd
import pytest

from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import Study, load_study

SMALL_LANGUAGES = ("en", "fr", "sw")


def cut_study(study: Study, languages, kinds) -> Study:
    """Runs of ``kinds`` that train only on ``languages``, evaluated on those languages."""
    mixture = study.mixture
    foreign = mixture.loc[~mixture["language"].isin(languages), "run_id"].unique()
    runs = study.runs[study.runs["kind"].isin(kinds) & ~study.runs["run_id"].isin(foreign)]
    keep = set(runs["run_id"])
    evals = study.evals[study.evals["run_id"].isin(keep) & study.evals["language"].isin(languages)]
    return Study.from_frames(runs, mixture[mixture["run_id"].isin(keep)], evals, study.languages)


@pytest.fixture(scope="session")
def bundled_study() -> Study:
    return load_study(bundled_study_path())


@pytest.fixture(scope="session")
def small_study(bundled_study) -> Study:
    """Monolingual runs of en, fr and sw (sw repeats its data): ~25 runs, ~120 evaluations."""
    return cut_study(
        bundled_study, SMALL_LANGUAGES, ("monolingual", "monolingual_multilingual_vocab")
    )


@pytest.fixture(scope="session")
def small_multilingual_study(bundled_study) -> Study:
    """Monolingual and bilingual runs among en, fr, es, de, sw, for the atlas variant."""
    return cut_study(
        bundled_study,
        ("en", "fr", "es", "de", "sw"),
        ("monolingual", "monolingual_multilingual_vocab", "bilingual"),
    )


def frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
