"""Inference: NUTS fits of variants, diagnostics and the convergence gate, saved fits."""

from atlas_bayes.inference.diagnostics import Diagnostics
from atlas_bayes.inference.fit import Fit, fit_variant
from atlas_bayes.inference.fitfile import FitFileError, load_fit, save_fit
from atlas_bayes.inference.sampling import SamplerSettings

__all__ = [
    "Diagnostics",
    "Fit",
    "FitFileError",
    "SamplerSettings",
    "fit_variant",
    "load_fit",
    "save_fit",
]
