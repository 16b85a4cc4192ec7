"""Recovery of the simulated truth by real fits on the bundled study (slow, run by make test).

Tolerance: the issue asks that 90 % intervals contain the truth for 80-98 % of the parameters
the design identifies. With ~190 parameters, a calibrated posterior covers 90 % +- 2 % (one
binomial sd), so 80-98 % fails only for real miscalibration, not chance.
"""

import numpy as np
import pytest

from atlas_bayes.findings.recovery import curse_recovery
from atlas_bayes.inference import SamplerSettings, fit_variant
from atlas_bayes.inference.recovery import recovery_table
from atlas_bayes.modeling.mean import model_inputs
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import Study
from atlas_bayes.variants import load_variant

pytestmark = pytest.mark.slow
# 1000 draws: at 500 the split R-hat of one of ~200 parameters lands at 1.011-1.013.
SETTINGS = SamplerSettings(chains=4, draws=1000, tune=500, seed=5)
TRUTH = bundled_study_path() / "truth.json"


def test_data_constrained_recovers_the_truth(bundled_study):
    fit = fit_variant(bundled_study, load_variant("data_constrained"), SETTINGS)
    assert fit.diagnostics.passed, fit.diagnostics.problems
    table = recovery_table(fit, TRUTH)
    coverage = table["covered"].mean()
    assert 0.80 <= coverage <= 0.98, table[~table["covered"]]
    # lambda, shared by all languages, is covered and close to the truth.
    decay = table[table["parameter"] == "log_decay"].iloc[0]
    assert decay["covered"]


def without_repeated_data(study: Study) -> Study:
    """The study's evaluations taken before the evaluated language's data start to repeat."""
    obs = study.observations()
    own = np.array(
        [
            obs["tokens"].sel(language=lang).values[i]
            for i, lang in enumerate(obs["eval_language"].values)
        ]
    )
    unique = np.array(
        [
            obs["unique_tokens"].sel(language=lang).values[i]
            for i, lang in enumerate(obs["eval_language"].values)
        ]
    )
    fresh = ~(own > unique)  # NaN unique: not data-constrained
    return Study.from_frames(study.runs, study.mixture, study.evals[fresh], study.languages)


def test_chinchilla_recovers_the_truth_where_data_do_not_repeat(bundled_study):
    """Chinchilla has no repetition term, so the design identifies its parameters only from
    evaluations taken before a language's data repeat; on those it must recover the truth.
    On all evaluations it cannot, and its coverage drops (measured: 72 %)."""
    study = without_repeated_data(bundled_study)
    fit = fit_variant(study, load_variant("chinchilla"), SETTINGS)
    assert fit.diagnostics.passed, fit.diagnostics.problems
    assert len(model_inputs(fit.data)["own_rep_obs"]) == 0
    table = recovery_table(fit, TRUTH)
    assert len(table) == 5 * len(fit.languages) >= 5 * 30
    assert 0.80 <= table["covered"].mean() <= 0.98, table[~table["covered"]]


def test_curse_recovers_the_exponents_and_the_published_multipliers(bundled_study):
    """The curse variant on the capacity runs: converged, its 90 % intervals contain the true
    phi and psi of the 8 targets and the law parameters, and the population multipliers for
    2K-16K contain the truth's and the paper's.

    Tolerances: 16 exponents at 90 % nominal cover 12 or more with probability 0.98 (binomial);
    56 law parameters at least 80 % (an upper bound of 98 % would fail a calibrated posterior
    8 % of the time at this count); the 16 multipliers are four functions of the same few
    population parameters, so they are all covered or off together: all are required.
    """
    fit = fit_variant(bundled_study, load_variant("curse"), SETTINGS)
    assert fit.diagnostics.passed, fit.diagnostics.problems
    table = recovery_table(fit, TRUTH)
    exponents = table[table["parameter"].isin(["phi", "psi"])]
    assert len(exponents) == 16 and exponents["covered"].sum() >= 12, exponents
    # 56 parameters: a calibrated posterior covers 90 % +- 4 % (one binomial sd).
    assert table["covered"].mean() >= 0.80, table[~table["covered"]]
    recovery = curse_recovery(fit, TRUTH)
    assert recovery["doubling_contains_published"], recovery["table"]
    assert recovery["covered_truth"] == 1.0, recovery["table"]
    assert recovery["covered_published"] == 1.0, recovery["table"]
