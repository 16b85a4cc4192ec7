"""Shared fixtures: small studies cut from the bundled simulated study, and small fits."""

import numpy as np
import pandas as pd
import pytensor
import pytest
import xarray as xr

# The report's fits and the rendered report, shared by every test module of the session.
from report_fits import (  # noqa: F401
    crossover_fit,
    curse_fit,
    evil_study,
    matrix_fit,
    pair_fits,
    report,
)

from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import Study, load_study

SMALL_LANGUAGES = ("en", "fr", "sw")

#: Session fixtures that sample real fits (tens of seconds each). `make test` spreads the tests
#: over two pytest-xdist workers, whose session fixtures are their own: every test that uses
#: one of these runs on the same worker, so each fit is made once.
SHARED_FITS = frozenset({"pair_fits", "matrix_fit", "crossover_fit", "report"})


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Put the tests that share the sampled session fits in one xdist group (--dist loadgroup)."""
    for item in items:
        if SHARED_FITS.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("shared_fits"))


def pytest_configure(config):
    """Refuse ``--dist loadgroup`` when pytest-xdist cannot put groups into the node ids.

    pytest-xdist 3.8 marks a group by assigning ``@group`` to ``item._nodeid``; pytest 9.2
    keeps node ids elsewhere, so the suffix silently vanished and both workers sampled every
    shared fit (the report's fits twice: about 130 s of the suite). pyproject.toml pins pytest
    below 9.2 for that reason; this check tells whoever lifts the pin.
    """
    if getattr(config.option, "dist", "no") == "loadgroup" and not hasattr(pytest.Item, "_nodeid"):
        raise pytest.UsageError(
            f"--dist loadgroup does not group tests with pytest {pytest.__version__}: node ids "
            "no longer come from item._nodeid, which pytest-xdist sets (tests/conftest.py)"
        )


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


def jittered_posterior(model, seed):
    """A one-draw 'posterior' from a jittered initial point: free RVs and Deterministics.

    Returns the posterior Dataset and the model's mean log-loss at that point, so a test can
    check that the numpy prediction path computes the same law as the PyMC model.
    """
    rng = np.random.default_rng(seed)
    point = model.initial_point()
    point = {k: v + rng.normal(0, 0.05, np.shape(v)) for k, v in point.items()}
    mean_var = model["log_loss"].owner.inputs[3]  # StudentT(rng, size, nu, mu, sigma): mu
    outputs = model.replace_rvs_by_values([mean_var, *model.deterministics])
    compute = pytensor.function(model.value_vars, outputs, on_unused_input="ignore")
    values = compute(*[point[v.name] for v in model.value_vars])
    posterior = {}
    for rv in model.free_RVs:
        value = point[model.rvs_to_values[rv].name]
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:
            value = transform.backward(value).eval()
        posterior[rv.name] = value
    for det, value in zip(model.deterministics, values[1:], strict=True):
        posterior[det.name] = value
    dims = {name: ("chain", "draw", *model.named_vars_to_dims.get(name, ())) for name in posterior}
    dataset = xr.Dataset({k: (dims[k], np.asarray(v)[None, None]) for k, v in posterior.items()})
    return dataset, values[0]
