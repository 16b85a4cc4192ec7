"""The demo's headline recommendations, computed with :mod:`atlas_bayes.decisions`.

Four questions a planner asks, each answered from the fit that can answer it:

- adding languages (``curse``): the iso-loss multipliers of parameters and total tokens when
  K languages become 2K, 4K, 8K and 16K (the paper's "doubling" numbers);
- pretrain or finetune (``crossover``): the crossover tokens at 2B parameters per language;
- compute-optimal allocation (``atlas_matrix``): N*, D* and the loss for one language at a
  budget inside the fitted compute;
- sources (``atlas_matrix``): the best source languages of one target, by transfer tau.

A question whose fit is missing (``--quick`` fits no crossover) is left out. Each answer is a
:class:`~atlas_bayes.decisions.Decision`; :class:`Headline` adds the few rows the demo's
table shows and the simulation's true value of each.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from atlas_bayes import decisions
from atlas_bayes.demo import truth as true_values
from atlas_bayes.inference import Fit
from atlas_bayes.published import load_published

#: Ratios K'/K of the adding-languages question (the paper's table).
LANGUAGE_RATIOS = (2, 4, 8, 16)
#: Model size of the crossover question (the paper's).
CROSSOVER_PARAMS = 2e9
#: The compute-optimal question's language, and the target whose sources are ranked.
ALLOCATION_LANGUAGE = "fr"
SOURCES_TARGET = "fr"
#: Best sources shown in the demo's table (all are in recommendations.json).
SHOWN_SOURCES = 3
#: Crossover languages shown in the demo's table (all are in recommendations.json).
SHOWN_CROSSOVERS = 4


@dataclass(frozen=True)
class Shown:
    """One row of the demo's headline table.

    Attributes
    ----------
    label : str
        What the number is, in words.
    quantity : str
        The decision's variable.
    where : dict
        Coordinates selecting one row of the decision's summary (``{"source": "es"}``).
    truth : float or None
        The simulation's true value.
    """

    label: str
    quantity: str
    where: dict[str, Any] = field(default_factory=dict)
    truth: float | None = None


@dataclass(frozen=True)
class Headline:
    """One headline recommendation: which fit answered, the decision, the rows shown.

    Attributes
    ----------
    key : str
        Short identifier (``"add_languages_2x"``).
    topic : str
        The question's group (``"adding languages"``).
    variant : str
        The fit that answered it.
    decision : Decision
        Its draws, units and notes.
    shown : tuple of Shown
        The rows of the demo's table (may be empty: in the JSON only).
    """

    key: str
    topic: str
    variant: str
    decision: decisions.Decision
    shown: tuple[Shown, ...] = ()

    def rows(self, ci_prob: float, ci_kind: str) -> pd.DataFrame:
        """The shown rows: label, mean, interval (with probability and kind), unit, truth."""
        table = self.decision.summary(ci_prob, ci_kind)
        records = []
        for item in self.shown:
            match = table["quantity"] == item.quantity
            for column, value in item.where.items():
                match &= table[column] == value
            row = table[match].iloc[0]
            inside = (
                None
                if item.truth is None or not math.isfinite(row["ci_low"])
                else bool(row["ci_low"] <= item.truth <= row["ci_high"])
            )
            records.append(
                {
                    "topic": self.topic,
                    "label": item.label,
                    **{k: row[k] for k in ("unit", "mean", "ci_low", "ci_high", "ci_prob")},
                    "ci_kind": row["ci_kind"],
                    "truth": item.truth,
                    "truth_inside": inside,
                    "variant": self.variant,
                    "extrapolated": self.decision.extrapolated,
                }
            )
        return pd.DataFrame.from_records(records)

    def to_json_dict(self, ci_prob: float, ci_kind: str) -> dict[str, Any]:
        """The decision's JSON (interval stated in every row) with the key, fit and truth."""
        return {
            "key": self.key,
            "topic": self.topic,
            "variant": self.variant,
            **self.decision.to_json_dict(ci_prob=ci_prob, ci_kind=ci_kind),
            "truth": [
                {"quantity": s.quantity, **s.where, "label": s.label, "value": s.truth}
                for s in self.shown
            ],
        }


def _adding_languages(fit: Fit, truth: dict[str, Any]) -> list[Headline]:
    # The multipliers depend only on K'/K; start from the smallest fitted K so that K is data.
    start = decisions.fitted_range(fit).n_languages[0]
    out = []
    for ratio in LANGUAGE_RATIOS:
        decision = decisions.add_languages(fit, start, ratio * start)
        shown = tuple(
            Shown(
                f"{ratio}x languages ({start:g} to {ratio * start:g}): {words}",
                quantity,
                truth=true_values.multiplier_truth(truth, ratio, quantity),
            )
            for quantity, words in (("params", "parameters"), ("total_tokens", "total tokens"))
        )
        out.append(
            Headline(f"add_languages_{ratio}x", "adding languages", fit.spec.name, decision, shown)
        )
    return out


def _crossovers(fit: Fit, truth: dict[str, Any]) -> list[Headline]:
    # The paper's languages first (its crossovers are the reference), then the others.
    paper = [c for c in load_published()["crossover"]["tokens"] if c in fit.languages]
    ordered = paper + [c for c in fit.languages if c not in paper]
    out = []
    for i, code in enumerate(ordered):
        decision = decisions.pretrain_or_finetune(fit, code, CROSSOVER_PARAMS)
        shown = ()
        if i < SHOWN_CROSSOVERS:
            shown = (
                Shown(
                    f"{code} at {CROSSOVER_PARAMS / 1e9:g}B parameters: crossover tokens",
                    "crossover_tokens",
                    truth=true_values.crossover_truth(truth, code),
                ),
            )
        out.append(
            Headline(f"crossover_{code}", "pretrain or finetune", fit.spec.name, decision, shown)
        )
    return out


def allocation_budget(fit: Fit, language: str) -> float:
    """A power of ten inside the fitted compute of ``language`` (nearest its log-midpoint)."""
    low, high = decisions.fitted_range(fit, language).compute
    middle = 0.5 * (math.log10(low) + math.log10(high))
    budget = 10.0 ** round(middle)
    # Rounding can step outside a narrow range; the midpoint itself is then inside.
    return budget if low <= budget <= high else 10.0**middle


def _allocation(fit: Fit, truth: dict[str, Any]) -> list[Headline]:
    code = ALLOCATION_LANGUAGE if ALLOCATION_LANGUAGE in fit.languages else fit.languages[0]
    budget = allocation_budget(fit, code)
    decision = decisions.compute_optimal(fit, code, budget)
    true = true_values.allocation_truth(truth, code, budget)
    shown = tuple(
        Shown(f"{code} at {budget:.2g} FLOPs: {words}", quantity, truth=true.get(quantity))
        for quantity, words in (
            ("params", "parameters N*"),
            ("tokens", "tokens D*"),
            ("loss", "loss at (N*, D*)"),
        )
    )
    return [Headline(f"compute_optimal_{code}", "compute-optimal", fit.spec.name, decision, shown)]


def _sources(fit: Fit, truth: dict[str, Any]) -> list[Headline]:
    code = SOURCES_TARGET if SOURCES_TARGET in fit.languages else fit.languages[0]
    # Languages only (the decision's default): a planner picks languages, and the pooled
    # "other" source is many languages at once.
    decision = decisions.rank_sources(fit, code, top=SHOWN_SOURCES)
    sources = [str(s) for s in decision.draws["source"].values[:SHOWN_SOURCES]]
    shown = tuple(
        Shown(
            f"source {rank} for {code}: {source}, transfer tau",
            "tau",
            {"source": source},
            true_values.transfer_truth(truth, code, source),
        )
        for rank, source in enumerate(sources, start=1)
    )
    return [Headline(f"sources_{code}", "best sources", fit.spec.name, decision, shown)]


#: Which law answers which questions, in the order the demo shows them.
QUESTIONS = (
    ("curse", _adding_languages),
    ("crossover", _crossovers),
    ("atlas_matrix", _allocation),
    ("atlas_matrix", _sources),
)


def headline_recommendations(fits: Mapping[str, Fit], truth: dict[str, Any]) -> list[Headline]:
    """Every headline question that one of ``fits`` can answer.

    Parameters
    ----------
    fits
        The demo's fits by variant name.
    truth
        The bundled study's ``truth.json``.

    Returns
    -------
    list of Headline
        In the order of :data:`QUESTIONS`.
    """
    by_law = {fit.spec.law: fit for fit in fits.values()}
    out: list[Headline] = []
    for law, ask in QUESTIONS:
        if law in by_law:
            out += ask(by_law[law], truth)
    return out


def headline_table(headlines: list[Headline], ci_prob: float, ci_kind: str) -> pd.DataFrame:
    """The shown rows of every headline, one table (see :meth:`Headline.rows`)."""
    tables = [h.rows(ci_prob, ci_kind) for h in headlines if h.shown]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    # None (no true value) becomes NaN, so the column stays numeric.
    table["truth"] = table["truth"].astype(float)
    return table


__all__ = [
    "ALLOCATION_LANGUAGE",
    "CROSSOVER_PARAMS",
    "LANGUAGE_RATIOS",
    "SOURCES_TARGET",
    "Headline",
    "Shown",
    "allocation_budget",
    "headline_recommendations",
    "headline_table",
]
