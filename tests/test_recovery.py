"""Recovery of the simulated truth by real fits on the bundled study (slow, run by make test).

Tolerance: the issue asks that 90 % intervals contain the truth for 80-98 % of the parameters
the design identifies. With ~190 parameters, a calibrated posterior covers 90 % +- 2 % (one
binomial sd), so 80-98 % fails only for real miscalibration, not chance.
"""

import numpy as np
import pytest

from atlas_bayes.inference import SamplerSettings, fit_variant
from atlas_bayes.inference.recovery import recovery_table
from atlas_bayes.modeling.mean import model_inputs
from atlas_bayes.resources import bundled_study_path
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


def test_chinchilla_recovers_languages_it_can_describe(bundled_study):
    """Chinchilla has no repetition term: languages whose runs repeat data are misdescribed.

    Those are excluded (the design does not let this law identify them: their data term is
    saturation, not a power law); the rest must be recovered.
    """
    fit = fit_variant(bundled_study, load_variant("chinchilla"), SETTINGS)
    assert fit.diagnostics.passed, fit.diagnostics.problems
    inputs = model_inputs(fit.data)
    repeating = set(fit.data["eval_language"].values[inputs["own_rep_obs"]])
    table = recovery_table(fit, TRUTH)
    clean = table[~table["language"].isin(repeating)]
    assert len(clean) >= 5 * 20
    assert 0.80 <= clean["covered"].mean() <= 0.98, clean[~clean["covered"]]
    # The excluded languages are the data-constrained ones, and the law is biased there.
    assert {"sw", "ps"} <= repeating
    biased = table[table["language"].isin(repeating)]
    assert biased["covered"].mean() < clean["covered"].mean()
    assert np.isfinite(table["mean"]).all()
