"""A language's loss law as posterior draws, the data it was fitted on, and request checks.

Decisions work on the law in the absolute Chinchilla form ``L = E + A / N**alpha + B / D**beta``
so that the closed forms of :mod:`atlas_bayes.laws` apply draw by draw. The posterior stores
the law at reference scales instead: ``L = E + a (N / N_ref)**-alpha + b (D / D_ref)**-beta``
with ``log_E``, ``log_a`` and ``log_b`` (see :mod:`atlas_bayes.modeling.mean`), hence
``A = a N_ref**alpha`` and ``B = b D_ref**beta``. For the ``curse`` law the two terms also carry
``(K / K_ref)**phi`` and ``(K / K_ref)**psi`` for a model trained on ``K`` languages.

The fitted data range (model sizes, tokens, compute and numbers of languages of the fitted
runs) tells a decision when it extrapolates far beyond the data, which it then says in a note.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from atlas_bayes.decisions.result import DecisionError
from atlas_bayes.findings._fits import WrongVariant, require_law
from atlas_bayes.laws import FLOPS_PER_PARAM_TOKEN, UNCONSTRAINED_UNIQUE_TOKENS
from atlas_bayes.summaries import SAMPLE_DIMS

#: Laws whose posterior holds ``log_E``, ``log_a``, ``log_b``, ``alpha`` and ``beta``.
CHINCHILLA_FORM_LAWS = (
    "chinchilla", "data_constrained", "atlas", "atlas_matrix", "curse", "crossover",
    "crossover_exponent",
)  # fmt: skip
#: A request more than this factor beyond the fitted range (either side) is flagged.
EXTRAPOLATION_FACTOR = 10.0
#: The absolute parameters of the law, in the order of ``laws.compute_optimal_allocation``.
ABSOLUTE_PARAMETERS = ("E", "A", "B", "alpha", "beta")


def require_variant(fit: Any, laws: tuple[str, ...], question: str) -> None:
    """Raise :class:`DecisionError` unless ``fit``'s law is one of ``laws``.

    The message names the question, the laws that can answer it, the fit's variant and its law.
    """
    try:
        require_law(fit, laws, question)
    except WrongVariant as err:
        raise DecisionError(str(err)) from None


def fit_languages(fit: Any) -> list[str]:
    """Languages with law parameters in ``fit`` (its data's ``language`` axis)."""
    return [str(code) for code in fit.data["language"].values]


def require_language(fit: Any, language: str) -> None:
    """Raise :class:`DecisionError` unless ``fit`` has parameters for ``language``."""
    languages = fit_languages(fit)
    if language not in languages:
        raise DecisionError(
            f"unknown language {language!r}: the fit of variant {fit.spec.name!r} has "
            f"parameters for {', '.join(languages)}"
        )


def require_positive(name: str, value: float) -> float:
    """``value`` as a float, or :class:`DecisionError` unless it is finite and > 0."""
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise DecisionError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _language_draws(posterior: xr.Dataset, name: str, language: str) -> xr.DataArray:
    """Draws ``(chain, draw)`` of one parameter for ``language`` (shared ones as they are)."""
    values = posterior[name]
    if "language" in values.dims:
        values = values.sel(language=language, drop=True)
    return values.transpose(*SAMPLE_DIMS)


def law_parameters(fit: Any, language: str, n_languages: float | None = None) -> xr.Dataset:
    """Draws of a language's law in the absolute Chinchilla form.

    Parameters
    ----------
    fit
        A fit of any law in :data:`CHINCHILLA_FORM_LAWS`. For the ATLAS laws the data term is
        on effective tokens, which for a monolingual run are the language's own tokens; for the
        crossover laws these are the from-scratch curve.
    language
        A language of the fit.
    n_languages
        ``K``, the number of languages trained on uniformly; required for a ``curse`` fit (its
        ``A`` and ``B`` are those at ``K`` languages) and refused for the other laws.

    Returns
    -------
    xarray.Dataset
        ``E``, ``A``, ``B``, ``alpha``, ``beta``, each ``(chain, draw)``, so that the loss of
        draw ``i`` is ``E + A / N**alpha + B / D**beta`` (``D``: tokens of the language).

    Raises
    ------
    DecisionError
        Another law, an unknown language, or ``n_languages`` missing, given where it does not
        apply, or below 1.
    """
    require_variant(fit, CHINCHILLA_FORM_LAWS, "the loss law of a language")
    require_language(fit, language)
    spec, posterior = fit.spec, fit.posterior
    p = {
        name: _language_draws(posterior, name, language)
        for name in ("log_E", "log_a", "log_b", "alpha", "beta")
    }
    log_a, log_b = p["log_a"], p["log_b"]
    if spec.law == "curse":
        if n_languages is None:
            raise DecisionError(
                f"a {spec.law} fit describes models trained on K languages: pass n_languages"
            )
        count = require_positive("n_languages", n_languages)
        if count < 1:
            raise DecisionError(f"n_languages must be >= 1, got {n_languages!r}")
        # The curse law centres log K at K_ref, as it does log N and log D.
        log_ratio = math.log(count / spec.languages_ref)
        log_a = log_a + _language_draws(posterior, "phi", language) * log_ratio
        log_b = log_b + _language_draws(posterior, "psi", language) * log_ratio
    elif n_languages is not None:
        raise DecisionError(
            f"n_languages applies to curse fits only; {spec.name!r} uses the {spec.law} law"
        )
    return xr.Dataset(
        {
            "E": np.exp(p["log_E"]),
            "A": np.exp(log_a) * spec.params_ref ** p["alpha"],
            "B": np.exp(log_b) * spec.tokens_ref ** p["beta"],
            "alpha": p["alpha"],
            "beta": p["beta"],
        }
    )


def flat_parameters(parameters: xr.Dataset) -> dict[str, np.ndarray]:
    """The draws of :func:`law_parameters` as 1-D arrays, chains one after the other."""
    return {
        name: parameters[name].transpose(*SAMPLE_DIMS).values.reshape(-1)
        for name in parameters.data_vars
    }


def as_draws(
    values: Mapping[str, np.ndarray],
    posterior: xr.Dataset,
    extra: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Arrays ``(chain, draw, *extra)`` as a Dataset on the posterior's chain and draw.

    Parameters
    ----------
    values
        Name to array of shape ``(chain, draw)`` followed by the lengths of ``extra``'s
        dimensions (or flat ``(chain * draw, ...)``, reshaped here).
    posterior
        The fit's posterior, for the chain and draw coordinates.
    extra
        Further dimensions in order, each name mapped to its coordinate values.

    Returns
    -------
    xarray.Dataset
    """
    extra = dict(extra or {})
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], *(len(v) for v in extra.values()))
    coords = {dim: posterior[dim].values for dim in SAMPLE_DIMS} | extra
    dims = (*SAMPLE_DIMS, *extra)
    variables = {
        name: (dims, np.asarray(array, dtype=float).reshape(shape))
        for name, array in values.items()
    }
    return xr.Dataset(variables, coords=coords)


@dataclass(frozen=True)
class FittedRange:
    """Extent of the fitted runs that evaluated a language (or of all fitted runs).

    Each attribute is ``(smallest, largest)`` over those runs.

    Attributes
    ----------
    params : tuple of float
        Model sizes N.
    own_tokens : tuple of float
        Tokens of the evaluated language seen in training (for a finetune run, those of the
        continued training only).
    total_tokens : tuple of float
        Tokens of all languages seen in training.
    compute : tuple of float
        Training FLOPs, ``flops_per_param_token * N * total tokens``.
    n_languages : tuple of float
        Numbers of languages trained on (with tokens > 0).
    unique_tokens : float or None
        Unique tokens of the language, where the fit knows a finite number (None otherwise,
        or when ranging over all languages).
    """

    params: tuple[float, float]
    own_tokens: tuple[float, float]
    total_tokens: tuple[float, float]
    compute: tuple[float, float]
    n_languages: tuple[float, float]
    unique_tokens: float | None = None


def _extent(values: np.ndarray) -> tuple[float, float]:
    return float(np.min(values)), float(np.max(values))


def fitted_range(
    fit: Any,
    language: str | None = None,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
) -> FittedRange:
    """The range of the runs the fit saw evaluated on ``language`` (default: all runs).

    Parameters
    ----------
    fit
        Any fit (uses ``fit.data``: ``log_params``, ``tokens``, ``target_source``,
        ``unique_tokens``, ``eval_language``).
    language
        A language of the fit, or None for every observation.
    flops_per_param_token
        k in ``C = k N D``.

    Returns
    -------
    FittedRange
    """
    data = fit.data
    if language is None:
        rows = np.arange(data.sizes["obs"])
    else:
        require_language(fit, language)
        rows = np.flatnonzero(data["eval_language"].values.astype(str) == language)
        if rows.size == 0:
            raise DecisionError(f"the fit has no observations of language {language!r}")
    tokens = data["tokens"].values[rows]
    own_column = data["target_source"].values[rows]
    own = tokens[np.arange(rows.size), own_column]
    total = tokens.sum(axis=1)
    params = np.exp(data["log_params"].values[rows])
    unique = None
    if language is not None and "unique_tokens" in data:
        values = data["unique_tokens"].values[rows, own_column]
        finite = values[values < UNCONSTRAINED_UNIQUE_TOKENS]
        unique = float(finite.min()) if finite.size else None
    return FittedRange(
        params=_extent(params),
        own_tokens=_extent(own),
        total_tokens=_extent(total),
        compute=_extent(flops_per_param_token * params * total),
        n_languages=_extent((tokens > 0).sum(axis=1).astype(float)),
        unique_tokens=unique,
    )


def far_outside(value: float, extent: tuple[float, float]) -> bool:
    """True when ``value`` lies more than :data:`EXTRAPOLATION_FACTOR` beyond ``extent``."""
    low, high = extent
    return value > EXTRAPOLATION_FACTOR * high or value < low / EXTRAPOLATION_FACTOR


def extrapolation_note(
    what: str, values: Iterable[float], extent: tuple[float, float], unit: str
) -> str | None:
    """A note starting with ``"extrapolation"`` if any value is far outside ``extent``.

    Parameters
    ----------
    what
        The request in words (``"compute budget"``).
    values
        The requested values.
    extent
        The fitted ``(smallest, largest)``.
    unit
        Unit of the values.

    Returns
    -------
    str or None
        None when every value is within :data:`EXTRAPOLATION_FACTOR` of the fitted range.
    """
    values = [float(v) for v in values]
    outside = [v for v in values if far_outside(v, extent)]
    if not outside:
        return None
    shown = ", ".join(f"{v:.3g}" for v in outside[:5]) + (", ..." if len(outside) > 5 else "")
    count = "" if len(values) == 1 else f"{len(outside)} of {len(values)} values: "
    return (
        f"extrapolation: {what} ({count}{shown} {unit}) lies more than "
        f"{EXTRAPOLATION_FACTOR:g}x outside the fitted {extent[0]:.3g}-{extent[1]:.3g} {unit}; "
        "the law is assumed to hold there"
    )


__all__ = [
    "ABSOLUTE_PARAMETERS",
    "CHINCHILLA_FORM_LAWS",
    "EXTRAPOLATION_FACTOR",
    "FittedRange",
    "as_draws",
    "extrapolation_note",
    "far_outside",
    "fit_languages",
    "fitted_range",
    "flat_parameters",
    "law_parameters",
    "require_language",
    "require_positive",
    "require_variant",
]
