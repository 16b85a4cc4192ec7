"""The mean log-loss of a variant, written once for PyTensor (the model) and numpy (draws).

``predicted_log_loss`` maps per-observation parameter values and the fit data to the law's
log-loss. The PyMC model calls it on tensors; prediction calls it on posterior draws with
leading ``(chain, draw)`` dimensions.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from atlas_bayes import laws
from atlas_bayes.laws._xp import array_namespace

#: Law parameters indexed by language (as opposed to by (language, slot) or shared).
LANGUAGE_PARAMETERS = ("log_E", "log_a", "log_b", "alpha", "beta", "log_decay", "tau_other")


def predicted_log_loss(
    law: str,
    theta: Mapping[str, Any],
    inputs: Mapping[str, Any],
    params_ref: float,
    tokens_ref: float,
    interference: str = "damped",
) -> Any:
    """Log-loss predicted by ``law`` for every observation.

    Parameters
    ----------
    law
        ``chinchilla``, ``data_constrained`` or ``atlas``.
    theta
        Per-observation parameter values: ``log_E``, ``log_a``, ``log_b``, ``alpha``, ``beta``
        (and ``log_decay``, ``tau_other``) of shape ``(..., obs)``; ``tau_top`` of shape
        ``(..., obs, slot)``. Leading dimensions (posterior draws) broadcast.
    inputs
        ``log_params`` (obs), ``tokens`` and ``unique_tokens`` (obs, source), ``is_own`` and
        ``is_other`` (obs, source, bool), ``top_rows``/``top_cols`` (obs, slot) index arrays
        into (obs, source) and ``top_valid`` (obs, slot, bool).
    params_ref, tokens_ref
        Reference scales at which log N and log D are centred.
    interference
        See :func:`atlas_bayes.laws.effective_tokens`.

    Returns
    -------
    array or tensor
        ``log L`` of shape ``(..., obs)``.
    """
    xp = array_namespace(*theta.values(), *inputs.values())
    tokens = inputs["tokens"]
    if law == "chinchilla":
        own = xp.sum(xp.where(inputs["is_own"], tokens, 0.0), axis=-1)
        log_tokens = xp.log(own)
    else:
        decay = xp.exp(theta["log_decay"])[..., None]
        saturated = laws.repetition_saturation(tokens, inputs["unique_tokens"], decay)
        own = xp.sum(xp.where(inputs["is_own"], saturated, 0.0), axis=-1)
        if law == "data_constrained":
            log_tokens = xp.log(own)
        elif law == "atlas":
            top = xp.where(
                inputs["top_valid"], saturated[..., inputs["top_rows"], inputs["top_cols"]], 0.0
            )
            other = xp.sum(xp.where(inputs["is_other"], saturated, 0.0), axis=-1)
            effective = laws.top_sources_effective_tokens(
                own, top, theta["tau_top"], other, theta["tau_other"], interference=interference
            )
            log_tokens = xp.log(effective)
        else:
            raise ValueError(f"unknown law {law!r}")
    return laws.chinchilla_log_loss(
        inputs["log_params"] - np.log(params_ref),
        log_tokens - np.log(tokens_ref),
        theta["log_E"],
        theta["log_a"],
        theta["log_b"],
        theta["alpha"],
        theta["beta"],
    )


def model_inputs(data: Any) -> dict[str, np.ndarray]:
    """Numpy inputs of :func:`predicted_log_loss` from a fit-data Dataset."""
    n_obs = data.sizes["obs"]
    target_source = data["target_source"].values
    source = np.arange(data.sizes["source"])
    is_own = source[None, :] == target_source[:, None]
    top = data["top_source"].values[data["target"].values]  # (obs, slot)
    top_valid = top >= 0
    return {
        "log_params": data["log_params"].values,
        "tokens": data["tokens"].values,
        "unique_tokens": data["unique_tokens"].values,
        "is_own": is_own,
        "is_other": data["is_other"].values.astype(bool),
        "top_rows": np.broadcast_to(np.arange(n_obs)[:, None], top.shape).copy(),
        "top_cols": np.where(top_valid, top, 0),
        "top_valid": top_valid,
    }
