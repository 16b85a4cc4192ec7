"""Section 6 in words and tables: the widest posteriors and the runs that narrow them."""

from collections.abc import Mapping
from typing import Any

import pandas as pd

from atlas_bayes.report.compose.common import (
    interval_header,
    make_table,
    run_advice,
    yes_no,
)
from atlas_bayes.report.document import (
    Block,
    Heading,
    Items,
    Paragraph,
    Section,
)
from atlas_bayes.report.formatting import interval, number
from atlas_bayes.report.sections.narrowing import RUN_ADVICE
from atlas_bayes.report.sections.scaling import EXTRAPOLATION_MULTIPLES, FAN_TOKENS_PER_PARAM

#: Languages per fit in the ranking of extrapolated losses.
NARROWING_LANGUAGES = 3


def narrowing_section(
    rankings: Mapping[str, pd.DataFrame],
    scalings: Mapping[str, dict[str, Any]],
    pairs: Mapping[str, pd.DataFrame],
    ci_prob: float,
    ci_kind: str,
) -> Section | None:
    """Section 6: where the posterior is widest, and which runs would narrow it most."""
    header = interval_header(ci_prob, ci_kind)
    blocks: list[Block] = [
        Paragraph(
            "A parameter's relative width is its interval's width divided by the size of its "
            "value (for a log-scale parameter, of the value itself). The wider it is, the more "
            "a new run that informs it would change the answers above."
        )
    ]
    first_advice = []
    for label, ranking in rankings.items():
        if ranking.empty:
            continue
        rows = []
        for _, row in ranking.iterrows():
            widest = row["widest"]
            rows.append(
                (
                    row["parameter"],
                    f"{row['median_relative_width']:.2f}",
                    widest["language"] or "(shared)",
                    interval(widest["mean"], widest["ci_low"], widest["ci_high"]),
                    f"{widest['relative_width']:.2f}",
                    run_advice(row["advice"], widest["language"]),
                )
            )
        top = ranking.iloc[0]
        first_advice.append(
            f"{label}: {run_advice(top['advice'], top['widest_language'])} (to narrow "
            f"{top['parameter']}, relative width {top['median_relative_width']:.2f})"
        )
        blocks += [
            Heading(f"Parameters of {label}"),
            make_table(
                rows,
                (
                    "parameter",
                    "median relative width",
                    "widest language",
                    f"value there, {header}",
                    "relative width there",
                    "runs that would narrow it",
                ),
            ),
        ]
    languages = []
    for label, s in scalings.items():
        far = s["extrapolated"]
        far = far[far["multiple"] == EXTRAPOLATION_MULTIPLES[0]].copy()
        far["width"] = far["ci_high"] - far["ci_low"]
        widest = far.sort_values("width", ascending=False).head(NARROWING_LANGUAGES)
        for _, row in widest.iterrows():
            languages.append(
                (
                    label,
                    row["language"],
                    interval(row["mean"], row["ci_low"], row["ci_high"]),
                    number(row["width"]),
                    run_advice(RUN_ADVICE["alpha"], str(row["language"])),
                )
            )
    if languages:
        blocks += [
            Heading("Languages whose extrapolated loss is least certain"),
            make_table(
                languages,
                (
                    "fit",
                    "language",
                    f"expected loss at {EXTRAPOLATION_MULTIPLES[0]:g}x the largest fitted N, "
                    f"{header}",
                    "interval width (nats)",
                    "runs that would narrow it",
                ),
                f"At {FAN_TOKENS_PER_PARAM:g} tokens per parameter; the {NARROWING_LANGUAGES} "
                "widest of the languages shown in section 3, per fit.",
            ),
        ]
    for label, table in pairs.items():
        rows = [
            (
                row["target"],
                row["source"],
                interval(row["mean"], row["ci_low"], row["ci_high"]),
                yes_no(row["measured"]),
                f"a bilingual run of {row['target']} with {row['source']}",
            )
            for _, row in table.iterrows()
        ]
        if rows:
            top = table.iloc[0]
            first_advice.append(
                f"{label}: a bilingual run of {top['target']} with {top['source']} (the widest "
                "transfer interval)"
            )
            blocks += [
                Heading(f"Transfer pairs of {label} with the widest intervals"),
                make_table(
                    rows,
                    ("target", "source", f"tau, {header}", "in some fitted run", "run to add"),
                    "Pairs without a bilingual run, widest interval first.",
                ),
            ]
    if len(blocks) == 1:
        return None
    if first_advice:
        blocks.append(
            Paragraph("Meaning: the runs that would narrow the widest posteriors first are:")
        )
        blocks.append(Items(tuple(first_advice)))
    return Section("narrowing", "6. Where the posterior is still wide", blocks)


__all__ = [
    "NARROWING_LANGUAGES",
    "narrowing_section",
]
