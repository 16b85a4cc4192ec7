"""Posterior predictions of loss for new (language, N, tokens by language) inputs."""

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.intervals import PREDICTIVE_PROBS
from atlas_bayes.modeling.data import TRANSFER_PAIRS_ATTR
from atlas_bayes.modeling.mean import model_inputs, predicted_log_loss
from atlas_bayes.modeling.transfer import posterior_pair_transfer, transfer_matrix
from atlas_bayes.variants.spec import SLOT_PARAMETERS

#: Largest number of (draw x observation x source) values held at once while predicting.
DEFAULT_CHUNK_ELEMENTS = 20_000_000


def _theta(posterior: xr.Dataset, spec, target: np.ndarray) -> dict[str, np.ndarray]:
    """Per-observation parameter draws, ``(chain, draw, obs[, slot])``."""
    theta = {}
    n_obs = len(target)
    for name, pspec in spec.parameters.items():
        values = posterior[name].values
        if pspec.pooling == "shared":
            extra = (1,) * (1 + (name in SLOT_PARAMETERS))
            values = np.broadcast_to(
                values.reshape(values.shape + extra),
                values.shape + ((n_obs,) if name not in SLOT_PARAMETERS else (n_obs, 1)),
            )
        else:
            values = values[:, :, target]
        theta[name] = values
    return theta


def _chunks(n_obs: int, n_draws: int, width: int, max_elements: int) -> Iterator[slice]:
    size = max(1, max_elements // max(1, n_draws * width))
    for start in range(0, n_obs, size):
        yield slice(start, min(n_obs, start + size))


def mean_log_loss(
    fit, data: xr.Dataset, max_elements: int = DEFAULT_CHUNK_ELEMENTS
) -> xr.DataArray:
    """Posterior draws of the law's mean log-loss at each observation of ``data``.

    Parameters
    ----------
    fit
        A :class:`~atlas_bayes.inference.Fit`.
    data
        Inputs in the fit-data layout (:func:`~atlas_bayes.modeling.data.build_prediction_data`).
    max_elements
        Memory bound: observations are processed in chunks so that no intermediate holds more
        than about this many values.

    Returns
    -------
    xarray.DataArray
        ``(chain, draw, obs)``.
    """
    posterior = fit.posterior
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    out = np.empty((n_chain, n_draw, data.sizes["obs"]))
    width = data.sizes["source"] + data.sizes["slot"] + 1
    pair_tau = None
    if fit.spec.law == "atlas_matrix" and data.attrs.get(TRANSFER_PAIRS_ATTR) == "all":
        pair_tau = transfer_matrix(fit).values.reshape(n_chain, n_draw, -1)
    elif fit.spec.law == "atlas_matrix":
        pair_tau = posterior_pair_transfer(fit)
    for part in _chunks(data.sizes["obs"], n_chain * n_draw, width, max_elements):
        chunk = data.isel(obs=part)
        theta = _theta(posterior, fit.spec, chunk["target"].values)
        if pair_tau is not None:
            theta["tau_pair"] = pair_tau
        out[:, :, part] = predicted_log_loss(
            fit.spec.law,
            theta,
            model_inputs(chunk),
            fit.spec.params_ref,
            fit.spec.tokens_ref,
            fit.spec.interference,
            fit.spec.languages_ref,
        )
    return xr.DataArray(
        out,
        dims=("chain", "draw", "obs"),
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "obs": data["obs"].values,
            "run_id": ("obs", data["run_id"].values),
            "eval_language": ("obs", data["eval_language"].values),
        },
        name="mean_log_loss",
    )


def predictive_loss(
    fit, data: xr.Dataset, seed: int = 0, max_elements: int = DEFAULT_CHUNK_ELEMENTS
) -> xr.DataArray:
    """Posterior predictive draws of loss (nats per token): law plus observation noise.

    Parameters
    ----------
    fit
        A :class:`~atlas_bayes.inference.Fit`.
    data
        Inputs in the fit-data layout.
    seed
        Seed of the noise draws.
    max_elements
        See :func:`mean_log_loss`.

    Returns
    -------
    xarray.DataArray
        ``loss`` with dimensions ``(chain, draw, obs)``.
    """
    mean = mean_log_loss(fit, data, max_elements)
    posterior = fit.posterior
    rng = np.random.default_rng(seed)
    sigma = posterior["sigma"].values[..., None]
    if fit.spec.likelihood.family == "student_t":
        nu = posterior["nu"].values[..., None]
        noise = rng.standard_t(np.broadcast_to(nu, mean.shape))
    else:
        noise = rng.standard_normal(mean.shape)
    loss = np.exp(mean.values + sigma * noise)
    return mean.copy(data=loss).rename("loss")


def summarise_predictions(
    draws: xr.DataArray, observed: np.ndarray | None = None, probs=PREDICTIVE_PROBS
) -> pd.DataFrame:
    """One row per observation: mean, median and equal-tailed predictive intervals.

    Parameters
    ----------
    draws
        ``(chain, draw, obs)`` predictive draws of loss.
    observed
        Observed losses (NaN where none), added as a column.
    probs
        Interval probabilities; each gives ``lower_P``/``upper_P`` columns (equal-tailed).

    Returns
    -------
    pandas.DataFrame
    """
    flat = draws.stack(sample=("chain", "draw")).transpose("obs", "sample").values
    table = pd.DataFrame(
        {
            "run_id": draws["run_id"].values,
            "language": draws["eval_language"].values,
            "mean": flat.mean(axis=1),
            "median": np.median(flat, axis=1),
        }
    )
    for prob in probs:
        low, high = np.quantile(flat, [(1 - prob) / 2, (1 + prob) / 2], axis=1)
        label = f"{round(prob * 100)}"
        table[f"lower_{label}"] = low
        table[f"upper_{label}"] = high
    table["interval_kind"] = "equal-tailed predictive"
    if observed is not None:
        table["observed"] = observed
    return table


def predict_grid(
    fit,
    language: Sequence[str],
    params: Sequence[float],
    tokens: pd.DataFrame,
    unique_tokens: pd.DataFrame | None = None,
    predictive: bool = True,
    seed: int = 0,
    max_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> xr.DataArray:
    """Loss draws for any grid of (evaluation language, N, tokens by language).

    Parameters
    ----------
    fit
        A :class:`~atlas_bayes.inference.Fit`.
    language
        Evaluation language of each grid point (one of the fit's languages).
    params
        Parameters N of each grid point.
    tokens
        Tokens seen by each training language: one row per grid point, one column per
        language (missing or 0: not trained on).
    unique_tokens
        Unique tokens available, same layout (NaN or absent: not data-constrained).
    predictive
        Add observation noise (posterior predictive); False gives the law's mean loss.
    seed
        Seed of the noise draws.
    max_elements
        Memory bound of the chunked computation.

    Returns
    -------
    xarray.DataArray
        Loss in nats per token, dimensions ``(chain, draw, obs)`` with one ``obs`` per grid
        point, labelled by ``eval_language``.

    Examples
    --------
    >>> grid = predict_grid(fit, ["sw"] * 3, [1e8, 1e9, 1e10],
    ...                     pd.DataFrame({"sw": [1e9] * 3, "en": [5e9] * 3}))  # doctest: +SKIP
    """
    from atlas_bayes.modeling.data import build_prediction_data
    from atlas_bayes.study import Study

    n = len(language)
    if len(params) != n or len(tokens) != n:
        raise ValueError("language, params and tokens need one entry per grid point")
    run_ids = [f"grid-{i}" for i in range(n)]
    tokens = tokens.reset_index(drop=True).fillna(0.0)
    rows = []
    for i, run in enumerate(run_ids):
        for column in tokens.columns:
            value = float(tokens.at[i, column])
            if value > 0:
                unique = (
                    float(unique_tokens.reset_index(drop=True).at[i, column])
                    if unique_tokens is not None and column in unique_tokens
                    else np.nan
                )
                rows.append(
                    {"run_id": run, "language": column, "tokens": value, "unique_tokens": unique}
                )
    study = Study.from_frames(
        pd.DataFrame({"run_id": run_ids, "params": list(params), "regime": "pretrain"}),
        pd.DataFrame(rows),
        pd.DataFrame({"run_id": run_ids, "language": list(language)}),
        allow_missing_loss=True,
    )
    data = build_prediction_data(study, fit.data)
    if predictive:
        return predictive_loss(fit, data, seed=seed, max_elements=max_elements)
    return np.exp(mean_log_loss(fit, data, max_elements)).rename("loss")
