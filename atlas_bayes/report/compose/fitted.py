"""Section 1 in words and tables: the study, the data of each fit, the variants."""

from typing import Any

from atlas_bayes.intervals import interval_label
from atlas_bayes.report.compose.common import (
    kind_counts,
    make_table,
    sentence,
    span,
)
from atlas_bayes.report.document import (
    Block,
    Heading,
    Note,
    Paragraph,
    Section,
)
from atlas_bayes.report.formatting import number, short_hash


def fitted_section(data: dict[str, Any], ci_prob: float, ci_kind: str) -> Section:
    """Section 1: the study, the data of each fit, the variants and their provenance."""
    labels = list(data["variants"])
    blocks: list[Block] = [
        Paragraph(
            f"This report summarises {len(labels)} fit(s): {', '.join(labels)}. Unless stated "
            f"otherwise a posterior number is written as its posterior mean followed by its "
            f"{interval_label(ci_prob, ci_kind)} in brackets; predictive intervals are "
            "equal-tailed."
        )
    ]
    study = data["study"]
    if study is not None:
        rows = [
            ("runs", f"{study['runs']} ({kind_counts(study['runs_by_kind'])})"),
            ("runs by regime", kind_counts(study["runs_by_regime"])),
            (
                "languages",
                f"{study['languages']} ({study['training_languages']} trained on, "
                f"{study['evaluation_languages']} evaluated)",
            ),
            (
                "model sizes",
                f"{study['model_sizes']}, {span(*study['params_range'], 'parameters')} parameters",
            ),
            ("tokens per run", span(*study["tokens_range"], "tokens")),
            (
                "evaluations",
                f"{study['evaluations']} ({study['checkpoint_evaluations']} at checkpoints)",
            ),
            (
                "data-constrained languages",
                ", ".join(study["data_constrained_languages"]) or "none",
            ),
            ("content hash", short_hash(study["content_hash"])),
        ]
        blocks += [Heading("The study"), make_table(rows, ("item", "value"))]
    blocks.append(Heading("The data of each fit"))
    rows = []
    for label, d in data["data"].items():
        rows.append(
            (
                label,
                d["observations"],
                f"{d['runs']} ({kind_counts(d['runs_by_kind'])})",
                f"{d['languages']} ({d['evaluation_languages']} evaluated)",
                f"{d['model_sizes']}: {span(*d['params_range'], 'parameters')}",
                span(*d["tokens_range"], "tokens"),
                short_hash(d["study_hash"]),
            )
        )
    blocks.append(
        make_table(
            rows,
            (
                "fit",
                "observations",
                "runs by kind",
                "languages",
                "model sizes",
                "tokens per run",
                "study hash",
            ),
            "Counted from the data stored in each fit (runs by the number of languages "
            "trained on; finetune runs count the tokens after their checkpoint).",
        )
    )
    if len(data["study_hashes"]) > 1:
        blocks.append(
            Note(
                f"The fits come from {len(data['study_hashes'])} different studies: compare "
                "their numbers with care (LOO compares fits of the same study only).",
                "caution",
            )
        )
    blocks.append(Heading("The variants and their priors"))
    for label, v in data["variants"].items():
        selection = v["data_selection"]
        chosen = f"regimes {', '.join(selection['regimes'])}"
        if selection.get("kinds"):
            chosen += f"; kinds {', '.join(selection['kinds'])}"
        if selection.get("exclude_kinds"):
            chosen += f"; excluding kinds {', '.join(selection['exclude_kinds'])}"
        if selection.get("max_training_languages") is not None:
            chosen += f"; at most {selection['max_training_languages']} training language(s)"
        reference = v["reference"]
        blocks.append(
            Paragraph(
                f"{label}: the {v['law']} law. {sentence(v['description'])} Fitted to runs with "
                f"{chosen}. "
                f"Reference scales: N_ref = {number(reference['params'], 'parameters')}, "
                f"D_ref = {number(reference['tokens'], 'tokens')}, K_ref = "
                f"{reference['languages']:g}."
            )
        )
        blocks.append(
            make_table(
                v["priors"][["parameter", "pooling", "prior", "meaning"]].itertuples(index=False),
                ("parameter", "pooling", "prior", "meaning"),
                f"Priors of {label} (from its variant spec).",
            )
        )
    blocks.append(Heading("How each fit was made"))
    rows = []
    for label, v in data["variants"].items():
        seconds = v["fit_seconds"]
        versions = ", ".join(f"{k} {val}" for k, val in v["versions"].items())
        rows.append(
            (
                label,
                v["seed"],
                f"{v['sampler']}: {v['chains']} chains x {v['draws']} draws after {v['tune']} "
                f"tuning, target accept {v['target_accept']}",
                v["created"],
                # A no-break space keeps "100 s" on one line in a narrow column.
                f"{seconds:.0f}\u00a0s" if isinstance(seconds, int | float) else "n/a",
                short_hash(v["study_hash"]),
                versions or "not recorded",
            )
        )
    blocks.append(
        make_table(
            rows,
            ("fit", "seed", "sampler", "created", "time", "study hash", "versions"),
            "The study hash is the SHA-256 of the study's contents (first 16 hex digits).",
        )
    )
    return Section("fitted", "1. What was fitted", blocks)


__all__ = [
    "fitted_section",
]
