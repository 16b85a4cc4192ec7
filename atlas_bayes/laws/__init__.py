"""The scaling laws as pure functions that numpy arrays and PyTensor tensors both run.

Each law is written once: numpy evaluates it over posterior draws and the PyMC models build
their likelihood from the same function on tensors.
"""

from atlas_bayes.laws.compute_optimal import (
    FLOPS_PER_PARAM_TOKEN,
    Allocation,
    compute_for_loss,
    compute_optimal_allocation,
)
from atlas_bayes.laws.crossover import crossover_tokens, finetuned_loss
from atlas_bayes.laws.curse import IsoLossMultipliers, curse_loss, iso_loss_multipliers
from atlas_bayes.laws.loss import chinchilla_log_loss, chinchilla_loss
from atlas_bayes.laws.repetition import UNCONSTRAINED_UNIQUE_TOKENS, repetition_saturation
from atlas_bayes.laws.transfer import (
    bts_to_transfer,
    effective_tokens,
    matrix_effective_tokens,
    top_sources_effective_tokens,
    transfer_to_bts,
)

__all__ = [
    "FLOPS_PER_PARAM_TOKEN",
    "UNCONSTRAINED_UNIQUE_TOKENS",
    "Allocation",
    "IsoLossMultipliers",
    "bts_to_transfer",
    "chinchilla_log_loss",
    "chinchilla_loss",
    "compute_for_loss",
    "compute_optimal_allocation",
    "crossover_tokens",
    "curse_loss",
    "effective_tokens",
    "finetuned_loss",
    "iso_loss_multipliers",
    "matrix_effective_tokens",
    "repetition_saturation",
    "top_sources_effective_tokens",
    "transfer_to_bts",
]
