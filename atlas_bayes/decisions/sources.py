"""Which languages to train with: a target's sources ranked by their transfer.

The expected benefit of a source ``s`` for a target ``t`` is the posterior mean of its
transfer ``tau[t, s]``: how many tokens of the target's own language one token of ``s`` is
worth in the target's effective data (``D_eff = D_t + tau D_s``, no repetition, little
interference). ``tau = 0.2`` means five source tokens do the work of one own token; ``tau < 0``
means the source interferes. The bilingual transfer score ``BTS = 2 tau / (1 + tau)`` is the
paper's scale for the same number (:func:`atlas_bayes.laws.transfer_to_bts`).
"""

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.decisions.parameters import require_variant
from atlas_bayes.decisions.result import Decision, DecisionError
from atlas_bayes.findings.transfer import in_top, source_ranking, source_row
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.modeling.transfer import transfer_matrix
from atlas_bayes.summaries import SAMPLE_DIMS, summarise_draws

UNITS = {
    "tau": "share of own tokens",
    "bts": "score",
    "positive": "indicator (mean = P(tau > 0))",
    "in_top": "indicator (mean = P(in the top sources))",
}


def _target_row(
    fit: Any, target: str, top: int, tau: xr.DataArray | None, include_pooled: bool
) -> tuple[xr.DataArray, xr.DataArray]:
    """The full matrix and the target's row without the target itself (checked request)."""
    require_variant(fit, ("atlas_matrix",), "the ranking of sources")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise DecisionError(f"top must be a whole number >= 1, got {top!r}")
    # The whole matrix, even for one row: its unmeasured pairs draw fresh residuals from one
    # seeded stream, and the row must be the one every other view of the fit shows.
    tau = transfer_matrix(fit) if tau is None else tau
    targets = [str(code) for code in tau["target"].values]
    if target not in targets:
        raise DecisionError(
            f"unknown target language {target!r}: the fit has transfer rows for "
            f"{', '.join(targets)}"
        )
    return tau, source_row(tau, target, include_pooled)


def rank_sources(
    fit: Any,
    target: str,
    top: int = 5,
    tau: xr.DataArray | None = None,
    include_pooled: bool = False,
) -> Decision:
    """Draws of the transfer from every source to ``target``, best source first.

    Parameters
    ----------
    fit
        A fit of an ``atlas_matrix`` variant.
    target
        The language to train a model for.
    top
        How many best sources count as "the top" (``in_top``).
    tau
        Precomputed :func:`~atlas_bayes.modeling.transfer.transfer_matrix` of ``fit`` (it
        dominates the time; pass it when ranking the sources of several targets).
    include_pooled
        Rank the pooled "other" source (a mixture's remainder, many languages at once) beside
        the languages. Off by default: a planner picks languages, and "other" would take a
        place in the top that no language can fill.

    Returns
    -------
    Decision
        Over ``(chain, draw, source)``, sources sorted by expected benefit (posterior mean
        ``tau``) with a ``rank`` coordinate (1 = best) and ``measured`` (some fitted run
        trained the target with that source; otherwise the feature model predicts it):
        ``tau``; ``bts`` (``2 tau / (1 + tau)``); ``positive``, 1 where ``tau > 0`` (its mean
        is P(tau > 0)); and ``in_top``, 1 in the draws where the source is among the ``top``
        best of that draw (its mean is P(in the top ``top``)). :func:`source_table` gives the
        ranking table.

    Raises
    ------
    DecisionError
        Another law, an unknown target or a ``top`` below 1.
    """
    _, row = _target_row(fit, target, top, tau, include_pooled)
    row = row.transpose(*SAMPLE_DIMS, "source")
    draws = xr.Dataset(
        {
            "tau": row,
            "bts": laws.transfer_to_bts(row),
            "positive": (row > 0).astype(float),
            "in_top": in_top(row, top),
        }
    )
    best_first = np.argsort(-row.mean(SAMPLE_DIMS).values, kind="stable")
    draws = draws.isel(source=best_first)
    draws = draws.assign_coords(rank=("source", np.arange(1, draws.sizes["source"] + 1)))
    return Decision(
        question=f"sources for {target}, ranked by expected transfer (posterior mean tau)",
        draws=draws,
        units=dict(UNITS),
        inputs={
            "variant": fit.spec.name,
            "target": target,
            "top": top,
            "include_pooled": include_pooled,
        },
    )


def source_table(
    fit: Any,
    target: str,
    top: int = 5,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    tau: xr.DataArray | None = None,
    include_pooled: bool = False,
) -> pd.DataFrame:
    """The ranking of ``target``'s sources as a table, best first.

    Parameters
    ----------
    fit, target, top, tau, include_pooled
        As for :func:`rank_sources`.
    ci_prob, ci_kind
        The credible interval of tau and BTS.

    Returns
    -------
    pandas.DataFrame
        :func:`atlas_bayes.findings.transfer.source_ranking`'s table (``rank``, ``source``,
        the tau summary with ``ci_prob`` and ``ci_kind``, ``measured``, ``p_positive``,
        ``p_top{top}``) plus ``bts_mean``, ``bts_ci_low`` and ``bts_ci_high``.
    """
    tau, row = _target_row(fit, target, top, tau, include_pooled)
    table = source_ranking(fit, target, top, ci_prob, ci_kind, tau, include_pooled)
    bts = summarise_draws(laws.transfer_to_bts(row), "BTS", "score", ci_prob, ci_kind)
    bts = bts.set_index("source")
    for column in ("mean", "ci_low", "ci_high"):
        table[f"bts_{column}"] = bts.loc[table["source"], column].to_numpy()
    return table


__all__ = ["rank_sources", "source_table"]
