"""Section 2 in words, tables and figures: the gate, the predictive check, LOO."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes.inference.diagnostics import MAX_RHAT, MIN_EBFMI, MIN_ESS
from atlas_bayes.report import figures
from atlas_bayes.report.compose.common import (
    make_table,
)
from atlas_bayes.report.document import (
    Block,
    Figure,
    Heading,
    Note,
    Paragraph,
    Section,
)
from atlas_bayes.report.formatting import share, short_hash


def _standard_errors(difference: float, error: float) -> str:
    if not error > 0:
        return "standard error 0"
    return f"{abs(difference) / error:.1f} standard errors"


def _pareto_warning(value: object) -> str:
    """ArviZ's Pareto k diagnostic of one model (a string, or missing when all is well)."""
    return value if isinstance(value, str) and value else "none"


def _loo_blocks(comparisons: list[dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = [Heading("Leave-one-out comparison")]
    if not comparisons:
        blocks.append(
            Paragraph(
                "No LOO comparison: it needs two or more fits of the same study, fitted to the "
                "same observations."
            )
        )
        return blocks
    for entry in comparisons:
        study = short_hash(entry["study_hash"])
        table = entry["table"]
        if table is not None:
            best = str(table.index[0])
            rows = []
            for name, row in table.iterrows():
                rows.append(
                    (
                        name,
                        int(row["rank"]) + 1,
                        f"{row['elpd']:.1f} ± {row['se']:.1f}",
                        f"{row['elpd_diff']:.1f} ± {row['dse']:.1f}",
                        share(row["p_worse"]) if np.isfinite(row["p_worse"]) else "(best)",
                        f"{row['weight']:.2f}",
                        _pareto_warning(row.get("diag_elpd")),
                    )
                )
            blocks.append(
                make_table(
                    rows,
                    (
                        "fit",
                        "rank",
                        "ELPD ± SE",
                        "difference from the best ± SE",
                        "P(worse than the best)",
                        "stacking weight",
                        "Pareto k warnings",
                    ),
                    f"PSIS-LOO on the log-likelihood of log-loss, {entry['observations']} "
                    f"observations of study {study}. ± values are standard errors (not "
                    "credible intervals).",
                )
            )
            behind = [
                f"{name} by {-row['elpd_diff']:.1f} ± {row['dse']:.1f} "
                f"({_standard_errors(row['elpd_diff'], row['dse'])})"
                for name, row in table.iloc[1:].iterrows()
            ]
            blocks.append(
                Paragraph(
                    f"Meaning: {best} predicts a left-out observation best; it leads "
                    + "; ".join(behind)
                    + ". A lead of more than about 4 standard errors is a clear preference; "
                    "within about 2 the models predict equally well."
                )
            )
            if entry["warnings"]:
                blocks.append(
                    Note(
                        "ArviZ warned: " + "; ".join(entry["warnings"]) + ". A Pareto k above "
                        "that threshold means some observations are so influential that their "
                        "LOO estimate is unreliable: treat small differences as ties.",
                        "caution",
                    )
                )
        if entry["error"]:
            blocks.append(
                Note(f"The LOO comparison of study {study} failed: {entry['error']}", "warning")
            )
        if entry.get("unavailable"):
            fitted = ", ".join(f"{label} {count}" for label, count in entry["not_comparable"])
            blocks.append(
                Paragraph(
                    f"No LOO comparison for study {study}: each fit was fitted to its own "
                    f"selection of runs (observations: {fitted}), and LOO compares "
                    "predictions of the same observations only. Use the predictive check "
                    "above to judge each fit."
                )
            )
            continue
        for label, count in entry["not_comparable"]:
            blocks.append(
                Note(
                    f"{label} was fitted to other observations ({count}) of the same study and "
                    "is not in the comparison.",
                    "info",
                )
            )
    return blocks


def trust_section(
    diagnostics: pd.DataFrame,
    checks: Mapping[str, dict[str, Any]],
    comparisons: list[dict[str, Any]],
) -> Section:
    """Section 2: convergence per fit, posterior predictive checks, LOO comparison."""
    blocks: list[Block] = [
        Paragraph(
            f"A fit passes the convergence gate when every free parameter has R-hat at most "
            f"{MAX_RHAT}, bulk and tail effective sample sizes of at least {MIN_ESS:.0f}, no "
            f"divergent transitions and E-BFMI of at least {MIN_EBFMI} (Vehtari et al. 2021; "
            "Betancourt 2016). A failed gate means the intervals below may be wrong, not only "
            "wide. Draws that hit the maximum tree depth are counted as a warning: they cost "
            "time, not validity."
        )
    ]
    rows = []
    for _, row in diagnostics.iterrows():
        rows.append(
            (
                row["fit"],
                "passed" if row["passed"] else "FAILED",
                f"{row['max_rhat']:.3f} ({row['worst_rhat_parameter']})",
                f"{row['min_ess_bulk']:.0f} / {row['min_ess_tail']:.0f}",
                row["divergences"],
                row["treedepth_hits"],
                f"{row['min_ebfmi']:.2f}",
                f"{row['chains']} x {row['draws']}",
            )
        )
    blocks.append(
        make_table(
            rows,
            (
                "fit",
                "gate",
                "max R-hat (worst)",
                "min ESS bulk / tail",
                "divergences",
                "tree-depth hits",
                "min E-BFMI",
                "chains x draws",
            ),
        )
    )
    for _, row in diagnostics.iterrows():
        if row["passed"]:
            blocks.append(Note(f"{row['fit']}: {row['sentence']}", "info"))
            continue
        # The banner at the top lists each problem with what to do; here, what failed.
        failures = "; ".join(problem.split(". ")[0] for problem in row["problems"])
        blocks.append(
            Note(
                f"{row['fit']} failed the gate: {failures}. What to do: see the warning at the "
                "top of the report.",
                "warning",
            )
        )
    blocks.append(Heading("Posterior predictive check"))
    first = next(iter(checks.values()))
    outer, inner = first["probs"][-1], first["probs"][0]
    blocks.append(
        Paragraph(
            "Each fitted observation against its posterior predictive distribution (the law "
            "plus observation noise). A model that describes the data puts about "
            f"{outer:.0%} of the observed losses inside their {outer:.0%} predictive interval "
            f"and about {inner:.0%} inside their {inner:.0%} interval (equal-tailed). This check "
            "is in-sample (the same losses informed the posterior), so it finds misfit, not "
            "overfitting; the LOO comparison below scores left-out observations."
        )
    )
    for label, check in checks.items():
        coverage = check["coverage"]
        worst = check["by_language"].sort_values("coverage").head(3)
        low_languages = ", ".join(
            f"{row['language']} {share(row['coverage'])}" for _, row in worst.iterrows()
        )
        blocks.append(
            Paragraph(
                f"{label}: {share(coverage[outer])} of {len(check['table'])} observed losses "
                f"fall inside their {outer:.0%} predictive interval (nominal {outer:.0%}) and "
                f"{share(coverage[inner])} inside their {inner:.0%} interval (nominal "
                f"{inner:.0%}); from {check['draws']} posterior draws. Lowest {outer:.0%} "
                f"coverage by language: {low_languages}."
            )
        )
        blocks.append(
            Figure(
                figures.predictive_check_figure(check, label),
                alt=f"Residuals of {label} against the predicted loss, and coverage by language.",
                caption=(
                    f"{label}: left, each observed loss minus its posterior predictive median "
                    f"(dots; red: outside its interval) and its {outer:.0%} equal-tailed "
                    "predictive interval around that median (grey bars), against the "
                    "predicted loss; right, the share of each language's losses inside their "
                    f"{outer:.0%} interval (dashed: nominal {outer:.0%}). Points should scatter "
                    "evenly around 0 with no trend; a trend is misfit."
                ),
            )
        )
    blocks += _loo_blocks(comparisons)
    return Section("trust", "2. Can these numbers be trusted?", blocks)


__all__ = [
    "trust_section",
]
