"""The mean log-loss of a variant, written once for PyTensor (the model) and numpy (draws).

``predicted_log_loss`` maps per-observation parameter values and the model inputs to the law's
log-loss. The PyMC model calls it on tensors; prediction calls it on posterior draws with
leading ``(chain, draw)`` dimensions.

Repetition saturation depends on the decay parameter only where a language's tokens exceed
its unique tokens; everywhere else ``S(D) = D``. The inputs therefore split tokens into fixed
sums (never repeated) and a short list of repeated entries, the only ones that need ``S`` per
gradient evaluation: 223 of 938 entries for ``data_constrained`` on the bundled study and 2955
of 31738 non-zero entries for ``atlas``.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.laws._xp import array_namespace, scatter_add

#: Per-observation inputs, with their dimensions in the fit data layout.
INPUT_DIMS: dict[str, tuple[str, ...]] = {
    "log_params": ("obs",),
    "own_tokens": ("obs",),
    "own_fixed": ("obs",),
    "top_fixed": ("obs", "slot"),
    "other_fixed": ("obs",),
    "own_rep_obs": ("own_rep",),
    "own_rep_tokens": ("own_rep",),
    "own_rep_unique": ("own_rep",),
    "top_rep_obs": ("top_rep",),
    "top_rep_flat": ("top_rep",),
    "top_rep_tokens": ("top_rep",),
    "top_rep_unique": ("top_rep",),
    "other_rep_obs": ("other_rep",),
    "other_rep_tokens": ("other_rep",),
    "other_rep_unique": ("other_rep",),
}


def _saturated(theta: Mapping[str, Any], inputs: Mapping[str, Any], prefix: str) -> Any:
    """``S(D; U, lambda)`` of the repeated entries ``prefix`` (own, top or other)."""
    xp = array_namespace(theta["log_decay"])
    decay = xp.exp(theta["log_decay"])[..., inputs[f"{prefix}_obs"]]
    return laws.repetition_saturation(inputs[f"{prefix}_tokens"], inputs[f"{prefix}_unique"], decay)


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
        ``(..., obs, slot)``. Shared parameters are broadcast to the ``obs`` axis too.
        Leading dimensions (posterior draws) broadcast.
    inputs
        The arrays of :data:`INPUT_DIMS` (see :func:`model_inputs`).
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
    if law == "chinchilla":
        log_tokens = xp.log(inputs["own_tokens"])
    elif law in ("data_constrained", "atlas"):
        own = scatter_add(
            inputs["own_fixed"], inputs["own_rep_obs"], _saturated(theta, inputs, "own_rep")
        )
        if law == "data_constrained":
            log_tokens = xp.log(own)
        else:
            top_fixed = inputs["top_fixed"]
            n_obs, n_slots = top_fixed.shape[-2], top_fixed.shape[-1]
            top = scatter_add(
                top_fixed.reshape((-1,)),
                inputs["top_rep_flat"],
                _saturated(theta, inputs, "top_rep"),
            )
            top = top.reshape((*top.shape[:-1], n_obs, n_slots))
            other = scatter_add(
                inputs["other_fixed"],
                inputs["other_rep_obs"],
                _saturated(theta, inputs, "other_rep"),
            )
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


def model_inputs(data: xr.Dataset) -> dict[str, np.ndarray]:
    """The arrays of :data:`INPUT_DIMS` from a fit-data Dataset.

    Parameters
    ----------
    data
        Fit data (``tokens``, ``unique_tokens``, ``target_source``, ``top_source``,
        ``target``, ``is_other``, ``log_params``).

    Returns
    -------
    dict of numpy.ndarray
    """
    tokens = data["tokens"].values
    unique = data["unique_tokens"].values
    n_obs = tokens.shape[0]
    rows = np.arange(n_obs)
    target_source = data["target_source"].values
    top = data["top_source"].values[data["target"].values]  # (obs, slot)
    n_slots = top.shape[1]
    repeated = tokens > unique
    fixed = np.where(repeated, 0.0, tokens)
    own_tokens = tokens[rows, target_source]
    out: dict[str, np.ndarray] = {
        "log_params": data["log_params"].values,
        "own_tokens": own_tokens,
        "own_fixed": fixed[rows, target_source],
        "other_fixed": np.where(data["is_other"].values.astype(bool), fixed, 0.0).sum(axis=1),
    }
    top_valid = top >= 0
    safe_top = np.where(top_valid, top, 0)
    out["top_fixed"] = np.where(top_valid, fixed[rows[:, None], safe_top], 0.0)
    own_rep = np.flatnonzero(repeated[rows, target_source])
    out["own_rep_obs"] = own_rep
    out["own_rep_tokens"] = own_tokens[own_rep]
    out["own_rep_unique"] = unique[own_rep, target_source[own_rep]]
    top_rep_obs, top_rep_slot = np.nonzero(top_valid & repeated[rows[:, None], safe_top])
    out["top_rep_obs"] = top_rep_obs
    out["top_rep_flat"] = top_rep_obs * n_slots + top_rep_slot
    cols = safe_top[top_rep_obs, top_rep_slot]
    out["top_rep_tokens"] = tokens[top_rep_obs, cols]
    out["top_rep_unique"] = unique[top_rep_obs, cols]
    other_obs, other_src = np.nonzero(data["is_other"].values.astype(bool) & repeated)
    out["other_rep_obs"] = other_obs
    out["other_rep_tokens"] = tokens[other_obs, other_src]
    out["other_rep_unique"] = unique[other_obs, other_src]
    for key in ("own_rep_obs", "top_rep_obs", "top_rep_flat", "other_rep_obs"):
        out[key] = out[key].astype(np.int64)
    return out
