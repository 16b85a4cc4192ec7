"""Section 5 in words, tables and figures: allocation, languages, pretrain or finetune."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes.decisions.languages import MULTIPLIED
from atlas_bayes.intervals import interval_label
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
    Items,
    Note,
    Paragraph,
    Section,
)
from atlas_bayes.report.formatting import interval, number, share

#: Crossovers in fewer draws than this get no interval (it would rest on a few draws).
MIN_CROSSING_SHARE = 0.1


def _frontier_blocks(
    label: str, law: str, frontier: dict[str, Any], ci_prob: float, ci_kind: str
) -> list[Block]:
    header = interval_header(ci_prob, ci_kind)
    table = frontier["table"]
    blocks: list[Block] = [
        Heading("Compute-optimal allocation"),
        Paragraph(
            f"From {label} (the {law} law): for each compute budget C = 6 N D, the model size N* "
            "and tokens D* that minimise the expected loss of a monolingual run, draw by draw."
        ),
        Figure(
            figures.frontier_figure(frontier, label, ci_prob, ci_kind),
            alt=f"Compute-optimal frontier from {label}.",
            caption=(
                f"{label}: N*, D* and the loss there over budgets "
                f"({interval_label(ci_prob, ci_kind)})."
            ),
        ),
    ]
    rows = []
    if not table.empty:
        for (code, budget), group in table.groupby(["language", "budget"], sort=False):
            cell = {q: r for q, r in zip(group["quantity"], group.itertuples(), strict=True)}

            def show(quantity: str, unit: str, cell: dict = cell) -> str:
                row = cell[quantity]
                return interval(row.mean, row.ci_low, row.ci_high, unit)

            rows.append(
                (
                    code,
                    number(budget, "FLOPs"),
                    show("params", "parameters"),
                    show("tokens", "tokens"),
                    show("tokens_per_param", ""),
                    show("loss", ""),
                    yes_no(bool(group["extrapolated"].iloc[0])),
                )
            )
    blocks.append(
        make_table(
            rows,
            (
                "language",
                "budget C (FLOPs)",
                f"N*, {header}",
                f"D*, {header}",
                "tokens per parameter",
                "expected loss (nats)",
                "more than 10x beyond the fit",
            ),
        )
    )
    blocks.append(
        Paragraph(
            "Meaning: with budget C, a model of about N* parameters trained on about D* tokens of "
            "the language reaches the lowest expected loss; the interval is where the posterior "
            "puts that optimum, and a budget far beyond the fitted compute relies on the law "
            "holding there."
        )
    )
    notes = [f"{code}: {note}" for code, items in frontier["notes"].items() for note in items]
    if notes:
        blocks.append(Items(tuple(notes)))
    return blocks


def _curse_blocks(label: str, curse: dict[str, Any], ci_prob: float, ci_kind: str) -> list[Block]:
    header = interval_header(ci_prob, ci_kind)
    low, high = curse["fitted_languages"]
    rows = []
    for _, row in curse["table"].iterrows():
        published = row["published"]
        rows.append(
            (
                f"K to {row['ratio']:g}K",
                MULTIPLIED.get(row["quantity"].removesuffix(" multiplier"), row["quantity"]),
                interval(row["mean"], row["ci_low"], row["ci_high"]),
                number(published) if np.isfinite(published) else "not printed",
                yes_no(bool(row["published_in_interval"])) if np.isfinite(published) else "",
            )
        )
    return [
        Heading(f"Adding languages ({label})"),
        make_table(
            rows,
            ("languages", "multiplier of", header, "the paper", "paper inside the interval"),
            "Population exponents (the hierarchical means), as in the paper's single fit.",
        ),
        Figure(
            figures.multiplier_figure(curse["table"], label, ci_prob, ci_kind),
            alt=f"Iso-loss multipliers from {label}.",
            caption=f"{label}: multipliers at equal loss against K'/K (crosses: the paper).",
        ),
        Paragraph(
            "Meaning: to keep the loss of every language unchanged when a model is trained on r "
            "times as many languages (sampled uniformly), multiply its parameters and its total "
            "tokens by these factors."
        ),
        Note(
            f"The fitted runs span K = {low:g} to {high:g} languages (a ratio of "
            f"{high / low:.3g}x); larger ratios extrapolate the power law in K.",
            "info",
        ),
    ]


def _crossover_blocks(
    label: str, crossover: dict[str, Any], ci_prob: float, ci_kind: str
) -> list[Block]:
    header = interval_header(ci_prob, ci_kind)
    table = crossover["table"]
    at = crossover["at_size"]
    rows_at = table[np.isclose(table["params"], at)].copy()
    paper = set(crossover["paper_languages"])
    rows_at["order"] = [0 if code in paper else 1 for code in rows_at["language"]]
    rows = []
    for _, row in rows_at.sort_values(["order", "language"]).iterrows():
        crosses = row["p_crossover"] >= MIN_CROSSING_SHARE
        rows.append(
            (
                row["language"],
                interval(row["mean"], row["ci_low"], row["ci_high"], "tokens")
                if crosses
                else ("never crosses in range" if row["p_crossover"] == 0 else "too few crossings"),
                share(row["p_crossover"]),
                number(row["published"], "tokens") if np.isfinite(row["published"]) else "",
            )
        )
    low, high = (number(v, "tokens") for v in _paper_range())
    same_size = np.isclose(at, crossover["paper_size"])
    nearest = (
        ""
        if same_size
        else " (the fitted size nearest the paper's "
        f"{number(crossover['paper_size'], 'parameters')})"
    )
    blocks: list[Block] = [
        Heading(f"Pretrain or finetune ({label})"),
        Paragraph(_crossover_summary(rows_at, at)),
        make_table(
            rows,
            ("language", f"crossover tokens, {header}", "P(curves cross)", "the paper"),
            f"At {number(at, 'parameters')} parameters{nearest}; the paper's crossovers at 2B "
            f"range from {low} to {high} tokens. Intervals use the draws in which the curves "
            f"cross, and are shown where they cross in at least {MIN_CROSSING_SHARE:.0%} of draws.",
        ),
        Figure(
            figures.crossover_figure(crossover, label, ci_prob, ci_kind),
            alt=f"Crossover tokens against model size from {label}.",
            caption=f"{label}: crossover tokens against model size (crosses: the paper at 2B).",
        ),
        Paragraph(
            "Meaning: with fewer tokens of the language than the crossover, finetuning the "
            "multilingual checkpoint reaches the lower loss; with more, pretraining from scratch "
            "does. P(curves cross) is the share of draws in which that happens within 1e7 to "
            "1e15 tokens."
        ),
    ]
    return blocks


def _crossover_summary(rows: pd.DataFrame, at: float) -> str:
    """One sentence over the table: how many languages cross, and where."""
    crossing = rows[rows["p_crossover"] >= 0.5]
    text = (
        f"At {number(at, 'parameters')} parameters the two curves cross in most posterior draws "
        f"for {len(crossing)} of {len(rows)} languages"
    )
    if crossing.empty:
        return text + "."
    low, high = crossing["mean"].min(), crossing["mean"].max()
    return (
        text + f", at posterior means from {number(low, 'tokens')} to {number(high, 'tokens')} "
        "tokens of the language; for the others, finetuning stays ahead (or the posterior "
        "cannot tell) within the range searched."
    )


def _paper_range() -> tuple[float, float]:
    from atlas_bayes.published import published_value

    value = published_value("crossover.range")
    return float(value["min"]), float(value["max"])


def recommendations_section(
    frontier: tuple[str, str, dict[str, Any]] | None,
    curses: Mapping[str, dict[str, Any]],
    crossovers: Mapping[str, dict[str, Any]],
    failed: set[str],
    ci_prob: float,
    ci_kind: str,
) -> Section | None:
    """Section 5: the compute-optimal frontier, adding languages, pretrain or finetune."""
    blocks: list[Block] = []
    if frontier is not None:
        label, law, data = frontier
        if label in failed:
            blocks.append(gate_note(label))
        blocks += _frontier_blocks(label, law, data, ci_prob, ci_kind)
    for label, curse in curses.items():
        if label in failed:
            blocks.append(gate_note(label))
        blocks += _curse_blocks(label, curse, ci_prob, ci_kind)
    for label, crossover in crossovers.items():
        if label in failed:
            blocks.append(gate_note(label))
        blocks += _crossover_blocks(label, crossover, ci_prob, ci_kind)
    if not blocks:
        return None
    return Section("recommendations", "5. Recommendations", blocks)


__all__ = [
    "MIN_CROSSING_SHARE",
    "recommendations_section",
]
