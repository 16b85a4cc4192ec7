"""The transfer matrix as a posterior: tau, P(tau > 0), BTS, and the ranking of sources."""

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.findings._fits import require_law
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.modeling.transfer import transfer_matrix
from atlas_bayes.summaries import probability, summarise_draws
from atlas_bayes.variants.transfer import OTHER_SOURCE


def _off_diagonal(tau: xr.DataArray) -> xr.DataArray:
    """``tau`` stacked over (target, source) pairs with target != source."""
    stacked = tau.stack(pair=("target", "source"))
    keep = stacked["target"].values != stacked["source"].values
    return stacked.isel(pair=np.flatnonzero(keep))


def transfer_summary(
    fit: Any,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    tau: xr.DataArray | None = None,
) -> pd.DataFrame:
    """One row per (target, source) pair: tau, P(tau > 0) and the equivalent BTS.

    Parameters
    ----------
    fit
        A fit of an ``atlas_matrix`` variant.
    ci_prob, ci_kind
        The credible interval of tau and BTS.
    tau
        Precomputed :func:`~atlas_bayes.modeling.transfer.transfer_matrix` (else computed).

    Returns
    -------
    pandas.DataFrame
        ``target``, ``source``, ``measured`` (some fitted run trained the target with the
        source; otherwise the posterior comes from the feature model), the tau summary
        (``mean``, ``median``, ``ci_low``, ``ci_high``, ``ci_prob``, ``ci_kind``),
        ``p_positive`` and the BTS summary (``bts_mean``, ``bts_ci_low``, ``bts_ci_high``;
        BTS = 2 tau / (1 + tau), the paper's bilingual transfer score).
    """
    require_law(fit, ("atlas_matrix",), "the transfer matrix")
    tau = transfer_matrix(fit) if tau is None else tau
    pairs = _off_diagonal(tau)
    table = summarise_draws(pairs, "tau", "share of own tokens", ci_prob, ci_kind)
    bts = summarise_draws(laws.transfer_to_bts(pairs), "BTS", "score", ci_prob, ci_kind)
    # The ``measured`` coordinate of the matrix is already a column.
    table = table.drop(columns=["pair"], errors="ignore")
    table["measured"] = table["measured"].astype(bool)
    table["p_positive"] = probability(pairs > 0).values
    table["bts_mean"] = bts["mean"].to_numpy()
    table["bts_ci_low"] = bts["ci_low"].to_numpy()
    table["bts_ci_high"] = bts["ci_high"].to_numpy()
    return table


def source_row(tau: xr.DataArray, target: str, include_pooled: bool = False) -> xr.DataArray:
    """The transfer to ``target`` from every other source.

    Parameters
    ----------
    tau
        The transfer matrix, ``(chain, draw, target, source)``.
    target
        A target of ``tau``.
    include_pooled
        Keep the pooled ``"other"`` source. It is a mixture's remainder, many languages at
        once, so it is not something a planner can pick, and when it transfers well it takes
        a place in every draw's top sources that no language can fill: left out by default,
        so the ranking and P(in the top) are among languages only.

    Returns
    -------
    xarray.DataArray
        ``(chain, draw, source)`` without the target itself (and without "other" unless
        ``include_pooled``).
    """
    row = tau.sel(target=target, drop=True)
    sources = row["source"].values.astype(str)
    keep = (sources != target) & (include_pooled | (sources != OTHER_SOURCE))
    return row.isel(source=np.flatnonzero(keep))


def in_top(row: xr.DataArray, top: int) -> xr.DataArray:
    """1 in the draws where a source is among the ``top`` best of that draw, else 0.

    Parameters
    ----------
    row
        Transfer to one target, ``(chain, draw, source)`` (the source axis last).
    top
        How many best sources count.

    Returns
    -------
    xarray.DataArray
        Like ``row``; its mean over draws is P(in the top ``top``).
    """
    values = row.values
    # Rank within each draw: a source is in the top k when fewer than k sources beat it.
    order = np.argsort(-values, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(values.shape[-1]), axis=-1)
    return row.copy(data=(ranks < top).astype(float))


def source_ranking(
    fit: Any,
    target: str,
    top: int = 5,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    tau: xr.DataArray | None = None,
    include_pooled: bool = False,
) -> pd.DataFrame:
    """Sources of ``target`` ranked by posterior mean tau, with P(in the top ``top``).

    Parameters
    ----------
    fit
        A fit of an ``atlas_matrix`` variant.
    target
        The target language.
    top
        How many best sources count as "the top".
    ci_prob, ci_kind
        The credible interval of tau.
    tau
        Precomputed :func:`~atlas_bayes.modeling.transfer.transfer_matrix` (else computed).
    include_pooled
        Rank the pooled "other" source too (see :func:`source_row`; default: languages only).

    Returns
    -------
    pandas.DataFrame
        One row per source (best first): ``rank``, ``source``, the tau summary,
        ``p_positive``, ``p_top{top}`` (e.g. ``p_top5``: share of draws in which the source
        is among the ``top`` best for the target) and ``measured``.
    """
    require_law(fit, ("atlas_matrix",), "the ranking of sources")
    tau = transfer_matrix(fit) if tau is None else tau
    if target not in tau["target"].values:
        raise ValueError(
            f"no transfer row for target {target!r}; the fit has "
            f"{', '.join(map(str, tau['target'].values))}"
        )
    row = source_row(tau, target, include_pooled)
    p_top = in_top(row, top).mean(("chain", "draw")).values
    table = summarise_draws(row, "tau", "share of own tokens", ci_prob, ci_kind)
    table["measured"] = table["measured"].astype(bool)
    table["p_positive"] = probability(row > 0).values
    table[f"p_top{top}"] = p_top
    table = table.sort_values("mean", ascending=False, ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table
