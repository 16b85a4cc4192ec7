"""Section 3 in words, tables and figures: scaling curves and extrapolation fans."""

from collections.abc import Mapping
from typing import Any

from atlas_bayes.intervals import interval_label
from atlas_bayes.report import figures
from atlas_bayes.report.compose.common import (
    gate_note,
    interval_header,
    make_table,
)
from atlas_bayes.report.document import (
    Block,
    Figure,
    Heading,
    Paragraph,
    Section,
)
from atlas_bayes.report.formatting import interval, number
from atlas_bayes.report.sections.scaling import FAN_TOKENS_PER_PARAM


def scaling_section(
    scalings: Mapping[str, dict[str, Any]],
    failed: set[str],
    ci_prob: float,
    ci_kind: str,
) -> Section | None:
    """Section 3: loss against tokens and N per language, bands and extrapolation fans."""
    if not scalings:
        return None
    label_text = interval_label(ci_prob, ci_kind)
    blocks: list[Block] = [
        Paragraph(
            "Loss of monolingual runs from scratch against the tokens of the language and the "
            f"model size. Bands are the {label_text} of the expected loss (the law without "
            "observation noise); the shaded region lies beyond the fitted data, where the law "
            "is extrapolated. Up to six languages per fit are shown, from the most to the least "
            "data."
        )
    ]
    for label, s in scalings.items():
        blocks.append(Heading(label))
        if label in failed:
            blocks.append(gate_note(label))
        blocks.append(
            Figure(
                figures.scaling_figure(s, label, ci_prob, ci_kind),
                alt=f"Loss against tokens per language for {label}.",
                caption=(
                    f"{label}: expected loss over tokens at fitted model sizes ({label_text}, "
                    f"from {s['draws']} draws); dots are the observed runs of that size."
                ),
            )
        )
        blocks.append(
            Figure(
                figures.fan_figure(s, label, ci_prob, ci_kind, FAN_TOKENS_PER_PARAM),
                alt=f"Extrapolation fan of the expected loss over model size for {label}.",
                caption=(
                    f"{label}: expected loss over model size at {FAN_TOKENS_PER_PARAM:g} tokens "
                    f"per parameter ({label_text}); dotted: where those tokens reach the "
                    "language's unique tokens, beyond which data repeat."
                ),
            )
        )
        rows = []
        for _, row in s["extrapolated"].iterrows():
            rows.append(
                (
                    row["language"],
                    f"{row['multiple']:g}x: {number(row['params'], 'parameters')}",
                    number(row["tokens"], "tokens"),
                    interval(row["mean"], row["ci_low"], row["ci_high"]),
                    number(row["ci_high"] - row["ci_low"]),
                )
            )
        largest = number(s["largest_params"], "parameters")
        blocks.append(
            make_table(
                rows,
                (
                    "language",
                    "model size (x the largest fitted)",
                    "tokens",
                    f"expected loss, {interval_header(ci_prob, ci_kind)}",
                    "interval width (nats)",
                ),
                f"{label}: extrapolated expected loss beyond the largest fitted model "
                f"({largest}), from every posterior draw.",
            )
        )
        blocks.append(
            Paragraph(
                "Meaning: the loss a model that much larger than any fitted one would reach on "
                "each language, if the fitted law holds that far; a wide interval says the "
                "runs so far cannot tell."
            )
        )
    return Section("scaling", "3. Scaling", blocks)


__all__ = [
    "scaling_section",
]
