"""The curse of multilinguality as a posterior: phi, psi and the iso-loss multipliers."""

from collections.abc import Sequence
from typing import Any

import pandas as pd
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.findings._fits import require_law
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.published import published_value
from atlas_bayes.summaries import summarise_draws

#: The multipliers, their units, and the paper's name for each.
MULTIPLIERS = ("params", "tokens_per_language", "total_tokens", "compute")


def _population(fit: Any, name: str) -> xr.DataArray:
    """The population value of a law parameter: its hierarchical mean, or the shared value."""
    posterior = fit.posterior
    if f"{name}_mu" in posterior:
        return posterior[f"{name}_mu"]
    if "language" not in posterior[name].dims:
        return posterior[name]
    # Independent per-language values: the population is their average.
    return posterior[name].mean("language")


def curse_exponents(fit: Any) -> xr.Dataset:
    """Draws of ``phi`` and ``psi`` per language and for the population.

    Returns
    -------
    xarray.Dataset
        ``phi``, ``psi`` (chain, draw, language) and ``phi_population``, ``psi_population``
        (chain, draw).
    """
    require_law(fit, ("curse",), "the curse exponents")
    posterior = fit.posterior
    return xr.Dataset(
        {
            "phi": posterior["phi"],
            "psi": posterior["psi"],
            "phi_population": _population(fit, "phi"),
            "psi_population": _population(fit, "psi"),
        }
    )


def curse_multipliers(fit: Any, ratio: float, by_language: bool = False) -> xr.Dataset:
    """Draws of the factors that keep loss unchanged when K becomes ``ratio * K``.

    Parameters
    ----------
    fit
        A fit of the ``curse`` law.
    ratio
        ``K' / K`` (2 for doubling the languages).
    by_language
        Per evaluation language (its own phi, psi, alpha, beta) instead of the population
        (the hierarchical means), which is what the paper's single fit reports.

    Returns
    -------
    xarray.Dataset
        ``params``, ``tokens_per_language``, ``total_tokens``, ``compute`` with dimensions
        (chain, draw[, language]).
    """
    require_law(fit, ("curse",), "the iso-loss multipliers")
    if not ratio > 0:
        raise ValueError(f"ratio must be > 0, got {ratio}")
    if by_language:
        values = {n: fit.posterior[n] for n in ("phi", "psi", "alpha", "beta")}
    else:
        values = {n: _population(fit, n) for n in ("phi", "psi", "alpha", "beta")}
    result = laws.iso_loss_multipliers(
        ratio, values["phi"], values["psi"], values["alpha"], values["beta"]
    )
    return xr.Dataset({name: getattr(result, name) for name in MULTIPLIERS})


def _published_multiplier(ratio: float, name: str) -> float:
    """ATLAS's printed multiplier for ``ratio`` (2, 4, 8, 16; params and total tokens only)."""
    if float(ratio) != int(ratio):
        return float("nan")
    try:
        return float(published_value(f"curse.multipliers.{int(ratio)}")[name])
    except KeyError:
        return float("nan")


def multiplier_table(
    fit: Any,
    ratios: Sequence[float] = (2, 4, 8, 16),
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
) -> pd.DataFrame:
    """Population multipliers for going from K to r K languages, beside the paper's.

    Returns
    -------
    pandas.DataFrame
        One row per (ratio, multiplier): the summary fields of
        :func:`~atlas_bayes.summaries.summarise_draws` plus ``published`` (the table in ATLAS
        Sec. 4, where it prints one) and ``published_in_interval``.
    """
    rows = []
    for ratio in ratios:
        draws = curse_multipliers(fit, ratio)
        for name in MULTIPLIERS:
            row = summarise_draws(draws[name], f"{name} multiplier", "x", ci_prob, ci_kind)
            row.insert(0, "ratio", ratio)
            published = _published_multiplier(ratio, name)
            row["published"] = published
            row["published_in_interval"] = (row["ci_low"] <= published) & (
                published <= row["ci_high"]
            )
            rows.append(row)
    return pd.concat(rows, ignore_index=True)
