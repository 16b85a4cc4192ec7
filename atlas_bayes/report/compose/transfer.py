"""Section 4 in words, tables and figures: the transfer matrix and the paper's BTS."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from atlas_bayes.report import figures
from atlas_bayes.report.compose.common import (
    gate_note,
    interval_header,
    make_table,
    yes_no,
)
from atlas_bayes.report.document import (
    Block,
    Figure,
    Heading,
    Note,
    Paragraph,
    Section,
)
from atlas_bayes.report.formatting import interval, number, share
from atlas_bayes.report.sections.transfer import PAPER_TOP


def transfer_section(
    transfers: Mapping[str, dict[str, Any]], failed: set[str], ci_prob: float, ci_kind: str
) -> Section | None:
    """Section 4: the transfer matrix, the best sources of a few targets, the paper's BTS."""
    if not transfers:
        return None
    header = interval_header(ci_prob, ci_kind)
    blocks: list[Block] = [
        Paragraph(
            "tau[target, source] is how many tokens of the target's own language one token of "
            "the source is worth in the target's effective data: 0 is no effect, 0.2 means five "
            "source tokens do the work of one own token, and a negative value is interference. "
            "BTS = 2 tau / (1 + tau) is the paper's bilingual transfer score for the same number."
        )
    ]
    for label, t in transfers.items():
        blocks.append(Heading(label))
        if label in failed:
            blocks.append(gate_note(label))
        direct = int(t["bilingual"].to_numpy().sum())
        blocks.append(
            Figure(
                figures.transfer_figure(t, label, "mean"),
                alt=f"Heatmap of the posterior mean transfer of {label}.",
                caption=(
                    f"{label}: posterior mean tau[target, source] from {t['draws']} draws (colour "
                    f"scale centred at 0). Dots mark the {direct} pairs with a bilingual run, "
                    "which the data pin down; pairs seen only inside multilingual mixtures, or "
                    "never, lean on the feature model (script, family, data size) and are wider."
                ),
            )
        )
        blocks.append(
            Figure(
                figures.transfer_figure(t, label, "p_positive"),
                alt=f"Heatmap of the probability of positive transfer of {label}.",
                caption=(
                    f"{label}: P(tau > 0), the share of posterior draws in which the source helps "
                    "the target (0.5: the posterior cannot tell)."
                ),
            )
        )
        rows = []
        for target, table in t["rankings"].items():
            for _, row in table.iterrows():
                rows.append(
                    (
                        target,
                        int(row["rank"]),
                        row["source"],
                        interval(row["mean"], row["ci_low"], row["ci_high"]),
                        interval(row["bts_mean"], row["bts_ci_low"], row["bts_ci_high"]),
                        share(row["p_positive"]),
                        share(row[f"p_top{PAPER_TOP}"]),
                        yes_no(row["bilingual"]),
                    )
                )
        blocks.append(Heading("Best sources of a few targets"))
        blocks.append(
            make_table(
                rows,
                (
                    "target",
                    "rank",
                    "source",
                    f"tau, {header}",
                    f"BTS, {header}",
                    "P(tau > 0)",
                    f"P(in the top {PAPER_TOP})",
                    "bilingual run",
                ),
                "Targets with the most bilingual runs; their language sources ranked by "
                "posterior mean tau (the pooled 'other' source left out of the ranking).",
            )
        )
        blocks.append(
            Paragraph(
                f"Meaning: to train a model for a target, the first sources listed help it most "
                f"in expectation; P(in the top {PAPER_TOP}) is the share of posterior draws in "
                f"which the source is among the target's {PAPER_TOP} best, so a low value means "
                "the ranking is not settled."
            )
        )
        blocks.append(Heading("Beside the paper"))
        blocks.append(
            Note(
                "The paper publishes summaries of its BTS matrix, not the matrix itself, so the "
                "paper's matrix is not bundled here; the same summaries are computed from this "
                "posterior draw by draw.",
                "info",
            )
        )
        rows = []
        for _, row in t["paper"].iterrows():
            defined = bool(np.isfinite(row["mean"]))
            inside = defined and row["ci_low"] <= row["paper"] <= row["ci_high"]
            rows.append(
                (
                    row["quantity"],
                    interval(row["mean"], row["ci_low"], row["ci_high"])
                    if defined
                    else "no such pairs in this fit",
                    number(row["paper"]),
                    yes_no(inside) if defined else "",
                    row["where"],
                )
            )
        blocks.append(
            make_table(
                rows,
                ("quantity", header, "the paper", "paper inside the interval", "where"),
            )
        )
        if t["few_sources"]:
            blocks.append(
                Note(
                    f"With {t['named_sources']} named sources, every source is among the top "
                    f"{PAPER_TOP} of every target, so the paper's top-{PAPER_TOP} counts are not "
                    "compared.",
                    "info",
                )
            )
        if t["tau_below_minus_one"] > 0:
            blocks.append(
                Note(
                    f"In {share(t['tau_below_minus_one'])} of the (pair, draw) values tau is at "
                    "most -1, where BTS is undefined; those are left out of the BTS summaries.",
                    "caution",
                )
            )
    return Section("transfer", "4. Transfer between languages", blocks)


__all__ = [
    "transfer_section",
]
