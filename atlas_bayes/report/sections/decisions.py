"""Section 5, recommendations: the compute-optimal frontier, adding languages, crossovers."""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes.decisions import compute_frontier, fitted_range
from atlas_bayes.findings import crossover_table, multiplier_table
from atlas_bayes.findings.crossover import crossover_tokens_draws, finetune_settings
from atlas_bayes.inference import Fit
from atlas_bayes.published import load_published, published_value
from atlas_bayes.report.sections.scaling import GRID_POINTS

#: The paper's ratios K'/K for adding languages.
LANGUAGE_RATIOS = (2, 4, 8, 16)
#: Laws preferred for the compute-optimal frontier (monolingual laws first).
FRONTIER_PREFERENCE = (
    "data_constrained", "chinchilla", "atlas", "atlas_matrix", "crossover", "crossover_exponent",
)  # fmt: skip


def frontier_fit(fits: Sequence[Fit]) -> int | None:
    """Index of the fit used for the frontier: converged first, then by law preference."""
    candidates = [i for i, fit in enumerate(fits) if fit.spec.law in FRONTIER_PREFERENCE]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda i: (
            not fits[i].diagnostics.passed,
            FRONTIER_PREFERENCE.index(fits[i].spec.law),
            i,
        ),
    )


def frontier_data(
    fit: Fit, languages: Sequence[str], ci_prob: float, ci_kind: str
) -> dict[str, Any]:
    """The compute-optimal frontier of each language: bands over budgets and a table.

    Returns
    -------
    dict
        ``curves`` (language, budget, quantity, mean and interval, over a grid from the
        smallest fitted compute to 100x the largest), ``table`` (the same at powers of ten),
        ``notes`` (language to the decision's notes), ``fitted_compute`` (language to its
        fitted compute range), ``unique_tokens`` (language to its unique tokens, or None).
    """
    curves, tables, notes, extents, unique = [], [], {}, {}, {}
    for code in languages:
        fitted = fitted_range(fit, code)
        extent = fitted.compute
        extents[code] = extent
        unique[code] = fitted.unique_tokens
        grid = np.geomspace(extent[0], extent[1] * 100, GRID_POINTS)
        top = math.ceil(math.log10(extent[1]))
        decades = [10.0**k for k in range(top - 2, top + 3) if extent[0] <= 10.0**k]
        for budgets, sink in ((grid, curves), (np.array(decades), tables)):
            if len(budgets) == 0:
                continue
            decision = compute_frontier(fit, code, budgets)
            frame = decision.summary(ci_prob, ci_kind)
            frame.insert(0, "language", code)
            flags = dict(
                zip(
                    decision.draws["budget"].values,
                    decision.draws["extrapolated"].values,
                    strict=True,
                )
            )
            frame["extrapolated"] = frame["budget"].map(flags)
            sink.append(frame)
            if sink is tables:
                notes[code] = list(decision.notes)
    return {
        "curves": pd.concat(curves, ignore_index=True),
        "table": pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
        "notes": notes,
        "fitted_compute": extents,
        "unique_tokens": unique,
    }


def curse_data(fit: Fit, ci_prob: float, ci_kind: str) -> dict[str, Any]:
    """Multipliers for going from K to r K languages beside the paper's, and the fitted K."""
    table = multiplier_table(fit, LANGUAGE_RATIOS, ci_prob, ci_kind)
    return {"table": table, "fitted_languages": fitted_range(fit).n_languages}


def crossover_data(fit: Fit, ci_prob: float, ci_kind: str, max_languages: int = 6) -> dict:
    """Crossover tokens at the paper's size (2B) per language, and over sizes for a few.

    Returns
    -------
    dict
        ``table`` (:func:`~atlas_bayes.findings.crossover_table` rows of crossover tokens),
        ``paper_size`` (2B), ``at_size`` (the fitted size nearest to it), ``figure_languages``
        (languages shown at every fitted size: the paper's first).
    """
    cells = finetune_settings(fit)
    paper_size = float(published_value("crossover.model_params"))
    sizes = np.sort(cells["params"].unique())
    at_size = float(sizes[np.argmin(np.abs(np.log(sizes) - np.log(paper_size)))])
    fitted_languages = set(cells["language"])
    paper_languages = [
        code for code in load_published()["crossover"]["tokens"] if code in fitted_languages
    ]
    others = [code for code in dict.fromkeys(cells["language"]) if code not in paper_languages]
    figure_languages = (paper_languages + others)[:max_languages]
    keep = np.isclose(cells["params"], at_size) | cells["language"].isin(figure_languages)
    tokens = crossover_tokens_draws(fit, cells[keep])
    table = crossover_table(fit, ci_prob, ci_kind, tokens=tokens)
    table = table[table["quantity"] == "crossover tokens"].reset_index(drop=True)
    return {
        "table": table,
        "paper_size": paper_size,
        "at_size": at_size,
        "figure_languages": figure_languages,
        "paper_languages": paper_languages,
    }


__all__ = [
    "FRONTIER_PREFERENCE",
    "LANGUAGE_RATIOS",
    "crossover_data",
    "curse_data",
    "frontier_data",
    "frontier_fit",
]
