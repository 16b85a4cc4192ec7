"""Compute-optimal allocation as a posterior: N*, D* and the loss at a budget, and the inverse.

For each posterior draw of a language's law ``L = E + A / N**alpha + B / D**beta`` (see
:func:`~atlas_bayes.decisions.parameters.law_parameters`) the closed forms of
:func:`atlas_bayes.laws.compute_optimal_allocation` and :func:`atlas_bayes.laws.compute_for_loss`
give the allocation; the decision is their distribution over draws. Everything is vectorised
over draws and budgets at once (numpy broadcasting, no loop over draws).

The run is monolingual and its data unrepeated (the Chinchilla form): ``D`` is the tokens of
the language, which for the ATLAS laws are then its effective tokens. A note says when the
optimal tokens exceed the language's unique tokens (the optimum with repetition is not
computed). For a ``curse`` fit the run trains on ``K`` languages sampled uniformly, so
``D = K * D_t`` and ``C = k N K D_t``, and ``tokens_per_language`` (``D_t``) is reported too.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from atlas_bayes import laws
from atlas_bayes.decisions.parameters import (
    ABSOLUTE_PARAMETERS,
    FittedRange,
    as_draws,
    extrapolation_note,
    far_outside,
    fitted_range,
    flat_parameters,
    law_parameters,
    require_positive,
)
from atlas_bayes.decisions.result import Decision, DecisionError
from atlas_bayes.laws import FLOPS_PER_PARAM_TOKEN

#: Unit of each quantity an allocation decision reports.
UNITS = {
    "params": "parameters",
    "tokens": "tokens",
    "tokens_per_language": "tokens",
    "tokens_per_param": "tokens per parameter",
    "loss": "nats per token",
    "compute": "FLOPs",
    "reachable": "indicator (mean = probability)",
}


def _budgets(budgets: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Budgets as a 1-D float array; :class:`DecisionError` unless all finite and > 0."""
    values = np.atleast_1d(np.asarray(budgets, dtype=float))
    if values.ndim != 1 or values.size == 0:
        raise DecisionError(f"budgets must be a non-empty list of FLOPs, got shape {values.shape}")
    bad = values[~(np.isfinite(values) & (values > 0))]
    if bad.size:
        raise DecisionError(
            f"compute budgets must be finite and > 0 FLOPs, got {', '.join(map(str, bad[:5]))}"
        )
    return values


def _languages(fit: Any, n_languages: float | None) -> float:
    """K of the run (1 for the single-language laws, which refuse ``n_languages``)."""
    return 1.0 if fit.spec.law != "curse" or n_languages is None else float(n_languages)


def _allocation_draws(
    fit: Any,
    language: str,
    budgets: np.ndarray,
    flops_per_param_token: float,
    n_languages: float | None,
) -> dict[str, np.ndarray]:
    """The allocation of every draw at every budget, arrays ``(draws, budgets)``."""
    p = flat_parameters(law_parameters(fit, language, n_languages))
    E, A, B, alpha, beta = (p[name][:, None] for name in ABSOLUTE_PARAMETERS)  # noqa: N806
    count = _languages(fit, n_languages)
    # K languages share the tokens: the per-language law sees D_t = D / K of the budget.
    point = laws.compute_optimal_allocation(
        budgets[None, :] / count, E, A, B, alpha, beta, flops_per_param_token
    )
    out = {
        "params": point.params,
        "tokens": count * point.tokens,
        "tokens_per_param": count * point.tokens_per_param,
        "loss": point.loss,
    }
    if fit.spec.law == "curse":
        out["tokens_per_language"] = point.tokens
    return out


def _repetition_note(
    language: str, own_tokens: np.ndarray, extent: FittedRange, where: str = ""
) -> str | None:
    """Say when the allocation needs more tokens of the language than it has unique ones."""
    if extent.unique_tokens is None:
        return None
    # A draw counts once, whichever of its budgets runs out of unique data.
    beyond = np.reshape(own_tokens > extent.unique_tokens, (len(own_tokens), -1)).any(axis=1)
    share = float(beyond.mean())
    if share == 0:
        return None
    return (
        f"repetition: the tokens of {language} exceed its {extent.unique_tokens:.3g} unique "
        f"tokens in {share:.0%} of draws{where}; the allocation assumes unrepeated data (the "
        "Chinchilla form) and is optimistic there"
    )


def _inputs(
    fit: Any, language: str, flops_per_param_token: float, n_languages: float | None, **request
) -> dict[str, Any]:
    inputs = {"variant": fit.spec.name, "language": language, **request}
    inputs["flops_per_param_token"] = flops_per_param_token
    if n_languages is not None:
        inputs["n_languages"] = n_languages
    return inputs


def _frontier(
    fit: Any,
    language: str,
    budgets: np.ndarray,
    flops_per_param_token: float,
    n_languages: float | None,
) -> tuple[dict[str, np.ndarray], list[str], FittedRange]:
    """Allocation draws and notes (extrapolation, repetition) for validated budgets."""
    require_positive("flops_per_param_token", flops_per_param_token)
    values = _allocation_draws(fit, language, budgets, flops_per_param_token, n_languages)
    extent = fitted_range(fit, language, flops_per_param_token)
    notes = [
        note
        for note in (
            extrapolation_note("the compute budget", budgets, extent.compute, "FLOPs"),
            _repetition_note(
                language,
                values.get("tokens_per_language", values["tokens"]),
                extent,
                "" if budgets.size == 1 else " (at one budget or more)",
            ),
        )
        if note is not None
    ]
    return values, notes, extent


def compute_optimal(
    fit: Any,
    language: str,
    compute: float,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
    n_languages: float | None = None,
) -> Decision:
    """Compute-optimal model size and tokens for ``language`` at a compute budget.

    Parameters
    ----------
    fit
        A fit whose law has ``E, a, b, alpha, beta`` (every law but the transfer-only ones).
    language
        The target language.
    compute
        Training FLOPs C, finite and > 0; ``C = flops_per_param_token * N * D``.
    flops_per_param_token
        k in ``C = k N D`` (6: forward and backward pass).
    n_languages
        K for a ``curse`` fit (required there): the run trains on K languages uniformly.

    Returns
    -------
    Decision
        ``params`` (N*), ``tokens`` (D*, all languages), ``tokens_per_param`` (D*/N*) and
        ``loss`` (the expected loss on the language at N*, D*), each ``(chain, draw)``; a
        ``curse`` fit adds ``tokens_per_language``. Notes flag a budget more than 10x outside
        the fitted compute, and optimal tokens beyond the language's unique tokens.

    Raises
    ------
    DecisionError
        Unknown language, a law without this form, a non-positive or non-finite budget.
    """
    budget = _budgets(compute)
    if budget.size != 1:
        raise DecisionError("compute_optimal takes one budget; use compute_frontier for several")
    values, notes, _ = _frontier(fit, language, budget, flops_per_param_token, n_languages)
    draws = as_draws({k: v[:, 0] for k, v in values.items()}, fit.posterior)
    return Decision(
        question=f"compute-optimal allocation for {language} at {budget[0]:.3g} FLOPs",
        draws=draws,
        units={name: UNITS[name] for name in draws.data_vars},
        inputs=_inputs(fit, language, flops_per_param_token, n_languages, compute=budget[0]),
        notes=tuple(notes),
    )


def compute_frontier(
    fit: Any,
    language: str,
    budgets: Sequence[float] | np.ndarray,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
    n_languages: float | None = None,
) -> Decision:
    """The compute-optimal allocation over a grid of budgets: a frontier with bands.

    Parameters
    ----------
    fit, language, flops_per_param_token, n_languages
        As for :func:`compute_optimal`.
    budgets
        Training FLOPs, each finite and > 0 (for example ``np.geomspace(1e18, 1e24, 100)``).

    Returns
    -------
    Decision
        The quantities of :func:`compute_optimal` with dimensions ``(chain, draw, budget)``;
        the ``budget`` coordinate holds the budgets and the boolean coordinate
        ``extrapolated`` marks those more than 10x outside the fitted compute (also in a note).
    """
    grid = _budgets(budgets)
    values, notes, extent = _frontier(fit, language, grid, flops_per_param_token, n_languages)
    draws = as_draws(values, fit.posterior, {"budget": grid})
    flagged = np.array([far_outside(b, extent.compute) for b in grid])
    draws = draws.assign_coords(extrapolated=("budget", flagged))
    return Decision(
        question=(
            f"compute-optimal frontier for {language} over {grid.size} budgets "
            f"({grid.min():.3g}-{grid.max():.3g} FLOPs)"
        ),
        draws=draws,
        units={name: UNITS[name] for name in draws.data_vars},
        inputs=_inputs(fit, language, flops_per_param_token, n_languages, budgets=grid.tolist()),
        notes=tuple(notes),
    )


def compute_for_target_loss(
    fit: Any,
    language: str,
    loss: float,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
    n_languages: float | None = None,
) -> Decision:
    """The least compute (and its N, D) that reaches a target loss on ``language``.

    Parameters
    ----------
    fit, language, flops_per_param_token, n_languages
        As for :func:`compute_optimal`.
    loss
        Target loss in nats per token, finite and > 0.

    Returns
    -------
    Decision
        ``compute``, ``params``, ``tokens`` (all languages; plus ``tokens_per_language`` for a
        ``curse`` fit) and ``reachable``, each ``(chain, draw)``. A target at or below a draw's
        irreducible loss ``E`` cannot be reached: that draw's compute, params and tokens are NaN
        (summaries use the other draws) and its ``reachable`` is 0, so the mean of
        ``reachable`` is P(target reachable); a note states it when some draws cannot reach it.
    """
    target = require_positive("target loss", loss)
    require_positive("flops_per_param_token", flops_per_param_token)
    p = flat_parameters(law_parameters(fit, language, n_languages))
    count = _languages(fit, n_languages)
    point = laws.compute_for_loss(
        target, *(p[name] for name in ABSOLUTE_PARAMETERS), flops_per_param_token
    )
    reachable = np.isfinite(point.compute)
    values = {
        # The per-language law: compute C / K buys D_t tokens of each of the K languages.
        "compute": count * point.compute,
        "params": point.params,
        "tokens": count * point.tokens,
    }
    if fit.spec.law == "curse":
        values["tokens_per_language"] = point.tokens
    values = {k: np.where(reachable, v, np.nan) for k, v in values.items()}
    values["reachable"] = reachable.astype(float)
    extent = fitted_range(fit, language, flops_per_param_token)
    share = float(reachable.mean())
    notes = []
    if share < 1:
        notes.append(
            f"unreachable: the target loss {target:g} is at or below the irreducible loss E in "
            f"{int((~reachable).sum())} of {reachable.size} draws (P(reachable) = {share:.4g}); "
            "compute, params and tokens are summarised over the reachable draws"
        )
    if share > 0:
        needed = float(np.nanmedian(values["compute"]))
        note = extrapolation_note("the median compute needed", [needed], extent.compute, "FLOPs")
        if note is not None:
            notes.append(note)
        repetition = _repetition_note(
            language, values.get("tokens_per_language", values["tokens"]), extent
        )
        if repetition is not None:
            notes.append(repetition)
    draws = as_draws(values, fit.posterior)
    return Decision(
        question=f"compute needed to reach loss {target:g} on {language}",
        draws=draws,
        units={name: UNITS[name] for name in draws.data_vars},
        inputs=_inputs(fit, language, flops_per_param_token, n_languages, loss=target),
        notes=tuple(notes),
    )


__all__ = ["compute_for_target_loss", "compute_frontier", "compute_optimal"]
