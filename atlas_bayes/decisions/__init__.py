"""Recommendations as posteriors: every decision is computed draw by draw from a fit.

Each function takes a fit and a request and returns a :class:`Decision` (draws with chain and
draw dimensions, units, notes) whose :meth:`Decision.summary` is the tidy table users read.
"""

from atlas_bayes.decisions.result import (
    SUMMARY_FIELDS,
    Decision,
    DecisionError,
    probability_below,
    quantile,
    risk_summary,
)

__all__ = [
    "SUMMARY_FIELDS",
    "Decision",
    "DecisionError",
    "probability_below",
    "quantile",
    "risk_summary",
]
