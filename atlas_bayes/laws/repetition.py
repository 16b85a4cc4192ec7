"""Repetition saturation: what repeated epochs of a finite corpus are worth."""

from typing import Any

from atlas_bayes.laws._xp import array_namespace

#: Unique tokens standing for "not data-constrained". The law needs a finite number (``inf``
#: would turn ``inf * 0`` into NaN in gradients); at 1e30 the saturation is exactly the identity
#: for any realistic token count.
UNCONSTRAINED_UNIQUE_TOKENS = 1e30


def repetition_saturation(tokens: Any, unique_tokens: Any, decay: Any) -> Any:
    """Effective tokens ``S(D; U, lambda)`` of ``tokens`` seen from ``unique_tokens`` unique ones.

    ``S = D`` for ``D <= U`` (at most one epoch) and
    ``S = U * (1 + (1 - exp(-lambda * (D / U - 1))) / lambda)`` beyond, the repetition term of
    Muennighoff et al. 2023 with ``R_D* = 1 / lambda``. ``S`` is continuous with slope 1 at
    ``D = U`` and tends to ``U * (1 + 1 / lambda)`` as ``D`` grows: repeated data is worth less
    each epoch and at most ``1 / lambda`` extra corpora.

    Parameters
    ----------
    tokens
        D, tokens seen in training with repeats counted, >= 0.
    unique_tokens
        U, unique tokens available, > 0 and finite; use
        :data:`UNCONSTRAINED_UNIQUE_TOKENS` for a corpus that is never repeated.
    decay
        lambda > 0, the per-epoch decay of the value of repeated tokens.

    Returns
    -------
    array or tensor
        Effective tokens, same broadcast shape as the inputs.
    """
    xp = array_namespace(tokens, unique_tokens, decay)
    # Written with min/max instead of a branch so that both numpy and PyTensor evaluate one
    # expression and gradients stay finite on both sides of D = U.
    excess_epochs = xp.maximum(tokens - unique_tokens, 0.0) / unique_tokens
    return (
        xp.minimum(tokens, unique_tokens) - unique_tokens * xp.expm1(-decay * excess_epochs) / decay
    )
