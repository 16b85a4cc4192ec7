"""atlas_bayes: Bayesian multilingual scaling laws (ATLAS, Longpre et al. 2025) with PyMC."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("atlas-bayes")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
