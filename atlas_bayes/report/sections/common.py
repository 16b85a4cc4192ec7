"""What every section needs: fit labels, thinned draws, the fitted observations."""

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.inference import Fit
from atlas_bayes.laws import UNCONSTRAINED_UNIQUE_TOKENS
from atlas_bayes.modeling.build import OBSERVED

#: Posterior draws used for predictive checks and bands (thinned evenly; None: all).
MAX_PREDICTIVE_DRAWS = 1000


def fit_labels(fits: Sequence[Fit]) -> list[str]:
    """A distinct label per fit: the variant's name, with its seed (and position) if needed."""
    names = [fit.spec.name for fit in fits]
    labels = [
        f"{name} (seed {fit.meta.get('seed', '?')})" if names.count(name) > 1 else name
        for name, fit in zip(names, fits, strict=True)
    ]
    return [
        f"{label} #{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]


def thinned(fit: Fit, max_draws: int | None) -> Fit:
    """``fit`` with at most ``max_draws`` posterior draws (evenly spaced within each chain).

    Only the posterior and the fit data are kept: enough to predict, not to diagnose.
    """
    posterior = fit.posterior
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    if max_draws is None or n_chain * n_draw <= max_draws:
        return fit
    step = math.ceil(n_draw / max(1, max_draws // n_chain))
    tree = xr.DataTree.from_dict(
        {"posterior": posterior.isel(draw=slice(None, None, step)), "fit_data": fit.data}
    )
    return dataclasses.replace(fit, tree=tree)


def draws_used(fit: Fit) -> int:
    """Number of posterior draws (all chains)."""
    return int(fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"])


def observation_frame(fit: Fit) -> pd.DataFrame:
    """One row per fitted observation: run, language, N, tokens and loss (nats per token).

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``language`` (evaluated), ``params``, ``own_tokens`` (of the evaluated
        language), ``total_tokens``, ``n_languages`` (trained on), ``finetuned``,
        ``unique_tokens`` (of the evaluated language; NaN where not data-constrained),
        ``loss``.
    """
    data = fit.data
    rows = np.arange(data.sizes["obs"])
    own = data["target_source"].values
    tokens = data["tokens"].values
    unique = np.full(rows.size, np.nan)
    if "unique_tokens" in data:
        unique = data["unique_tokens"].values[rows, own].astype(float)
        unique[unique >= UNCONSTRAINED_UNIQUE_TOKENS] = np.nan
    finetuned = (
        data["finetuned"].values.astype(bool) if "finetuned" in data else np.zeros(rows.size, bool)
    )
    return pd.DataFrame(
        {
            "run_id": data["run_id"].values.astype(str),
            "language": data["eval_language"].values.astype(str),
            "params": np.exp(data["log_params"].values),
            "own_tokens": tokens[rows, own],
            "total_tokens": tokens.sum(axis=1),
            "n_languages": (tokens > 0).sum(axis=1),
            "finetuned": finetuned,
            "unique_tokens": unique,
            "loss": np.exp(data[OBSERVED].values),
        }
    )


def monolingual_points(fit: Fit) -> pd.DataFrame:
    """Observations of runs trained from scratch on the evaluated language alone."""
    obs = observation_frame(fit)
    keep = (~obs["finetuned"]) & (obs["n_languages"] == 1) & (obs["own_tokens"] > 0)
    return obs[keep].reset_index(drop=True)


def evenly(items: Sequence[Any], count: int) -> list[Any]:
    """At most ``count`` of ``items``, evenly spaced and keeping the first and the last."""
    if len(items) <= count:
        return list(items)
    index = np.unique(np.round(np.linspace(0, len(items) - 1, count)).astype(int))
    return [items[i] for i in index]


__all__ = [
    "MAX_PREDICTIVE_DRAWS",
    "draws_used",
    "evenly",
    "fit_labels",
    "monolingual_points",
    "observation_frame",
    "thinned",
]
