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

#: The laws this module evaluates.
LAWS = (
    "chinchilla", "data_constrained", "atlas", "atlas_matrix", "curse", "crossover",
    "crossover_exponent", "he_multilingual",
)  # fmt: skip

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
    "log_n_languages": ("obs",),
    "log_share": ("obs",),
    "base_own_tokens": ("obs",),
    "own_unique": ("obs",),
    "base_named_tokens": ("obs",),
    "base_pooled_tokens": ("obs",),
    "finetuned": ("obs",),
    "entry_obs": ("entry",),
    "entry_pair": ("entry",),
    "entry_fixed": ("entry",),
    "entry_rep_obs": ("entry_rep",),
    "entry_rep_entry": ("entry_rep",),
    "entry_rep_tokens": ("entry_rep",),
    "entry_rep_unique": ("entry_rep",),
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
    languages_ref: float = 1.0,
) -> Any:
    """Log-loss predicted by ``law`` for every observation.

    Parameters
    ----------
    law
        One of :data:`LAWS`: ``chinchilla``, ``data_constrained``, ``atlas``,
        ``atlas_matrix``, ``curse``, ``crossover``, ``crossover_exponent`` or
        ``he_multilingual``.
    theta
        Per-observation parameter values: ``log_E``, ``log_a``, ``log_b``, ``alpha``, ``beta``
        (and ``log_decay``, ``tau_other``, ``gamma``) of shape ``(..., obs)``; ``tau_top`` of
        shape ``(..., obs, slot)``. Shared parameters are broadcast to the ``obs`` axis too.
        Leading dimensions (posterior draws) broadcast.
    inputs
        The arrays of :data:`INPUT_DIMS` (see :func:`model_inputs`).
    params_ref, tokens_ref
        Reference scales at which log N and log D are centred.
    interference
        See :func:`atlas_bayes.laws.effective_tokens`.
    languages_ref
        Number of languages K at which ``log K`` is centred (``curse``): ``log_a`` and
        ``log_b`` are then the terms' losses at ``K_ref`` languages.

    Returns
    -------
    array or tensor
        ``log L`` of shape ``(..., obs)``.
    """
    xp = array_namespace(*theta.values(), *inputs.values())
    log_e, log_a, log_b = theta["log_E"], theta["log_a"], theta["log_b"]
    beta = theta["beta"]
    if law in ("chinchilla", "curse"):
        log_tokens = xp.log(inputs["own_tokens"])
    elif law == "he_multilingual":
        # He et al. (2024): D is the run's total tokens, all languages, without repetition
        # saturation (their law has none); log D = log D_t - log p.
        log_tokens = xp.log(inputs["own_tokens"]) - inputs["log_share"]
    elif law not in LAWS:
        raise ValueError(f"unknown law {law!r}")
    else:
        own = scatter_add(
            inputs["own_fixed"], inputs["own_rep_obs"], _saturated(theta, inputs, "own_rep")
        )
        if law == "atlas":
            own = _top_sources_effective(theta, inputs, own, interference)
        elif law == "atlas_matrix":
            own = _matrix_effective(theta, inputs, own, interference)
        elif law in ("crossover", "crossover_exponent"):
            own = own + head_start_tokens(theta, inputs)
        log_tokens = xp.log(own)
    log_params = inputs["log_params"] - np.log(params_ref)
    if law == "curse":
        log_languages = inputs["log_n_languages"] - np.log(languages_ref)
        log_a = log_a + theta["phi"] * log_languages
        log_b = log_b + theta["psi"] * log_languages
    if law == "crossover_exponent":
        beta = beta * xp.exp(theta["log_beta_ratio"] * inputs["finetuned"])
    log_loss = laws.chinchilla_log_loss(
        log_params, log_tokens - np.log(tokens_ref), log_e, log_a, log_b, theta["alpha"], beta
    )
    if law == "crossover":
        # L + penalty, in log space: log L + log1p(penalty / L); the penalty is 0 from scratch.
        penalty = inputs["finetuned"] * xp.exp(
            theta["log_penalty"] - theta["gamma"] * log_params - log_loss
        )
        log_loss = log_loss + xp.log1p(penalty)
    elif law == "he_multilingual":
        # L * p^-gamma: the target's sampling ratio p scales the whole loss (log p = 0 for a
        # monolingual run, which therefore says nothing about gamma).
        log_loss = log_loss - theta["gamma"] * inputs["log_share"]
    return log_loss


def head_start_tokens(theta: Mapping[str, Any], inputs: Mapping[str, Any]) -> Any:
    """Effective tokens of the target already in a finetune run's checkpoint (0 from scratch).

    The ATLAS law on the checkpoint's mixture: its own (repetition-saturated) tokens of the
    target, plus transfer ``tau_named`` from its tokens of the other named languages and
    ``tau_pooled`` from the pooled "other" source, with the damped guard for negative transfer
    (always damped: a checkpoint's many interfering languages need the guard). The other
    languages' tokens are sums over many languages and are not saturated.
    """
    xp = array_namespace(theta["tau_named"], inputs["base_own_tokens"])
    finetuned = inputs["finetuned"]
    sources = xp.stack([inputs["base_named_tokens"], inputs["base_pooled_tokens"]], axis=-1)
    transfer = xp.stack([theta["tau_named"], theta["tau_pooled"]], axis=-1)
    own = laws.repetition_saturation(
        inputs["base_own_tokens"], inputs["own_unique"], xp.exp(theta["log_decay"])
    )
    # A run from scratch has no checkpoint: give it one token so the guard is defined, then 0.
    own = own + (1.0 - finetuned)
    return finetuned * laws.effective_tokens(own, sources, transfer)


def _top_sources_effective(
    theta: Mapping[str, Any], inputs: Mapping[str, Any], own: Any, interference: str
) -> Any:
    """ATLAS effective tokens: own plus the top sources and the pooled others."""
    top_fixed = inputs["top_fixed"]
    n_obs, n_slots = top_fixed.shape[-2], top_fixed.shape[-1]
    top = scatter_add(
        top_fixed.reshape((-1,)), inputs["top_rep_flat"], _saturated(theta, inputs, "top_rep")
    )
    top = top.reshape((*top.shape[:-1], n_obs, n_slots))
    other = scatter_add(
        inputs["other_fixed"], inputs["other_rep_obs"], _saturated(theta, inputs, "other_rep")
    )
    return laws.top_sources_effective_tokens(
        own, top, theta["tau_top"], other, theta["tau_other"], interference=interference
    )


def _matrix_effective(
    theta: Mapping[str, Any], inputs: Mapping[str, Any], own: Any, interference: str
) -> Any:
    """Effective tokens from a full transfer matrix, on the sparse (obs, source) entries.

    ``theta["tau_pair"]`` holds the transfer of every (target, source) pair, ``(..., pair)``;
    each entry (an observation's non-zero source) picks its pair's weight.
    """
    xp = array_namespace(theta["tau_pair"], own)
    decay = xp.exp(theta["log_decay"])[..., inputs["entry_rep_obs"]]
    saturated_rep = laws.repetition_saturation(
        inputs["entry_rep_tokens"], inputs["entry_rep_unique"], decay
    )
    # Repeated entries are listed by entry index in entry_rep_obs's companion, entry_rep.
    tokens = scatter_add(inputs["entry_fixed"], inputs["entry_rep_entry"], saturated_rep)
    contributions = theta["tau_pair"][..., inputs["entry_pair"]] * tokens
    zeros = xp.zeros_like(own)
    if interference == "linear":
        return scatter_add(own, inputs["entry_obs"], contributions)
    gains = scatter_add(own, inputs["entry_obs"], xp.maximum(contributions, 0.0))
    losses = scatter_add(zeros, inputs["entry_obs"], xp.maximum(-contributions, 0.0))
    return gains * xp.exp(-losses / gains)


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
    # Curse: K, the languages the run trained on (its checkpoints included).
    out["log_n_languages"] = np.log(np.maximum((tokens > 0).sum(axis=1), 1)).astype(float)
    # He et al.'s multilingual law: log p, the target's share of the run's tokens (every
    # source column counts: the fit's sources are all the languages its runs trained on).
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_share"] = np.log(own_tokens / tokens.sum(axis=1)).astype(float)
    # Crossover: the target's tokens in the checkpoint a finetune run started from.
    base_own = data["base_own_tokens"].values if "base_own_tokens" in data else np.zeros(n_obs)
    out["base_own_tokens"] = base_own.astype(float)
    out["own_unique"] = unique[rows, target_source].astype(float)
    for key in ("base_named_tokens", "base_pooled_tokens"):
        out[key] = (data[key].values if key in data else np.zeros(n_obs)).astype(float)
    # A finetune run (regime = finetune) continues a checkpoint; the rest train from scratch.
    out["finetuned"] = (
        data["finetuned"].values if "finetuned" in data else np.zeros(n_obs)
    ).astype(float)
    out.update(_matrix_entries(data, tokens, unique, repeated, target_source))
    for key in (
        "own_rep_obs", "top_rep_obs", "top_rep_flat", "other_rep_obs", "entry_obs",
        "entry_pair", "entry_rep_obs", "entry_rep_entry",
    ):  # fmt: skip
        out[key] = out[key].astype(np.int64)
    return out


def _matrix_entries(
    data: xr.Dataset,
    tokens: np.ndarray,
    unique: np.ndarray,
    repeated: np.ndarray,
    target_source: np.ndarray,
) -> dict[str, np.ndarray]:
    """The (obs, source) entries with transfer (``atlas_matrix``); empty without pairs.

    An entry is a non-zero source of an observation other than its target; its pair is the
    (target, source) pair of the transfer matrix (``pair_index``, ``-1`` where none).
    """
    empty_int = np.zeros(0, dtype=np.int64)
    empty = {
        "entry_obs": empty_int, "entry_pair": empty_int, "entry_fixed": np.zeros(0),
        "entry_rep_obs": empty_int, "entry_rep_entry": empty_int,
        "entry_rep_tokens": np.zeros(0), "entry_rep_unique": np.zeros(0),
    }  # fmt: skip
    if "pair_index" not in data:
        return empty
    rows = np.arange(tokens.shape[0])
    present = tokens > 0
    present[rows, target_source] = False
    entry_obs, entry_source = np.nonzero(present)
    pair = data["pair_index"].values[data["target"].values[entry_obs], entry_source]
    if np.any(pair < 0):
        first = int(np.flatnonzero(pair < 0)[0])
        raise ValueError(
            f"observation {int(entry_obs[first])} (run "
            f"{str(data['run_id'].values[entry_obs[first]])!r}) trains on source "
            f"{str(data['source'].values[entry_source[first]])!r}, which has no transfer weight "
            f"to target {str(data['eval_language'].values[entry_obs[first]])!r} in this fit"
        )
    entry_repeated = repeated[entry_obs, entry_source]
    rep = np.flatnonzero(entry_repeated)
    return {
        "entry_obs": entry_obs,
        "entry_pair": pair,
        "entry_fixed": np.where(entry_repeated, 0.0, tokens[entry_obs, entry_source]),
        "entry_rep_obs": entry_obs[rep],
        "entry_rep_entry": rep,
        "entry_rep_tokens": tokens[entry_obs[rep], entry_source[rep]],
        "entry_rep_unique": unique[entry_obs[rep], entry_source[rep]],
    }
