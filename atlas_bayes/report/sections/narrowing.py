"""Section 6, where the posterior is still wide, and which runs would narrow it."""

from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes.inference import Fit
from atlas_bayes.variants.transfer import OTHER_SOURCE

#: Which kind of run informs each law parameter most.
RUN_ADVICE = {
    "log_E": "runs that are large in both N and tokens (the loss floor shows only there)",
    "log_a": "larger models (N beyond the largest fitted) of this language",
    "alpha": "larger models (N beyond the largest fitted) of this language",
    "log_b": "longer runs (more tokens, or more checkpoints along a run) of this language",
    "beta": "longer runs (more tokens, or more checkpoints along a run) of this language",
    "log_decay": "runs that repeat this language's data for several epochs",
    "tau_top": "bilingual runs pairing this language with its top sources",
    "tau_other": "multilingual runs with this language as target",
    "tau_named": "finetune runs of this language from checkpoints with different mixtures",
    "tau_pooled": "finetune runs of this language from checkpoints with different mixtures",
    "log_penalty": "finetune runs of this language at more model sizes",
    "gamma": "finetune runs at more model sizes (the penalty's size dependence)",
    "log_beta_ratio": "longer finetune runs (more tokens after the checkpoint)",
    "phi": "capacity runs at more numbers of languages K (and larger K)",
    "psi": "capacity runs at more numbers of languages K (and larger K)",
}
#: Where a law gives a parameter name another meaning: He et al.'s gamma is the exponent of the
#: language's share p of the mixture, not the crossover penalty's size dependence.
RUN_ADVICE_BY_LAW = {
    "he_multilingual": {
        "gamma": "runs that mix this language with others at more shares (p < 1)",
    },
}


def relative_widths(fit: Fit, ci_prob: float, ci_kind: str) -> pd.DataFrame:
    """Per law parameter (and language): its interval relative to its size, widest first.

    For ``log_*`` parameters the width is that of the value itself (``exp``), relative to
    ``exp(mean)``; for the others ``(ci_high - ci_low) / |mean|``.

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``language`` (empty for shared parameters), ``mean``, ``ci_low``,
        ``ci_high``, ``relative_width``, ``advice`` (which runs would inform it).
    """
    table = fit.parameter_summary(ci_prob=ci_prob, ci_kind=ci_kind, hyper=False)
    advice = RUN_ADVICE | RUN_ADVICE_BY_LAW.get(fit.spec.law, {})
    rows = []
    for key, row in table.iterrows():
        key = str(key)
        name, _, rest = key.partition("[")
        language = rest.rstrip("]").split(",")[0].strip() if rest else ""
        if name not in advice:
            continue
        if name.startswith("log_"):
            relative = (np.exp(row["ci_high"]) - np.exp(row["ci_low"])) / np.exp(row["mean"])
        else:
            relative = (
                (row["ci_high"] - row["ci_low"]) / abs(row["mean"]) if row["mean"] else np.inf
            )
        rows.append(
            {
                "parameter": name,
                "language": language,
                "mean": float(row["mean"]),
                "ci_low": float(row["ci_low"]),
                "ci_high": float(row["ci_high"]),
                "relative_width": float(relative),
                "advice": advice[name],
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values("relative_width", ascending=False, ignore_index=True)


def parameter_ranking(widths: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: median relative width over languages and the widest language."""
    if widths.empty:
        return widths
    rows = []
    for name, group in widths.groupby("parameter", sort=False):
        worst = group.iloc[int(np.argmax(group["relative_width"].to_numpy()))]
        rows.append(
            {
                "parameter": name,
                "median_relative_width": float(group["relative_width"].median()),
                "widest_language": worst["language"],
                "widest": worst,
                "advice": worst["advice"],
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("median_relative_width", ascending=False, ignore_index=True)


def widest_pairs(transfer: dict[str, Any], count: int = 5) -> pd.DataFrame:
    """Language pairs without a bilingual run whose tau intervals are widest.

    Returns
    -------
    pandas.DataFrame
        Rows of :func:`~atlas_bayes.findings.transfer_summary` plus ``width``, widest first.
    """
    summary = transfer["summary"]
    bilingual = transfer["bilingual"]
    named = summary[summary["source"] != OTHER_SOURCE].copy()
    named["bilingual"] = [
        bool(bilingual.at[t, s]) for t, s in zip(named["target"], named["source"], strict=True)
    ]
    named = named[~named["bilingual"]]
    named["width"] = named["ci_high"] - named["ci_low"]
    return named.sort_values("width", ascending=False).head(count).reset_index(drop=True)


__all__ = [
    "RUN_ADVICE",
    "parameter_ranking",
    "relative_widths",
    "widest_pairs",
]
