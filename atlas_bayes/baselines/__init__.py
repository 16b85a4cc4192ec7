"""Frequentist baselines: the grid-Huber point fit of the published laws, run bootstrap.

The cross-validation fit method (:mod:`atlas_bayes.baselines.method`: ``HuberBootstrap``,
``baseline_entries``) is imported on first use: it needs the prediction code, and so PyMC.
"""

import importlib
from typing import Any

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

#: Names of :mod:`atlas_bayes.baselines.method`, loaded on first use.
_LAZY = ("HUBER_BOOTSTRAP", "HuberBootstrap", "baseline_entries")


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.method"), name)


__all__ = [
    "BASELINE_LAWS",
    "DEFAULT_GRID",
    "HUBER_BOOTSTRAP",
    "HUBER_DELTA",
    "BaselineError",
    "BaselineFit",
    "BaselineSettings",
    "HuberBootstrap",
    "baseline_entries",
    "bootstrap_weights",
    "fit_baseline",
    "fit_baseline_to_data",
]
