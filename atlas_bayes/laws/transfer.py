"""Effective data with cross-lingual transfer (ATLAS), and the BTS <-> tau mapping."""

from typing import Any, Literal

import numpy as np

from atlas_bayes.laws._xp import array_namespace

Interference = Literal["damped", "linear"]


def effective_tokens(
    own_tokens: Any,
    source_tokens: Any,
    transfer: Any,
    interference: Interference = "damped",
) -> Any:
    """ATLAS effective data: the target's own tokens plus transfer-weighted source tokens.

    ``D_eff = S_t + sum_s tau_s * S_s`` (Longpre et al. 2025, eq. 1), where ``S`` are
    (repetition-saturated) token counts and ``tau_s`` the transfer from source ``s``.

    With ``interference="damped"`` (the default) negative transfer cannot drive ``D_eff`` to
    zero or below. Write ``P`` for the sum of the positive contributions and ``Q`` for the
    magnitude of the negative ones; then ``D_eff = (S_t + P) * exp(-Q / (S_t + P))``. This equals
    ``S_t + P - Q`` to first order in ``Q``, is continuous in every ``tau`` and differentiable
    at ``tau = 0`` when no other source interferes (otherwise its slope in that ``tau`` jumps by
    the factor ``1 + Q / (S_t + P)`` there), is positive for every mixture, and lets
    interference grow without bound only as an exponential loss of effective data. Mixtures with
    little interference stay in the linear regime; many interfering sources (a 38-language
    mixture) do not, and need the guard.

    Parameters
    ----------
    own_tokens
        ``S_t``, shape ``(...)``: the target language's own (saturated) tokens.
    source_tokens
        ``S_s``, shape ``(..., n_sources)``: the (saturated) tokens of each source language.
    transfer
        ``tau_s``, broadcastable against ``source_tokens``; any sign.
    interference
        ``"damped"`` (positive for every mixture) or ``"linear"`` (the paper's printed form,
        which can go negative).

    Returns
    -------
    array or tensor
        ``D_eff``, shape ``(...)``.
    """
    xp = array_namespace(own_tokens, source_tokens, transfer)
    contributions = transfer * source_tokens
    if interference == "linear":
        return own_tokens + xp.sum(contributions, axis=-1)
    if interference != "damped":
        raise ValueError(f"interference must be 'damped' or 'linear', got {interference!r}")
    gains = own_tokens + xp.sum(xp.maximum(contributions, 0.0), axis=-1)
    losses = xp.sum(xp.maximum(-contributions, 0.0), axis=-1)
    return gains * xp.exp(-losses / gains)


def matrix_effective_tokens(
    tokens: Any,
    target_index: Any,
    transfer_matrix: Any,
    interference: Interference = "damped",
) -> Any:
    """Effective tokens for many observations from a full transfer matrix.

    Parameters
    ----------
    tokens
        Saturated tokens by language, shape ``(n_obs, n_languages)``; column ``j`` is language
        ``j`` of the matrix.
    target_index
        Integer array ``(n_obs,)``: the evaluated (target) language of each observation.
    transfer_matrix
        ``tau[target, source]``, shape ``(n_targets, n_languages)``; row ``t`` is indexed by
        ``target_index``. The diagonal (``target == source``) is ignored: a language's own
        tokens always count with weight 1.
    interference
        See :func:`effective_tokens`.

    Returns
    -------
    array or tensor
        ``D_eff`` of shape ``(n_obs,)``.
    """
    xp = array_namespace(tokens, transfer_matrix)
    target_index = np.asarray(target_index)
    # A language's own tokens are pulled out of the source sum by a one-hot mask, so the matrix
    # diagonal never enters (whatever value it holds).
    is_own = xp.equal(xp.arange(tokens.shape[-1])[None, :], target_index[:, None])
    own = xp.sum(xp.where(is_own, tokens, 0.0), axis=-1)
    sources = xp.where(is_own, 0.0, tokens)
    rows = transfer_matrix[target_index]
    return effective_tokens(own, sources, rows, interference=interference)


def top_sources_effective_tokens(
    own_tokens: Any,
    top_source_tokens: Any,
    top_transfer: Any,
    other_tokens: Any,
    other_transfer: Any,
    interference: Interference = "linear",
) -> Any:
    """The paper's form: the target, its top co-sampled sources, and everything else pooled.

    ``D_eff = S(D_t) + sum_{i in K_t} tau_i S(D_i) + tau_other S(D_other)``, with ``K_t`` the
    (usually 3) languages most often co-sampled with the target.

    Parameters
    ----------
    own_tokens
        ``S(D_t)``, shape ``(...)``.
    top_source_tokens, top_transfer
        ``S(D_i)`` and ``tau_i`` for the top sources, shape ``(..., k)``.
    other_tokens, other_transfer
        ``S(D_other)`` and ``tau_other``, shape ``(...)``.
    interference
        ``"linear"`` (default, as printed) or ``"damped"``; see :func:`effective_tokens`.

    Returns
    -------
    array or tensor
        ``D_eff``, shape ``(...)``.
    """
    xp = array_namespace(own_tokens, top_source_tokens, top_transfer, other_tokens, other_transfer)
    top_source_tokens, top_transfer = xp.broadcast_arrays(top_source_tokens, top_transfer)
    other_tokens, other_transfer = xp.broadcast_arrays(other_tokens, other_transfer)
    sources = xp.concatenate([top_source_tokens, xp.expand_dims(other_tokens, -1)], axis=-1)
    transfer = xp.concatenate([top_transfer, xp.expand_dims(other_transfer, -1)], axis=-1)
    return effective_tokens(own_tokens, sources, transfer, interference=interference)


def transfer_to_bts(transfer: Any) -> Any:
    """Bilingual transfer score equivalent to a transfer weight: ``BTS = 2 tau / (1 + tau)``.

    With ``D_eff = D_t + tau * D_s``, no repetition and a 50/50 bilingual run, the bilingual
    model reaches the monolingual loss at ``d_mono`` after ``2 d_mono / (1 + tau)`` tokens, so
    ``BTS = (2 d_mono - sigma_bi) / d_mono = 2 tau / (1 + tau)``.

    Parameters
    ----------
    transfer
        tau > -1.

    Returns
    -------
    array
        BTS, in (-inf, 2).
    """
    return 2.0 * transfer / (1.0 + transfer)


def bts_to_transfer(bts: Any) -> Any:
    """Transfer weight equivalent to a bilingual transfer score: ``tau = BTS / (2 - BTS)``.

    Parameters
    ----------
    bts
        Bilingual transfer score, < 2.

    Returns
    -------
    array
        tau, the inverse of :func:`transfer_to_bts`.
    """
    return bts / (2.0 - bts)
