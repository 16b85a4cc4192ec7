"""Frequentist baselines: the grid-Huber point fit of the published laws, run bootstrap."""

from atlas_bayes.baselines.fit import (
    BASELINE_LAWS,
    BaselineError,
    BaselineFit,
    BaselineSettings,
    fit_baseline,
    fit_baseline_to_data,
)
from atlas_bayes.baselines.grid import DEFAULT_GRID
from atlas_bayes.baselines.objective import HUBER_DELTA
from atlas_bayes.baselines.resample import bootstrap_weights

__all__ = [
    "BASELINE_LAWS",
    "DEFAULT_GRID",
    "HUBER_DELTA",
    "BaselineError",
    "BaselineFit",
    "BaselineSettings",
    "bootstrap_weights",
    "fit_baseline",
    "fit_baseline_to_data",
]
