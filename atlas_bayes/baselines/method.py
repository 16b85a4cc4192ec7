"""The grid-Huber baseline as a cross-validation fit method, beside the Bayesian fits.

:class:`HuberBootstrap` fits the baseline (:func:`~atlas_bayes.baselines.fit.fit_baseline`)
to a fold's training runs and returns its run-bootstrap replicates in the layout of
:class:`~atlas_bayes.validation.methods.FitMethod`, so that
:func:`~atlas_bayes.validation.crossval.cross_validate` scores it exactly as it scores NUTS:
same folds, same held-out evaluations, same metrics, one more ``method`` in the tables.
:func:`baseline_entries` gives one such entry per variant.

The bootstrap replicates only describe the uncertainty of the law's mean; a predictive of
held-out log-losses also needs noise. Each replicate gets its own ``sigma``: the robust scale
of its residuals on the training evaluations, ``1.4826 x MAD`` (the consistency factor of the
median absolute deviation for a normal scale), and the predictive noise is normal (no
``nu``). Replicates whose fit failed (every L-BFGS-B start gave a non-finite objective: NaN
parameters) are left out, so that one failure does not leave a fold unscored.

This module imports the prediction code (and so PyMC); ``atlas_bayes.baselines`` loads it on
first use of its names.
"""

import dataclasses
import time
from collections.abc import Iterable

import numpy as np
import xarray as xr

from atlas_bayes.baselines.fit import (
    BASELINE_LAWS,
    BaselineError,
    BaselineFit,
    BaselineSettings,
    fit_baseline,
)
from atlas_bayes.inference.predict import mean_log_loss
from atlas_bayes.study import Study
from atlas_bayes.validation.methods import CVEntry, DrawsFit
from atlas_bayes.variants import VariantSpec

#: Label of the baseline in cross-validation tables.
HUBER_BOOTSTRAP = "huber_bootstrap"
#: Consistency factor of the MAD for a normal scale.
MAD_TO_SIGMA = 1.4826


class HuberBootstrap:
    """Grid-Huber fit with run bootstrap as a validation ``FitMethod``.

    Called as ``method(study, spec, seed)``: fits the baseline with ``n_bootstrap`` run
    resamples (seeded by the fold's seed) and returns the replicates as draws
    ``(chain=1, draw=B, ...)`` of the variant's parameters plus ``sigma``, each replicate's
    robust residual scale (``1.4826 x MAD`` of its log-loss residuals over the training
    evaluations). Replicates with non-finite parameters (failed fits) are dropped.

    Parameters
    ----------
    n_bootstrap : int
        Bootstrap replicates per fit (at least 1).
    settings : BaselineSettings, optional
        Other baseline settings (Huber threshold, grid, starts); their ``n_bootstrap`` and
        ``seed`` are replaced by ``n_bootstrap`` and the fold's seed.

    Attributes
    ----------
    last : BaselineFit or None
        The latest fit (its point estimate, timings and counts of unconverged replicates).
    seconds : float
        Wall time of the latest fit (objective compile, grid and every L-BFGS-B run); NaN
        before the first.

    Raises
    ------
    BaselineError
        If ``n_bootstrap`` < 1.
    """

    def __init__(self, n_bootstrap: int, settings: BaselineSettings | None = None) -> None:
        if n_bootstrap < 1:
            raise BaselineError(
                f"the baseline's predictive needs bootstrap replicates: n_bootstrap must be "
                f">= 1, got {n_bootstrap}"
            )
        self.n_bootstrap = n_bootstrap
        self.settings = settings or BaselineSettings()
        self.last: BaselineFit | None = None
        self.seconds = float("nan")

    def __repr__(self) -> str:
        return f"HuberBootstrap(n_bootstrap={self.n_bootstrap})"

    def __call__(self, study: Study, spec: VariantSpec, seed: int) -> xr.Dataset:
        """Replicate draws of ``spec``'s parameters and ``sigma`` fitted to ``study``.

        Parameters
        ----------
        study
            The fold's training study.
        spec
            The variant (law in :data:`~atlas_bayes.baselines.fit.BASELINE_LAWS`).
        seed
            Seed of the bootstrap resampling.

        Returns
        -------
        xarray.Dataset
            See :class:`~atlas_bayes.validation.methods.FitMethod`.

        Raises
        ------
        BaselineError
            For a law without a baseline, or when every replicate's fit failed.
        """
        started = time.perf_counter()
        settings = dataclasses.replace(self.settings, n_bootstrap=self.n_bootstrap, seed=seed)
        fit = fit_baseline(study, spec, settings)
        self.seconds = time.perf_counter() - started
        self.last = fit
        draws = fit.posterior.copy()
        finite = np.ones(draws.sizes["draw"], dtype=bool)
        for name in spec.parameters:
            values = draws[name].values.reshape(draws.sizes["draw"], -1)
            finite &= np.isfinite(values).all(axis=1)
        if not finite.any():
            raise BaselineError(
                f"every one of the {self.n_bootstrap} bootstrap fits of {spec.name!r} failed "
                "(no finite objective from any start)"
            )
        draws = draws.isel(draw=np.flatnonzero(finite))
        mu = mean_log_loss(DrawsFit(draws, spec, fit.data), fit.data).values[0]  # (B, obs)
        residual = fit.data["log_loss"].values[None, :] - mu
        center = np.median(residual, axis=1, keepdims=True)
        sigma = MAD_TO_SIGMA * np.median(np.abs(residual - center), axis=1)
        draws["sigma"] = (("chain", "draw"), sigma[None, :])
        return draws


def baseline_entries(
    specs: Iterable[VariantSpec],
    n_bootstrap: int,
    settings: BaselineSettings | None = None,
) -> list[CVEntry]:
    """One cross-validation entry per variant: the grid-Huber baseline with run bootstrap.

    Parameters
    ----------
    specs
        Variants whose law has a baseline (:data:`~atlas_bayes.baselines.fit.BASELINE_LAWS`).
    n_bootstrap
        Bootstrap replicates per fold's fit.
    settings
        Other baseline settings (see :class:`HuberBootstrap`).

    Returns
    -------
    list of CVEntry
        ``CVEntry(spec, method="huber_bootstrap", fit_method=HuberBootstrap(n_bootstrap))``,
        in the order of ``specs``; pass them to
        :func:`~atlas_bayes.validation.crossval.cross_validate` beside the NUTS entries.

    Raises
    ------
    BaselineError
        If a variant's law has no baseline (checked before anything is fitted) or
        ``n_bootstrap`` < 1.
    """
    specs = list(specs)
    unsupported = [f"{s.name} ({s.law})" for s in specs if s.law not in BASELINE_LAWS]
    if unsupported:
        raise BaselineError(
            f"no grid-Huber baseline for {', '.join(unsupported)}: it fits variants of the "
            f"laws {', '.join(BASELINE_LAWS)}"
        )
    return [
        CVEntry(spec, method=HUBER_BOOTSTRAP, fit_method=HuberBootstrap(n_bootstrap, settings))
        for spec in specs
    ]


__all__ = ["HUBER_BOOTSTRAP", "MAD_TO_SIGMA", "HuberBootstrap", "baseline_entries"]
