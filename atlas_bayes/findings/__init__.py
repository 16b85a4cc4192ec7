"""ATLAS's three findings as posteriors: the transfer matrix, the curse, the crossover.

Each function takes a fit of the matching variant and returns draws (xarray, with ``chain``
and ``draw``) or tidy tables made with :func:`atlas_bayes.summaries.summarise_draws`.
"""

from atlas_bayes.findings.crossover import (
    crossover_compute_law,
    crossover_table,
    crossover_tokens_draws,
)
from atlas_bayes.findings.curse import curse_exponents, curse_multipliers, multiplier_table
from atlas_bayes.findings.transfer import source_ranking, transfer_summary

__all__ = [
    "crossover_compute_law",
    "crossover_table",
    "crossover_tokens_draws",
    "curse_exponents",
    "curse_multipliers",
    "multiplier_table",
    "source_ranking",
    "transfer_summary",
]
