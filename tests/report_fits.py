"""Fits of every kind for the report's tests, shared by the whole session (fits are slow).

tests/conftest.py imports the fixtures, so tests/test_report.py,
tests/test_report_browser.py and tests/test_new_variant_fits.py use the same fits and the same
rendered report. Small real fits
with short chains (they fail the convergence gate, which the report must say); the curse fit
is a constructed posterior around the simulation's truth (as in tests/test_decisions.py),
because a real one needs the 120 capacity runs of many languages.
"""

import json
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from atlas_bayes.inference import Fit, SamplerSettings, fit_variant
from atlas_bayes.inference.diagnostics import compute_diagnostics
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.report import build_report
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import Study
from atlas_bayes.variants import load_variant

QUICK = SamplerSettings(chains=2, draws=100, tune=150, seed=3)
#: Short test fits keep the step-size targets they were sized with: the variants' smaller
#: steps (target_accept 0.9 and 0.95) are for their full-length fits and cost 4x the
#: gradient evaluations per draw.
SHORT_MATRIX = replace(QUICK, target_accept=0.8)
SHORT_CROSSOVER = replace(QUICK, target_accept=0.9)
#: A language named like an HTML script tag: the report must show it, never run it.
EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def renamed(study: Study, old: str, new: str) -> Study:
    """``study`` with language ``old`` called ``new`` everywhere (validated again)."""

    def rename(frame):
        if frame is None:
            return None
        frame = frame.copy()
        frame["language"] = frame["language"].replace({old: new})
        return frame

    return Study.from_frames(
        study.runs, rename(study.mixture), rename(study.evals), rename(study.languages)
    )


@pytest.fixture(scope="session")
def evil_study(small_study) -> Study:
    """en, fr and sw monolingual runs, with sw renamed to an HTML script tag."""
    return renamed(small_study, "sw", EVIL)


@pytest.fixture(scope="session")
def pair_fits(evil_study) -> list[Fit]:
    """chinchilla and data_constrained on the same observations: a LOO comparison."""
    return [
        fit_variant(evil_study, load_variant("chinchilla"), QUICK),
        fit_variant(evil_study, load_variant("data_constrained"), QUICK),
    ]


@pytest.fixture(scope="session")
def matrix_fit(small_multilingual_study) -> Fit:
    return fit_variant(small_multilingual_study, load_variant("atlas_matrix"), SHORT_MATRIX)


@pytest.fixture(scope="session")
def crossover_fit(bundled_study) -> Fit:
    """Scratch and finetune runs of en and fr with their checkpoints (the study of
    tests/test_new_variant_fits.py's ``small_crossover_study``, which uses this fit)."""
    runs = bundled_study.runs
    own = runs["run_id"].str.split("-").str[1].isin(("en", "fr"))
    chosen = runs[runs["kind"].isin(("monolingual", "finetune")) & own]
    chosen = chosen[
        ~chosen["run_id"].str.startswith("mono-") | chosen["run_id"].str.contains("-curve")
    ]
    keep = set(chosen["run_id"]) | set(chosen["base_run_id"].dropna())
    evals = bundled_study.evals
    evals = evals[
        evals["run_id"].isin(set(chosen["run_id"])) & evals["language"].isin(("en", "fr"))
    ]
    study = Study.from_frames(
        runs[runs["run_id"].isin(keep)],
        bundled_study.mixture[bundled_study.mixture["run_id"].isin(keep)],
        evals,
        bundled_study.languages,
    )
    return fit_variant(study, load_variant("crossover"), SHORT_CROSSOVER)


@pytest.fixture(scope="session")
def curse_fit(bundled_study) -> Fit:
    """A curse posterior: the truth's laws times exp(0.02 z), on the bundled capacity runs."""
    spec = load_variant("curse")
    data = build_model_data(bundled_study, spec)
    truth = json.loads((bundled_study_path() / "truth.json").read_text(encoding="utf-8"))
    by_language, population = truth["curse"]["by_language"], truth["curse"]["population"]
    languages = [str(x) for x in data["language"].values]
    chains, draws = 4, 150
    rng = np.random.default_rng(0)

    def spread(values, shape):
        return np.asarray(values) * np.exp(0.02 * rng.standard_normal(shape))

    shape = (chains, draws, len(languages))
    law = {
        name: spread([by_language[c][name] for c in languages], shape)
        for name in ("E", "A", "B", "alpha", "beta", "phi", "psi")
    }
    # The posterior stores the law at reference scales (see decisions.parameters).
    values = {
        "log_E": np.log(law["E"]),
        "log_a": np.log(law["A"])
        - law["alpha"] * np.log(spec.params_ref)
        + law["phi"] * np.log(spec.languages_ref),
        "log_b": np.log(law["B"])
        - law["beta"] * np.log(spec.tokens_ref)
        + law["psi"] * np.log(spec.languages_ref),
        **{name: law[name] for name in ("alpha", "beta", "phi", "psi")},
    }
    sample = ("chain", "draw")
    posterior = xr.Dataset(
        {name: (("chain", "draw", "language"), v) for name, v in values.items()}
        | {
            f"{name}_mu": (sample, spread(population[name], shape[:2]))
            for name in ("phi", "psi", "alpha", "beta")
        }
        | {"sigma": (sample, spread(0.01, shape[:2])), "nu": (sample, spread(10.0, shape[:2]))},
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "language": languages},
    )
    stats = xr.Dataset({"diverging": (sample, np.zeros((chains, draws), bool))})
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats, "fit_data": data})
    diagnostics = compute_diagnostics(tree, list(values))
    meta = {"seed": 0, "sampler": "constructed", "study_hash": bundled_study.content_hash()}
    return Fit(tree=tree, spec=spec, diagnostics=diagnostics, meta=meta)


@pytest.fixture(scope="session")
def report(pair_fits, matrix_fit, crossover_fit, curse_fit, tmp_path_factory):
    """One report of every kind of fit, as HTML and Markdown."""
    folder = tmp_path_factory.mktemp("report")
    fits = [*pair_fits, matrix_fit, crossover_fit, curse_fit]
    paths = build_report(fits, folder / "report.html", folder / "report.md", ci_prob=0.9)
    return {
        "paths": paths,
        "html": paths.html.read_text(encoding="utf-8"),
        "md": paths.markdown.read_text(encoding="utf-8"),
    }
