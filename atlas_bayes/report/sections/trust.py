"""Section 2, can these numbers be trusted: the gate, the predictive check, LOO."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes.comparison.loo import ComparisonError, compare_fits, observation_key
from atlas_bayes.inference import Fit
from atlas_bayes.inference.predict import predictive_loss, summarise_predictions
from atlas_bayes.modeling.build import OBSERVED
from atlas_bayes.report.sections.common import (
    MAX_PREDICTIVE_DRAWS,
    draws_used,
    thinned,
)


def diagnostics_table(fits: Sequence[Fit], labels: Sequence[str]) -> pd.DataFrame:
    """One row per fit: the gate's verdict and the numbers it checks."""
    from atlas_bayes.fit_report import diagnostics_sentence

    rows = []
    for label, fit in zip(labels, fits, strict=True):
        d = fit.diagnostics
        rows.append(
            {
                "fit": label,
                "passed": d.passed,
                "max_rhat": d.max_rhat,
                "worst_rhat_parameter": d.worst_rhat_parameter,
                "min_ess_bulk": d.min_ess_bulk,
                "min_ess_tail": d.min_ess_tail,
                "divergences": d.divergences,
                "treedepth_hits": d.treedepth_hits,
                "min_ebfmi": d.min_ebfmi,
                "chains": d.chains,
                "draws": d.draws,
                "problems": list(d.problems),
                "sentence": diagnostics_sentence(fit),
            }
        )
    return pd.DataFrame(rows)


def predictive_check(
    fit: Fit, ci_prob: float, max_draws: int | None = MAX_PREDICTIVE_DRAWS
) -> dict[str, Any]:
    """Posterior predictive check on the fitted observations themselves (in-sample).

    Parameters
    ----------
    fit
        A fit.
    ci_prob
        Probability of the outer predictive interval (with 50 % as the inner one).
    max_draws
        Posterior draws used (thinned evenly).

    Returns
    -------
    dict
        ``table`` (:func:`~atlas_bayes.inference.predict.summarise_predictions` with
        ``observed`` and ``inside_P`` columns), ``probs``, ``coverage`` (prob to the share of
        observed losses inside their predictive interval), ``by_language`` (coverage of the
        outer interval per language), ``draws`` (posterior draws used).
    """
    small = thinned(fit, max_draws)
    draws = predictive_loss(small, fit.data, seed=int(fit.meta.get("seed", 0) or 0))
    probs = tuple(sorted({0.5, float(ci_prob)}))
    observed = np.exp(fit.data[OBSERVED].values)
    table = summarise_predictions(draws, observed=observed, probs=probs)
    coverage = {}
    for prob in probs:
        label = f"{round(prob * 100)}"
        inside = (table["observed"] >= table[f"lower_{label}"]) & (
            table["observed"] <= table[f"upper_{label}"]
        )
        table[f"inside_{label}"] = inside
        coverage[prob] = float(inside.mean())
    outer = f"inside_{round(probs[-1] * 100)}"
    by_language = (
        table.groupby("language", sort=False)[outer]
        .agg(["mean", "size"])
        .rename(columns={"mean": "coverage", "size": "observations"})
        .reset_index()
    )
    return {
        "table": table,
        "probs": probs,
        "coverage": coverage,
        "by_language": by_language,
        "draws": draws_used(small),
    }


def loo_comparisons(fits: Sequence[Fit], labels: Sequence[str]) -> list[dict[str, Any]]:
    """LOO comparisons (``arviz.compare`` on ``log_loss``) of fits of the same observations.

    Fits are grouped by study hash; within a study, only fits of the same observations (the
    same runs and languages) can be compared, and the others are listed as not comparable.

    Returns
    -------
    list of dict
        One per study with two fits or more: ``study_hash``, ``fits`` (labels compared),
        ``table`` (the comparison, or None), ``error`` (why it failed, or None),
        ``unavailable`` (True when no two fits share their observations: nothing to compare,
        which is no failure), ``warnings`` (the Pareto k verdict in words, when some k is high),
        ``not_comparable`` (labels of the study's fits fitted to other observations, with
        their observation counts; with ``unavailable``, every fit).
    """
    by_study: dict[str, list[int]] = {}
    for i, fit in enumerate(fits):
        by_study.setdefault(str(fit.meta.get("study_hash", "")), []).append(i)
    out = []
    for study_hash, members in by_study.items():
        if len(members) < 2:
            continue
        groups: dict[tuple[str, int], list[int]] = {}
        for i in members:
            groups.setdefault(observation_key(fits[i]), []).append(i)
        compared = max(groups.values(), key=len)
        others = [i for i in members if i not in compared]
        entry: dict[str, Any] = {
            "study_hash": study_hash,
            "fits": [labels[i] for i in compared],
            "table": None,
            "error": None,
            "unavailable": False,
            "warnings": [],
            "not_comparable": [(labels[i], int(fits[i].data.sizes["obs"])) for i in others],
            "observations": int(fits[compared[0]].data.sizes["obs"]),
        }
        if len(compared) < 2:
            # Variants of different designs (curse, crossover, ...) fit different runs: LOO
            # does not apply, which a reader should not take for a failure.
            entry["unavailable"] = True
            entry["fits"] = []
            entry["not_comparable"] = [(labels[i], int(fits[i].data.sizes["obs"])) for i in members]
        else:
            # The package's comparison (atlas_bayes.comparison), so the report and
            # `atlas-bayes compare` give the same numbers and the same Pareto k verdict.
            try:
                comparison = compare_fits({labels[i]: fits[i] for i in compared})
                entry["table"] = comparison.arviz_table
                if comparison.table["n_high_k"].any():
                    entry["warnings"] = [comparison.pareto_k_summary()]
            except ComparisonError as err:
                entry["error"] = str(err)
            except Exception as err:  # noqa: BLE001 - any failure is reported in words
                entry["error"] = f"{type(err).__name__}: {err}"
        out.append(entry)
    return out


__all__ = [
    "diagnostics_table",
    "loo_comparisons",
    "predictive_check",
]
