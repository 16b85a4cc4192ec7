"""The Chinchilla loss law, in the direct and the log-sum-exp form."""

from typing import Any

from atlas_bayes.laws._xp import array_namespace


def chinchilla_loss(params: Any, tokens: Any, E: Any, A: Any, B: Any, alpha: Any, beta: Any) -> Any:
    """Loss of a model with ``params`` parameters trained on ``tokens`` tokens.

    ``L(N, D) = E + A / N**alpha + B / D**beta`` (Hoffmann et al. 2022). With ``tokens`` replaced
    by the effective tokens of :func:`atlas_bayes.laws.effective_tokens` this is the ATLAS law.

    Parameters
    ----------
    params, tokens
        N and D (or D_eff), broadcastable arrays or PyTensor tensors, > 0.
    E, A, B, alpha, beta
        Irreducible loss, coefficients and exponents, broadcastable against ``params``.

    Returns
    -------
    array or tensor
        The loss, in the units of ``E`` (nats per token in this package).
    """
    return E + A / params**alpha + B / tokens**beta


def chinchilla_log_loss(
    log_params: Any, log_tokens: Any, log_E: Any, log_A: Any, log_B: Any, alpha: Any, beta: Any
) -> Any:
    """Log-loss of the Chinchilla law in the numerically stable log-sum-exp form.

    ``log L = logsumexp(log A - alpha log N, log B - beta log D, log E)``, the form the ATLAS
    authors' public fitting code uses. It never forms ``N**alpha`` and so stays finite for any
    exponent; likelihoods on log-loss use it directly.

    Parameters
    ----------
    log_params, log_tokens
        Natural logs of N and D (or D_eff).
    log_E, log_A, log_B
        Natural logs of E, A and B.
    alpha, beta
        Exponents.

    Returns
    -------
    array or tensor
        ``log L``.
    """
    xp = array_namespace(log_params, log_tokens, log_E, log_A, log_B, alpha, beta)
    return xp.logaddexp(xp.logaddexp(log_A - alpha * log_params, log_B - beta * log_tokens), log_E)
