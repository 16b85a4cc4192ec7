"""Compute-optimal allocation for the Chinchilla-form law, and its inverse."""

from typing import Any, NamedTuple

import numpy as np

#: Training FLOPs per parameter per token (forward and backward), the usual C = 6 N D.
FLOPS_PER_PARAM_TOKEN = 6.0


class Allocation(NamedTuple):
    """A compute-optimal training run."""

    params: Any
    """N*, parameters."""
    tokens: Any
    """D*, training tokens."""
    tokens_per_param: Any
    """D* / N*."""
    loss: Any
    """Predicted loss at (N*, D*)."""
    compute: Any
    """Training FLOPs, ``flops_per_param_token * N* * D*``."""


def compute_optimal_allocation(
    compute: Any,
    E: Any,
    A: Any,
    B: Any,
    alpha: Any,
    beta: Any,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
) -> Allocation:
    """Parameters and tokens that minimise ``E + A/N**alpha + B/D**beta`` at compute ``C``.

    With ``C = k N D`` the minimum has ``N* = G (C/k)**(beta/(alpha+beta))`` and
    ``D* = (C/k)**(alpha/(alpha+beta)) / G`` with ``G = (alpha A / (beta B))**(1/(alpha+beta))``
    (Hoffmann et al. 2022, eq. 4).

    Parameters
    ----------
    compute
        Training FLOPs C, > 0.
    E, A, B, alpha, beta
        The loss law (``B`` and ``beta`` on effective tokens for ATLAS; pass per-draw arrays to
        get the allocation per posterior draw).
    flops_per_param_token
        k in ``C = k N D``; 6 by default.

    Returns
    -------
    Allocation
        N*, D*, D*/N*, the loss there and the compute.
    """
    scale = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    budget = compute / flops_per_param_token
    params = scale * budget ** (beta / (alpha + beta))
    tokens = budget ** (alpha / (alpha + beta)) / scale
    loss = E + A / params**alpha + B / tokens**beta
    return Allocation(
        params, tokens, tokens / params, loss, flops_per_param_token * params * tokens
    )


def compute_for_loss(
    target_loss: Any,
    E: Any,
    A: Any,
    B: Any,
    alpha: Any,
    beta: Any,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
) -> Allocation:
    """The least compute (and its N, D) that reaches ``target_loss``.

    At the compute-optimal point the two reducible terms stand in the fixed ratio
    ``B/D**beta = (alpha/beta) * A/N**alpha`` (the Lagrange condition), so a target loss fixes
    each term: ``A/N**alpha = (L - E) * beta / (alpha + beta)``. Targets at or below ``E`` are
    unreachable and give ``inf`` compute.

    Parameters
    ----------
    target_loss
        The loss to reach.
    E, A, B, alpha, beta
        The loss law.
    flops_per_param_token
        k in ``C = k N D``.

    Returns
    -------
    Allocation
        N, D, D/N, the loss (equal to ``target_loss`` where reachable) and the compute.
    """
    reducible = np.asarray(target_loss - E, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        reachable = reducible > 0
        safe = np.where(reachable, reducible, np.nan)
        params_term = safe * beta / (alpha + beta)
        tokens_term = safe * alpha / (alpha + beta)
        params = np.where(reachable, (A / params_term) ** (1.0 / alpha), np.inf)
        tokens = np.where(reachable, (B / tokens_term) ** (1.0 / beta), np.inf)
        loss = np.where(reachable, target_loss, np.nan)
        return Allocation(
            params, tokens, tokens / params, loss, flops_per_param_token * params * tokens
        )
