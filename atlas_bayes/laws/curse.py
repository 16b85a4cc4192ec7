"""The curse of multilinguality: loss with K languages, and iso-loss multipliers."""

from typing import Any, NamedTuple


def curse_loss(
    params: Any,
    tokens_per_language: Any,
    n_languages: Any,
    E: Any,
    A: Any,
    B: Any,
    alpha: Any,
    beta: Any,
    phi: Any,
    psi: Any,
) -> Any:
    """Loss on one language of a model trained on ``K`` languages sampled uniformly.

    ``L(K, N, D_t) = E + A * K**phi / N**alpha + B * K**psi / D_t**beta`` (Longpre et al.
    2025, Sec. 4), with ``D_t`` the tokens of the evaluated language and ``K * D_t`` the total.
    ``phi > 0`` is the capacity cost of more languages; ``psi < 0`` the data benefit.

    Parameters
    ----------
    params, tokens_per_language, n_languages
        N, D_t and K.
    E, A, B, alpha, beta
        The per-language loss law (``E`` is the paper's ``L_inf``).
    phi, psi
        Exponents of K on the parameter and the data term.

    Returns
    -------
    array or tensor
        The loss.
    """
    return (
        E + A * n_languages**phi / params**alpha + B * n_languages**psi / tokens_per_language**beta
    )


class IsoLossMultipliers(NamedTuple):
    """Factors by which to scale a run when going from K to r*K languages at equal loss."""

    params: Any
    """Parameters N: ``r**(phi / alpha)``."""
    tokens_per_language: Any
    """Tokens of each language D_t: ``r**(psi / beta)``."""
    total_tokens: Any
    """All tokens K D_t: ``r**(1 + psi / beta)``."""
    compute: Any
    """Compute 6 N K D_t: ``r**(1 + phi / alpha + psi / beta)``."""


def iso_loss_multipliers(
    ratio: Any, phi: Any, psi: Any, alpha: Any, beta: Any
) -> IsoLossMultipliers:
    """Multipliers that keep every language's loss unchanged when K becomes ``ratio * K``.

    Scaling ``N`` by ``r**(phi/alpha)`` leaves ``K**phi / N**alpha`` unchanged and scaling
    ``D_t`` by ``r**(psi/beta)`` leaves ``K**psi / D_t**beta`` unchanged, so each term of
    :func:`curse_loss` is kept term by term. Because the map is term by term it also carries the
    compute-optimal point for K onto the one for ``r*K``.

    Parameters
    ----------
    ratio
        r = K' / K (2 for doubling).
    phi, psi, alpha, beta
        Exponents of :func:`curse_loss`.

    Returns
    -------
    IsoLossMultipliers
        The four multipliers, each broadcast over the inputs (for example posterior draws).
    """
    params_exponent = phi / alpha
    data_exponent = psi / beta
    return IsoLossMultipliers(
        params=ratio**params_exponent,
        tokens_per_language=ratio**data_exponent,
        total_tokens=ratio ** (1.0 + data_exponent),
        compute=ratio ** (1.0 + params_exponent + data_exponent),
    )
