"""How a cross-validation fold is fitted: the Bayesian refit, or any point-fit method.

The default method (``nuts``) refits the variant's posterior with NUTS on the training
observations, reusing one compiled model per variant and process
(:class:`~atlas_bayes.inference.refit.CompiledVariant`): the model is compiled on the
variant's full fit data and each fold swaps in its training subset. This works because every
observation-indexed input is a ``pm.Data`` container whose length may change (checked: nutpie's
``with_data`` accepts a shorter ``obs`` axis), while the language, source and top-source axes
stay those of the full data. Masking held-out points out of the likelihood instead would need
a weight input the models do not have. Two consequences, both documented for users:

- a language with no training observation (leave-one-language-out) keeps its parameters,
  which are then drawn from the population (the hierarchical prior given the other
  languages): the prediction for an unseen language;
- the top co-sampled sources (ATLAS's K_t) and the pivots that centre log N and log D come
  from the full fit data. K_t is a property of the mixture design (which languages are
  trained together), not of held-out losses; the pivots only reparameterise the posterior.

Another method plugs in through :class:`FitMethod`: a callable
``fit_method(study, spec, seed) -> xarray.Dataset`` given the training part of the study (the
held-out evaluations removed) and returning draws of the variant's parameters, for example a
Huber point fit with bootstrap draws (``chain`` of size 1, ``draw`` of size B). See
:class:`FitMethod` for the layout.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.inference import SamplerSettings
from atlas_bayes.inference.fit import Fit
from atlas_bayes.inference.predict import mean_log_loss
from atlas_bayes.inference.refit import CompiledVariant
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec

#: Name of the default method in result tables.
NUTS = "nuts"
#: Compiled variants kept per process (each holds a compiled Numba model).
MAX_COMPILED = 8


class FitMethodError(ValueError):
    """A fit method returned draws the cross-validation cannot use."""


@runtime_checkable
class FitMethod(Protocol):
    """A way to fit a variant to the training part of a fold.

    ``fit_method(study, spec, seed)`` gets the study without the fold's held-out evaluations
    (runs left with none are dropped), the variant (whose ``[data]`` selection it should
    apply, e.g. with :func:`atlas_bayes.modeling.data.build_model_data`) and a seed, and
    returns an ``xarray.Dataset`` of parameter draws:

    - one variable per law parameter of ``spec.parameters`` with the same name, dimensions
      ``(chain, draw)`` for shared parameters, ``(chain, draw, language)`` for per-language
      ones and ``(chain, draw, language, slot)`` for ``tau_top``; ``language`` labelled with
      language codes. A bootstrap gives ``chain`` of size 1 and ``draw`` of size B;
    - ``sigma`` ``(chain, draw)``: the noise scale on log-loss (e.g. a robust residual scale);
    - optionally ``nu`` ``(chain, draw)``: Student-t degrees of freedom; without it the
      predictive noise is normal.

    Languages missing from the draws cannot be predicted; their held-out evaluations are
    left out of the scores and the row's note says how many.
    """

    def __call__(self, study: Study, spec: VariantSpec, seed: int) -> xr.Dataset:  # noqa: D102
        ...


@dataclass(frozen=True)
class CVEntry:
    """One row group of a cross-validation: a variant and the method that fits it.

    Attributes
    ----------
    spec : VariantSpec
        The variant.
    method : str
        Label in the result tables (``"nuts"`` for the default Bayesian fit).
    fit_method : FitMethod or None
        None: the Bayesian NUTS refit of the compiled variant; else see :class:`FitMethod`.
    """

    spec: VariantSpec
    method: str = NUTS
    fit_method: FitMethod | None = None

    def __post_init__(self) -> None:
        if self.fit_method is None and self.method != NUTS:
            raise ValueError(f"method {self.method!r} needs a fit_method (None is {NUTS!r})")
        if self.fit_method is not None and self.method == NUTS:
            raise ValueError(f"give a fit_method its own method label, not {NUTS!r}")


@dataclass(frozen=True)
class Predictive:
    """Draws that define the posterior predictive of held-out log-losses.

    Attributes
    ----------
    mu : numpy.ndarray
        The law's mean log-loss, ``(sample, obs)``.
    sigma, nu : numpy.ndarray
        Noise scale and Student-t degrees of freedom per sample; ``nu`` None: normal noise.
    """

    mu: np.ndarray
    sigma: np.ndarray
    nu: np.ndarray | None


@dataclass
class DrawsFit:
    """Parameter draws of a point-fit method, shaped like a fit for the prediction code."""

    posterior: xr.Dataset
    spec: VariantSpec
    data: xr.Dataset


# One compiled model per (variant, study) and process: compile once, refit every fold. Dask
# runs each task in a worker process, so each worker compiles a variant at most once.
_COMPILED: OrderedDict[str, CompiledVariant] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_FIT_LOCKS: dict[str, threading.Lock] = {}


def compiled_variant(key: str, template: xr.Dataset, spec: VariantSpec) -> CompiledVariant:
    """The variant compiled on ``template`` in this process (cached under ``key``).

    Parameters
    ----------
    key
        Identifies (variant, study); equal keys must mean equal templates.
    template
        The variant's full fit data.
    spec
        The variant.

    Returns
    -------
    CompiledVariant
    """
    with _COMPILED_LOCK:
        if key in _COMPILED:
            _COMPILED.move_to_end(key)
            return _COMPILED[key]
        _FIT_LOCKS.setdefault(key, threading.Lock())
    compiled = CompiledVariant(template, spec)  # outside the lock: compiling takes seconds
    with _COMPILED_LOCK:
        compiled = _COMPILED.setdefault(key, compiled)
        while len(_COMPILED) > MAX_COMPILED:
            _COMPILED.popitem(last=False)
        return compiled


def clear_compiled() -> None:
    """Forget the compiled variants of this process."""
    with _COMPILED_LOCK:
        _COMPILED.clear()


def nuts_fit(
    key: str,
    template: xr.Dataset,
    spec: VariantSpec,
    train: np.ndarray,
    settings: SamplerSettings,
) -> Fit:
    """Posterior of ``spec`` given the training observations ``train`` of ``template``.

    Parameters
    ----------
    key, template, spec
        See :func:`compiled_variant`.
    train
        Indices of the training observations in ``template``.
    settings
        Sampler settings (nutpie; the seed is the fold's).

    Returns
    -------
    Fit
    """
    variant = compiled_variant(key, template, spec)
    # A compiled variant swaps its model's data while fitting: one fit at a time per model.
    with _FIT_LOCKS[key]:
        return variant.fit(template.isel(obs=train), settings)


def training_study(study: Study, heldout: pd.DataFrame) -> Study:
    """``study`` without the held-out evaluations, for a point-fit method.

    Parameters
    ----------
    study
        The full study.
    heldout
        ``run_id`` and ``language`` of the held-out evaluations.

    Returns
    -------
    Study
        Runs left without evaluations are dropped (unless a kept finetune run starts from
        them).
    """
    pairs = pd.MultiIndex.from_frame(heldout[["run_id", "language"]].astype(str))
    evals = study.evals
    keep = ~pd.MultiIndex.from_frame(evals[["run_id", "language"]].astype(str)).isin(pairs)
    kept = study.select_runs(evals.loc[keep, "run_id"].unique())
    kept_evals = kept.evals[
        ~pd.MultiIndex.from_frame(kept.evals[["run_id", "language"]].astype(str)).isin(pairs)
    ]
    missing = "loss" not in kept_evals or kept_evals["loss"].isna().any()
    return Study.from_frames(
        kept.runs, kept.mixture, kept_evals, kept.languages, allow_missing_loss=missing
    )


def _aligned_draws(draws: xr.Dataset, spec: VariantSpec, template: xr.Dataset) -> xr.Dataset:
    """Draws on the template's language axis, dimensions ``chain, draw`` first."""
    needed = [*spec.parameters, "sigma"]
    missing = [name for name in needed if name not in draws]
    if missing:
        raise FitMethodError(
            f"fit method for {spec.name!r} returned no draws of {', '.join(missing)}; it must "
            "return every law parameter and sigma (see FitMethod)"
        )
    for name in ("chain", "draw"):
        if name not in draws.dims:
            raise FitMethodError(f"fit method draws need a {name!r} dimension")
    names = needed + (["nu"] if "nu" in draws else [])
    draws = draws[names]
    if "language" in draws.dims:
        draws = draws.reindex(language=template["language"].values)
    return draws.transpose("chain", "draw", ...)


def point_fit(
    entry: CVEntry, study: Study, heldout: pd.DataFrame, template: xr.Dataset, seed: int
) -> DrawsFit:
    """Run ``entry.fit_method`` on the training study; draws aligned to ``template``.

    Parameters
    ----------
    entry
        A variant with its fit method.
    study
        The full study.
    heldout
        ``run_id`` and ``language`` of the held-out evaluations.
    template
        The variant's full fit data.
    seed
        The fold's seed.

    Returns
    -------
    DrawsFit
    """
    draws = entry.fit_method(training_study(study, heldout), entry.spec, seed)
    if not isinstance(draws, xr.Dataset):
        raise FitMethodError(
            f"fit method {entry.method!r} returned {type(draws).__name__}, not an xarray.Dataset"
        )
    return DrawsFit(_aligned_draws(draws, entry.spec, template), entry.spec, template)


def predictive(fit: Fit | DrawsFit, data: xr.Dataset) -> Predictive:
    """Predictive draws of ``data``'s observations from a fit (or a method's draws).

    Parameters
    ----------
    fit
        A :class:`~atlas_bayes.inference.Fit` or :class:`DrawsFit`.
    data
        Observations in the fit-data layout.

    Returns
    -------
    Predictive
    """
    mu = mean_log_loss(fit, data).values
    posterior = fit.posterior
    n_samples = mu.shape[0] * mu.shape[1]
    mu = mu.reshape(n_samples, -1)
    sigma = posterior["sigma"].values.reshape(n_samples)
    # The Bayesian fit has ``nu`` exactly when its likelihood is Student-t; a point-fit
    # method's draws say so by including it (see FitMethod).
    nu = posterior["nu"].values.reshape(n_samples) if "nu" in posterior else None
    return Predictive(mu, sigma, nu)


__all__ = [
    "NUTS",
    "CVEntry",
    "DrawsFit",
    "FitMethod",
    "FitMethodError",
    "Predictive",
    "clear_compiled",
    "compiled_variant",
    "nuts_fit",
    "point_fit",
    "predictive",
    "training_study",
]
