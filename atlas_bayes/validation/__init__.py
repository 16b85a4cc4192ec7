"""Validation of variants on held-out data: grouped splits and cross-validation (issue 7).

Names are imported on first use, so that ``atlas_bayes.validation.cli`` (loaded by every
``atlas-bayes`` command) does not import PyMC and Dask until a cross-validation runs.
"""

import importlib
from typing import Any

_EXPORTS = {
    "DEFAULT_SETTINGS": "crossval",
    "cross_validate": "crossval",
    "NUTS": "methods",
    "CVEntry": "methods",
    "FitMethod": "methods",
    "FitMethodError": "methods",
    "CVResult": "result",
    "SPLITS": "splits",
    "Fold": "splits",
    "SplitError": "splits",
    "SplitNotApplicable": "splits",
    "get_split": "splits",
    "make_folds": "splits",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
    return getattr(module, name)


__all__ = sorted(_EXPORTS)
