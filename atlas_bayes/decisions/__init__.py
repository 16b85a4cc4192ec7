"""Recommendations as posteriors: every decision is computed draw by draw from a fit.

Each function takes a fit and a request and returns a :class:`Decision` (draws with chain and
draw dimensions, units, notes) whose :meth:`Decision.summary` is the tidy table users read.
"""

from atlas_bayes.decisions.allocation import (
    compute_for_target_loss,
    compute_frontier,
    compute_optimal,
)
from atlas_bayes.decisions.languages import add_languages
from atlas_bayes.decisions.mixture import (
    MixtureDecision,
    default_unique_tokens,
    mixture_loss,
    optimise_mixture,
    unimax_weights,
)
from atlas_bayes.decisions.parameters import FittedRange, fitted_range, law_parameters
from atlas_bayes.decisions.pretrain import pretrain_or_finetune
from atlas_bayes.decisions.result import (
    SUMMARY_FIELDS,
    Decision,
    DecisionError,
    probability_below,
    quantile,
    risk_summary,
)
from atlas_bayes.decisions.sources import rank_sources, source_table

__all__ = [
    "SUMMARY_FIELDS",
    "Decision",
    "DecisionError",
    "FittedRange",
    "MixtureDecision",
    "add_languages",
    "compute_for_target_loss",
    "compute_frontier",
    "compute_optimal",
    "default_unique_tokens",
    "fitted_range",
    "law_parameters",
    "mixture_loss",
    "optimise_mixture",
    "pretrain_or_finetune",
    "probability_below",
    "quantile",
    "rank_sources",
    "risk_summary",
    "source_table",
    "unimax_weights",
]
