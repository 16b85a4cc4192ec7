"""Tidy summaries of posterior draws: every number with its interval, probability and kind.

A quantity computed draw by draw (an xarray DataArray with ``chain`` and ``draw``
dimensions, plus any others) becomes one row per combination of its other dimensions, with
the fields every output of the package uses: ``quantity``, ``unit``, ``mean``, ``median``,
``ci_prob``, ``ci_kind``, ``ci_low``, ``ci_high``, ``draws``.
"""

import warnings

import arviz as az
import pandas as pd
import xarray as xr

from atlas_bayes.intervals import CI_KIND, CI_PROB

SAMPLE_DIMS = ("chain", "draw")


def credible_interval(
    draws: xr.DataArray, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND
) -> xr.DataArray:
    """The ``ci_prob`` credible interval of ``draws`` of kind ``eti`` or ``hdi`` (ArviZ).

    Returns
    -------
    xarray.DataArray
        The other dimensions of ``draws`` plus ``ci_bound`` (``lower``, ``upper``). Draws that
        are NaN (a quantity undefined in some draws, such as a crossover that never happens)
        are left out.
    """
    if ci_kind == "eti":
        return az.eti(draws, prob=ci_prob, skipna=True)
    if ci_kind == "hdi":
        return az.hdi(draws, prob=ci_prob, skipna=True)
    raise ValueError(f"ci_kind must be 'eti' or 'hdi', got {ci_kind!r}")


def summarise_draws(
    draws: xr.DataArray,
    quantity: str,
    unit: str,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
) -> pd.DataFrame:
    """One row per combination of the non-sample dimensions of ``draws``.

    Parameters
    ----------
    draws
        Posterior draws with ``chain`` and ``draw`` dimensions.
    quantity, unit
        What the numbers are (``"crossover tokens"``, ``"tokens"``).
    ci_prob, ci_kind
        The credible interval (passed to ArviZ explicitly).

    Returns
    -------
    pandas.DataFrame
        The other dimensions (and coordinates along them) as columns, then ``quantity``,
        ``unit``, ``mean``, ``median``, ``ci_prob``, ``ci_kind``, ``ci_low``, ``ci_high``,
        ``draws`` (draws that are defined: a quantity can be NaN in some draws, and the
        statistics use the others).
    """
    defined = draws.notnull().sum(SAMPLE_DIMS)
    with warnings.catch_warnings():
        # A quantity undefined in every draw (no crossover) is NaN, and reported as such.
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        interval = credible_interval(draws, ci_prob, ci_kind)
        table = xr.Dataset(
            {
                "mean": draws.mean(SAMPLE_DIMS, skipna=True),
                "median": draws.median(SAMPLE_DIMS, skipna=True),
                "ci_low": interval.sel(ci_bound="lower", drop=True),
                "ci_high": interval.sel(ci_bound="upper", drop=True),
                "draws": defined,
            }
        )
    other = [d for d in draws.dims if d not in SAMPLE_DIMS]
    if other:
        frame = table.to_dataframe().reset_index()
        # Coordinates along the other dimensions (a cell's language and size) become columns.
        labels = [c for c in frame.columns if c not in table.data_vars]
    else:
        frame = pd.DataFrame({k: [table[k].item()] for k in table.data_vars})
        labels = []
    frame = frame[[*labels, "mean", "median", "ci_low", "ci_high", "draws"]]
    other = labels
    frame.insert(len(other), "quantity", quantity)
    frame.insert(len(other) + 1, "unit", unit)
    frame.insert(frame.columns.get_loc("ci_low"), "ci_prob", ci_prob)
    frame.insert(frame.columns.get_loc("ci_low"), "ci_kind", ci_kind)
    frame["draws"] = frame["draws"].astype(int)
    return frame


def probability(condition: xr.DataArray) -> xr.DataArray:
    """Posterior probability of a boolean condition over draws (NaN-safe: False counts)."""
    return condition.astype(float).mean(SAMPLE_DIMS)


__all__ = ["SAMPLE_DIMS", "credible_interval", "probability", "summarise_draws"]
