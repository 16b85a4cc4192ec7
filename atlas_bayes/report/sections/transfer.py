"""Section 4, transfer: the matrix, the best sources of a few targets, the paper's BTS."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.decisions import source_table
from atlas_bayes.findings import transfer_summary
from atlas_bayes.inference import Fit
from atlas_bayes.modeling.transfer import transfer_matrix
from atlas_bayes.published import load_published, published, published_value
from atlas_bayes.report.sections.common import (
    draws_used,
)
from atlas_bayes.summaries import SAMPLE_DIMS, summarise_draws
from atlas_bayes.variants.transfer import OTHER_SOURCE

#: Targets in the transfer rankings.
RANKED_TARGETS = 6
#: Sources listed per target.
TOP_SOURCES = 3
#: ``top`` of the paper's "top-5 source" counts.
PAPER_TOP = 5


def _off_diagonal_named(tau: xr.DataArray) -> np.ndarray:
    """Boolean (target, source): named source, not the target itself."""
    targets = tau["target"].values.astype(str)
    sources = tau["source"].values.astype(str)
    return (targets[:, None] != sources[None, :]) & (sources[None, :] != OTHER_SOURCE)


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the last two axes where ``mask`` (same shape) holds; NaN where none."""
    count = mask.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mask, values, 0.0).sum(axis=(-2, -1)) / count


def script_bts(fit: Fit, tau: xr.DataArray) -> xr.DataArray | None:
    """Draws of the mean BTS over same-script and over different-script pairs.

    Uses the ``same_script`` pair feature of the fit data (named sources only). A draw's
    pair with ``tau <= -1`` has no BTS and is left out of that draw's mean.

    Returns
    -------
    xarray.DataArray or None
        ``(chain, draw, group)``; None if the fit data carry no script feature.
    """
    data = fit.data
    if "pair_features" not in data or "same_script" not in data["feature"].values:
        return None
    same = data["pair_features"].sel(feature="same_script").values > 0.5
    if same.shape != (tau.sizes["target"], tau.sizes["source"]):
        return None
    named = _off_diagonal_named(tau)
    values = tau.transpose(*SAMPLE_DIMS, "target", "source").values
    defined = values > -1
    with np.errstate(invalid="ignore", divide="ignore"):
        bts = np.where(defined, laws.transfer_to_bts(np.where(defined, values, 0.0)), np.nan)
    groups = {"same script": named & same, "different script": named & ~same}
    means = [
        _masked_mean(np.nan_to_num(bts), (mask[None, None] & defined)) for mask in groups.values()
    ]
    return xr.DataArray(
        np.stack(means, axis=-1),
        dims=(*SAMPLE_DIMS, "group"),
        coords={
            "chain": tau["chain"].values,
            "draw": tau["draw"].values,
            "group": list(groups),
        },
    )


def top_source_counts(tau: xr.DataArray, sources: Sequence[str], top: int) -> xr.DataArray:
    """Draws of the share of targets for which each source is among the ``top`` best.

    Ranks among the named sources other than the target itself, within each draw.
    """
    named = _off_diagonal_named(tau)
    values = tau.transpose(*SAMPLE_DIMS, "target", "source").values
    ranked = np.where(named[None, None], values, -np.inf)
    order = np.argsort(-ranked, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(values.shape[-1]), axis=-1)
    codes = list(tau["source"].values.astype(str))
    targets = tau["target"].values.astype(str)
    shares = []
    for code in sources:
        s = codes.index(code)
        eligible = targets != code
        in_top = (ranks[..., eligible, s] < top).mean(axis=-1)
        shares.append(in_top)
    return xr.DataArray(
        np.stack(shares, axis=-1),
        dims=(*SAMPLE_DIMS, "source"),
        coords={"chain": tau["chain"].values, "draw": tau["draw"].values, "source": list(sources)},
    )


def asymmetry_correlation(tau: xr.DataArray) -> xr.DataArray:
    """Draws of corr(BTS(a to b), BTS(b to a)) over pairs of named languages (both ways)."""
    targets = list(tau["target"].values.astype(str))
    sources = list(tau["source"].values.astype(str))
    common = [c for c in targets if c in sources and c != OTHER_SOURCE]
    t_index = [targets.index(c) for c in common]
    s_index = [sources.index(c) for c in common]
    values = tau.transpose(*SAMPLE_DIMS, "target", "source").values[..., t_index, :][..., s_index]
    upper = np.triu_indices(len(common), k=1)
    forward = values[..., upper[0], upper[1]]
    backward = values[..., upper[1], upper[0]]
    defined = (forward > -1) & (backward > -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(defined, laws.transfer_to_bts(np.where(defined, forward, 0.0)), 0.0)
        b = np.where(defined, laws.transfer_to_bts(np.where(defined, backward, 0.0)), 0.0)
        n = defined.sum(axis=-1)
        a_mean = a.sum(axis=-1) / n
        b_mean = b.sum(axis=-1) / n
        da = np.where(defined, a - a_mean[..., None], 0.0)
        db = np.where(defined, b - b_mean[..., None], 0.0)
        corr = (da * db).sum(-1) / np.sqrt((da**2).sum(-1) * (db**2).sum(-1))
    return xr.DataArray(
        corr, dims=SAMPLE_DIMS, coords={"chain": tau["chain"].values, "draw": tau["draw"].values}
    )


def bilingual_pairs(fit: Fit, targets: pd.Index, sources: pd.Index) -> pd.DataFrame:
    """Target x source booleans: True where the target has a bilingual run with the source.

    A bilingual run trains the target with a large share of the source (the fit data's
    ``pair_direct``), so the data pin that pair down.
    """
    flags = np.zeros((len(targets), len(sources)), dtype=bool)
    data = fit.data
    if "pair_direct" in data:
        direct = data["pair_direct"].values.astype(bool) & ~data["pair_pooled"].values.astype(bool)
        flags[data["pair_target"].values[direct], data["pair_source"].values[direct]] = True
    return pd.DataFrame(flags, index=targets, columns=sources)


def _ranked_targets(tau: xr.DataArray, bilingual: pd.DataFrame, count: int) -> list[str]:
    """Targets with the most bilingual-run sources (ties in the fit's order)."""
    counts = bilingual.to_numpy().sum(axis=1)
    order = np.argsort(-counts, kind="stable")
    targets = tau["target"].values.astype(str)
    return [str(targets[i]) for i in order[:count]]


def transfer_data(
    fit: Fit,
    ci_prob: float,
    ci_kind: str,
    targets: int = RANKED_TARGETS,
    top: int = TOP_SOURCES,
) -> dict[str, Any]:
    """Section 4 for one ``atlas_matrix`` fit: the matrix, rankings, and the paper's BTS.

    Returns
    -------
    dict
        ``mean``, ``p_positive``, ``width`` (target x source DataFrames: posterior mean tau,
        P(tau > 0), interval width; NaN on the diagonal), ``measured`` (target x source
        booleans: some fitted run trained both), ``bilingual`` (:func:`bilingual_pairs`),
        ``summary`` (:func:`~atlas_bayes.findings.transfer_summary`),
        ``rankings`` (target to its ``top`` named sources: tau, BTS, P(tau > 0), P(top 5)),
        ``paper`` (rows: quantity, posterior summary, the paper's value and where it is
        printed), ``tau_below_minus_one`` (share of named off-diagonal draws with no BTS).
    """
    tau = transfer_matrix(fit)
    summary = transfer_summary(fit, ci_prob, ci_kind, tau=tau)
    shape = (tau.sizes["target"], tau.sizes["source"])
    index = pd.Index(tau["target"].values.astype(str), name="target")
    columns = pd.Index(tau["source"].values.astype(str), name="source")

    def matrix(column: str) -> pd.DataFrame:
        frame = summary.pivot(index="target", columns="source", values=column)
        return frame.reindex(index=index, columns=columns)

    width = matrix("ci_high") - matrix("ci_low")
    bilingual = bilingual_pairs(fit, index, columns)
    rankings = {}
    for target in _ranked_targets(tau, bilingual, targets):
        # Among languages only (source_table's default): "other" is many languages at once.
        table = source_table(fit, target, PAPER_TOP, ci_prob, ci_kind, tau=tau)
        table = table.head(top).reset_index(drop=True)
        table["bilingual"] = [bool(bilingual.at[target, s]) for s in table["source"]]
        rankings[target] = table
    paper = []
    groups = script_bts(fit, tau)
    if groups is not None:
        rows = summarise_draws(groups, "mean BTS", "score", ci_prob, ci_kind)
        for _, row in rows.iterrows():
            key = "same_script" if row["group"] == "same script" else "different_script"
            item = published(f"transfer.mean_bts_{key}")
            paper.append(
                {
                    "quantity": f"mean BTS over {row['group']} pairs",
                    "unit": "score",
                    "mean": row["mean"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "paper": item.value,
                    "where": item.where,
                }
            )
    named_sources = int(np.sum(tau["source"].values.astype(str) != OTHER_SOURCE))
    # With few sources each is in every target's top 5: the comparison says nothing.
    few_sources = named_sources - 1 <= PAPER_TOP
    counted = load_published()["transfer"]["top5_source_counts"]
    sources = [c for c in counted if c in tau["source"].values.astype(str)]
    if sources and not few_sources:
        shares = summarise_draws(
            top_source_counts(tau, sources, PAPER_TOP), "share", "share", ci_prob, ci_kind
        )
        n_targets = published_value("transfer.top5_n_targets")
        for _, row in shares.iterrows():
            item = published(f"transfer.top5_source_counts.{row['source']}")
            paper.append(
                {
                    "quantity": f"share of targets with {row['source']} among their top "
                    f"{PAPER_TOP} sources",
                    "unit": "share",
                    "mean": row["mean"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "paper": item.value / n_targets,
                    "where": f"{item.where} ({item.value} of {n_targets} targets)",
                }
            )
    asym = summarise_draws(asymmetry_correlation(tau), "corr", "", ci_prob, ci_kind).iloc[0]
    item = published("transfer.bts_asymmetry_corr")
    paper.append(
        {
            "quantity": "correlation of BTS(a to b) with BTS(b to a)",
            "unit": "",
            "mean": asym["mean"],
            "ci_low": asym["ci_low"],
            "ci_high": asym["ci_high"],
            "paper": item.value,
            "where": item.where,
        }
    )
    named = _off_diagonal_named(tau)
    values = tau.transpose(*SAMPLE_DIMS, "target", "source").values
    return {
        "mean": matrix("mean"),
        "p_positive": matrix("p_positive"),
        "width": width,
        "measured": pd.DataFrame(
            tau["measured"].values.reshape(shape), index=index, columns=columns
        ),
        "bilingual": bilingual,
        "summary": summary,
        "rankings": rankings,
        "paper": pd.DataFrame(paper),
        "tau_below_minus_one": float((values[..., named] <= -1).mean()),
        "named_sources": named_sources,
        "few_sources": few_sources,
        "draws": draws_used(fit),
    }


__all__ = [
    "PAPER_TOP",
    "RANKED_TARGETS",
    "TOP_SOURCES",
    "asymmetry_correlation",
    "bilingual_pairs",
    "script_bts",
    "top_source_counts",
    "transfer_data",
]
