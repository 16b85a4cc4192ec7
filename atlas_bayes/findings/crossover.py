"""Pretrain from scratch vs finetune: the crossover tokens and compute as posteriors.

For each language and model size with finetune runs in the fit, the crossover is the number
of training tokens beyond which a model trained from scratch reaches a lower loss than one
finetuned from the multilingual checkpoint, computed draw by draw from the fitted curves.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.findings._fits import require_law
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.modeling.mean import head_start_tokens
from atlas_bayes.published import published_value
from atlas_bayes.summaries import summarise_draws

#: Token range searched for a crossover; outside it the crossover is reported as missing.
SEARCH_TOKENS = (1e7, 1e15)
CROSSOVER_LAWS = ("crossover", "crossover_exponent")


def finetune_settings(fit: Any) -> pd.DataFrame:
    """The (language, model size) cells with finetune runs, and the checkpoint's tokens there.

    Returns
    -------
    pandas.DataFrame
        ``language``, ``params``, the checkpoint's tokens ``base_own_tokens`` (of the
        language), ``base_named_tokens`` (other named languages), ``base_pooled_tokens`` (the
        pooled "other" source), and ``unique_tokens`` (the language's unique tokens;
        ``UNCONSTRAINED_UNIQUE_TOKENS`` if none).
    """
    data = fit.data
    finetuned = data["finetuned"].values.astype(bool)
    rows = np.arange(data.sizes["obs"])
    unique = data["unique_tokens"].values[rows, data["target_source"].values]
    frame = pd.DataFrame(
        {
            "language": data["eval_language"].values[finetuned].astype(str),
            "params": np.exp(data["log_params"].values[finetuned]).round(),
            **{
                key: data[key].values[finetuned]
                for key in ("base_own_tokens", "base_named_tokens", "base_pooled_tokens")
            },
            "unique_tokens": unique[finetuned],
        }
    )
    return (
        frame.groupby(["language", "params"], sort=False)
        .first()
        .reset_index()
        .sort_values(["language", "params"], kind="stable", ignore_index=True)
    )


def _draws(fit: Any, name: str, language: str) -> np.ndarray:
    values = fit.posterior[name]
    if "language" in values.dims:
        values = values.sel(language=language)
    return values.values.ravel()


def crossover_tokens_draws(
    fit: Any, cells: pd.DataFrame | None = None, search: tuple[float, float] = SEARCH_TOKENS
) -> xr.DataArray:
    """Draws of the crossover tokens for each (language, model size) cell.

    Parameters
    ----------
    fit
        A fit of a ``crossover`` or ``crossover_exponent`` variant.
    cells
        Rows with the columns of :func:`finetune_settings`; default
        :func:`finetune_settings` (the cells with finetune runs in the fit).
    search
        Token range searched; NaN where the curves do not cross inside it (finetuning stays
        ahead, or pretraining is ahead from the start).

    Returns
    -------
    xarray.DataArray
        ``crossover_tokens`` (chain, draw, cell) with coordinates ``language`` and ``params``
        on ``cell``.
    """
    require_law(fit, CROSSOVER_LAWS, "the pretrain-vs-finetune crossover")
    cells = finetune_settings(fit) if cells is None else cells.reset_index(drop=True)
    posterior = fit.posterior
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    out = np.full((n_chain * n_draw, len(cells)), np.nan)
    for j, cell in cells.iterrows():
        out[:, j] = _cell_crossover(fit, cell, search)
    return xr.DataArray(
        out.reshape(n_chain, n_draw, len(cells)),
        dims=("chain", "draw", "cell"),
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "language": ("cell", cells["language"].to_numpy(str)),
            "params": ("cell", cells["params"].to_numpy(float)),
        },
        name="crossover_tokens",
    )


def _cell_crossover(fit: Any, cell: pd.Series, search: tuple[float, float]) -> np.ndarray:
    """Crossover tokens of one (language, size) cell, one per posterior draw."""
    spec = fit.spec
    language, params = cell["language"], float(cell["params"])
    p = {n: _draws(fit, n, language) for n in ("log_E", "log_a", "log_b", "alpha", "beta")}
    E = np.exp(p["log_E"])  # noqa: N806 - the law's symbols
    A = np.exp(p["log_a"]) * spec.params_ref ** p["alpha"]  # noqa: N806
    B = np.exp(p["log_b"]) * spec.tokens_ref ** p["beta"]  # noqa: N806
    decay = np.exp(_draws(fit, "log_decay", language))
    checkpoint = {
        k: cell[k] for k in ("base_own_tokens", "base_named_tokens", "base_pooled_tokens")
    }
    head = head_start_tokens(
        {n: _draws(fit, n, language) for n in ("tau_named", "tau_pooled", "log_decay")},
        {"finetuned": 1.0, "own_unique": cell["unique_tokens"], **checkpoint},
    )
    if spec.law == "crossover":
        gamma = _draws(fit, "gamma", language)
        penalty = np.exp(_draws(fit, "log_penalty", language)) * (params / spec.params_ref) ** (
            -gamma
        )
        beta_ft, B_ft = p["beta"], B  # noqa: N806
    else:
        penalty = np.zeros_like(E)
        beta_ft = p["beta"] * np.exp(_draws(fit, "log_beta_ratio", language))
        B_ft = np.exp(p["log_b"]) * spec.tokens_ref**beta_ft  # noqa: N806

    def difference(tokens: np.ndarray) -> np.ndarray:
        saturated = laws.repetition_saturation(tokens, cell["unique_tokens"], decay)
        scratch = laws.chinchilla_loss(params, saturated, E, A, B, p["alpha"], p["beta"])
        finetuned = laws.finetuned_loss(
            params, saturated, head, penalty, E, A, B_ft, p["alpha"], beta_ft
        )
        return scratch - finetuned

    return laws.crossover_tokens(difference, *search)


def crossover_table(
    fit: Any,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    tokens: xr.DataArray | None = None,
) -> pd.DataFrame:
    """Crossover tokens and compute (6 N D) per language and size, with the paper's at 2B.

    Returns
    -------
    pandas.DataFrame
        Two rows per cell (``crossover tokens`` in tokens, ``crossover compute`` in FLOPs)
        with the summary fields, ``p_crossover`` (share of draws in which the curves cross
        in range) and ``published`` (ATLAS's crossover tokens, at 2B, where printed).
    """
    tokens = crossover_tokens_draws(fit) if tokens is None else tokens
    compute = 6.0 * tokens["params"] * tokens
    rows = []
    for quantity, unit, draws in (
        ("crossover tokens", "tokens", tokens),
        ("crossover compute", "FLOPs", compute),
    ):
        rows.append(summarise_draws(draws, quantity, unit, ci_prob, ci_kind))
    table = pd.concat(rows, ignore_index=True)
    table = table.drop(columns=["cell"])
    p_cross = tokens.notnull().mean(("chain", "draw")).values
    table.insert(2, "p_crossover", np.tile(p_cross, 2))
    table["published"] = [
        _published_tokens(lang, n) if q == "crossover tokens" else np.nan
        for lang, n, q in zip(table["language"], table["params"], table["quantity"], strict=True)
    ]
    return table


def _published_tokens(language: str, params: float) -> float:
    if not np.isclose(params, published_value("crossover.model_params")):
        return float("nan")
    try:
        return float(published_value(f"crossover.tokens.{language}"))
    except KeyError:
        return float("nan")


def crossover_compute_law(
    fit: Any,
    languages: Sequence[str] | None = None,
    sizes: Sequence[float] | None = None,
    tokens: xr.DataArray | None = None,
) -> xr.Dataset:
    """Draws of ``a`` and ``b`` in ``C_cross = a N^b``: a log-log least-squares fit per draw.

    Parameters
    ----------
    fit
        A crossover fit.
    languages
        Languages pooled in the fit of the law; default those with finetune runs at four or
        more model sizes.
    sizes
        Model sizes used (default all with finetune runs for those languages).
    tokens
        Precomputed :func:`crossover_tokens_draws`.

    Returns
    -------
    xarray.Dataset
        ``a``, ``b`` (chain, draw) and ``points`` (how many crossovers each draw's fit used:
        draws without a crossover at some cell use the others).
    """
    tokens = crossover_tokens_draws(fit) if tokens is None else tokens
    cell_languages = tokens["language"].values
    cell_params = tokens["params"].values
    if languages is None:
        counts = pd.Series(cell_languages).value_counts()
        languages = sorted(counts.index[counts >= 4])
    keep = np.isin(cell_languages, list(languages))
    if sizes is not None:
        keep &= np.isclose(cell_params[:, None], np.asarray(sizes)[None, :]).any(axis=1)
    if keep.sum() < 2:
        raise ValueError("the compute law needs crossovers at two or more (language, size) cells")
    x = np.log(cell_params[keep])
    y = np.log(6.0 * cell_params[keep] * tokens.values[..., keep])
    w = np.isfinite(y).astype(float)
    y = np.where(w > 0, y, 0.0)
    n = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = (w * x).sum(-1) / n
        y_mean = (w * y).sum(-1) / n
        dx = np.where(w > 0, x - x_mean[..., None], 0.0)
        b = (dx * (y - y_mean[..., None])).sum(-1) / (dx**2).sum(-1)
        log_a = y_mean - b * x_mean
    coords = {"chain": tokens["chain"].values, "draw": tokens["draw"].values}
    dims = ("chain", "draw")
    return xr.Dataset(
        {
            "a": (dims, np.exp(log_a)),
            "b": (dims, b),
            "points": (dims, n.astype(int)),
        },
        coords=coords,
        attrs={"languages": list(languages)},
    )
