"""Pretrain from scratch vs finetune a multilingual checkpoint: curves and their crossover."""

from collections.abc import Callable
from typing import Any

import numpy as np


def finetuned_loss(
    params: Any,
    tokens: Any,
    head_start_tokens: Any,
    penalty: Any,
    E: Any,
    A: Any,
    B: Any,
    alpha: Any,
    beta: Any,
) -> Any:
    """Loss of continued training on one language from a multilingual checkpoint.

    The "head start plus penalty" form: the checkpoint already holds ``H`` effective tokens of
    the language (its own share plus transfer), which the new tokens add to, and it pays a fixed
    ``penalty`` in loss for the capacity it spent on other languages:
    ``L_ft(D) = E + A/N**alpha + B/(H + D)**beta + penalty``. Finetuning therefore leads early
    (the head start dominates) and pretraining from scratch, ``E + A/N**alpha + B/D**beta``,
    overtakes it once the head start is worth less than the penalty.

    Parameters
    ----------
    params
        N, the shared model size.
    tokens
        D, effective tokens of continued training (saturate them first when data-constrained).
    head_start_tokens
        H >= 0, effective tokens of the language already in the checkpoint.
    penalty
        Asymptotic loss penalty >= 0 of starting from the multilingual checkpoint.
    E, A, B, alpha, beta
        The language's loss law.

    Returns
    -------
    array or tensor
        The loss.
    """
    return E + A / params**alpha + B / (head_start_tokens + tokens) ** beta + penalty


def crossover_tokens(
    loss_difference: Callable[[np.ndarray], np.ndarray],
    low: float,
    high: float,
    grid_points: int = 256,
    bisection_steps: int = 60,
) -> np.ndarray:
    """Tokens where two loss curves first cross, for a whole batch of curve pairs at once.

    ``loss_difference(D)`` returns ``L_a(D) - L_b(D)`` for tokens ``D`` of shape
    ``(n, 1, ..., 1)`` broadcast against the batch (posterior draws, languages, sizes). The
    crossover is the first ``D`` in ``[low, high]`` at which the difference changes sign; it is
    bracketed on a log-spaced grid and refined by bisection in ``log D``.

    Parameters
    ----------
    loss_difference
        Vectorised ``L_a - L_b`` as a function of tokens.
    low, high
        Token range searched, ``0 < low < high``.
    grid_points
        Points of the bracketing grid; crossings closer together than one grid step may be
        missed (two crossings in one step cancel).
    bisection_steps
        Bisection halvings of the bracketing interval in ``log D``; 60 reaches float precision.

    Returns
    -------
    numpy.ndarray
        Crossover tokens with the batch shape; NaN where the curves do not cross in range.
    """
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got low={low}, high={high}")
    log_grid = np.linspace(np.log(low), np.log(high), grid_points)
    batch_ndim = np.ndim(loss_difference(np.float64(low)))
    shaped_grid = log_grid.reshape((-1,) + (1,) * batch_ndim)
    sign = np.sign(np.asarray(loss_difference(np.exp(shaped_grid))))
    changes = sign[:-1] * sign[1:] <= 0
    has_crossing = changes.any(axis=0)
    first = np.argmax(changes, axis=0)
    lo = np.take_along_axis(np.broadcast_to(shaped_grid[:-1], changes.shape), first[None], axis=0)[
        0
    ]
    hi = lo + (log_grid[1] - log_grid[0])
    sign_lo = np.take_along_axis(sign[:-1], first[None], axis=0)[0]
    for _ in range(bisection_steps):
        mid = 0.5 * (lo + hi)
        same_side = np.sign(np.asarray(loss_difference(np.exp(mid)))) == sign_lo
        lo = np.where(same_side, mid, lo)
        hi = np.where(same_side, hi, mid)
    return np.where(has_crossing, np.exp(0.5 * (lo + hi)), np.nan)
