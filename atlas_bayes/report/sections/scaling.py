"""Section 3, scaling: loss over tokens and N per language, bands, extrapolation fans."""

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.decisions.parameters import CHINCHILLA_FORM_LAWS
from atlas_bayes.inference import Fit
from atlas_bayes.inference.predict import predict_grid
from atlas_bayes.report.sections.common import (
    MAX_PREDICTIVE_DRAWS,
    draws_used,
    evenly,
    monolingual_points,
    thinned,
)
from atlas_bayes.summaries import SAMPLE_DIMS, credible_interval

#: Languages shown in the scaling figures.
MAX_SCALING_LANGUAGES = 6
#: Model sizes per language in the scaling figures.
MAX_SIZES_PER_LANGUAGE = 4
#: Points per curve in the scaling and frontier figures.
GRID_POINTS = 40
#: Tokens per parameter of the extrapolation fan over N (the Chinchilla rule of thumb).
FAN_TOKENS_PER_PARAM = 20.0
#: Multiples of the largest fitted model size at which extrapolated losses are tabulated.
EXTRAPOLATION_MULTIPLES = (10.0, 100.0)


def pick_languages(fit: Fit, points: pd.DataFrame, limit: int) -> list[str]:
    """Up to ``limit`` languages with monolingual runs, spread from most to least data.

    Languages with runs at the most model sizes (up to three) are candidates; they are
    ordered by unique tokens (unconstrained first) and picked evenly along that order.
    """
    if points.empty:
        return []
    sizes = points.groupby("language")["params"].nunique()
    candidates = sizes[sizes >= min(3, int(sizes.max()))].index
    unique = points.groupby("language")["unique_tokens"].min().fillna(np.inf)
    order = {code: i for i, code in enumerate(fit.languages)}
    ranked = sorted(candidates, key=lambda c: (-unique[c], order.get(c, len(order))))
    return evenly(ranked, limit)


def _band(draws: xr.DataArray, ci_prob: float, ci_kind: str) -> pd.DataFrame:
    """Mean and credible interval over draws, one row per grid point."""
    bounds = credible_interval(draws, ci_prob, ci_kind)
    return pd.DataFrame(
        {
            "mean": draws.mean(SAMPLE_DIMS).values,
            "ci_low": bounds.sel(ci_bound="lower").values,
            "ci_high": bounds.sel(ci_bound="upper").values,
        }
    )


def _grid_loss(
    fit: Fit,
    grid: pd.DataFrame,
    unique: dict[str, float],
    ci_prob: float,
    ci_kind: str,
) -> pd.DataFrame:
    """Expected loss (law, no noise) with its interval at each monolingual grid point."""
    languages = list(dict.fromkeys(grid["language"]))
    tokens = pd.DataFrame(
        {code: np.where(grid["language"] == code, grid["tokens"], 0.0) for code in languages}
    )
    unique_frame = pd.DataFrame(
        {
            code: np.where(grid["language"] == code, unique.get(code, np.nan), np.nan)
            for code in languages
        }
    )
    draws = predict_grid(
        fit,
        list(grid["language"]),
        list(grid["params"]),
        tokens,
        unique_tokens=unique_frame,
        predictive=False,
    )
    return pd.concat([grid.reset_index(drop=True), _band(draws, ci_prob, ci_kind)], axis=1)


def scaling_data(
    fit: Fit,
    ci_prob: float,
    ci_kind: str,
    max_draws: int | None = MAX_PREDICTIVE_DRAWS,
    max_languages: int = MAX_SCALING_LANGUAGES,
) -> dict[str, Any] | None:
    """Loss against tokens and N per language, with bands, and the fan beyond the data.

    Returns
    -------
    dict or None
        None when the fit has no monolingual runs from scratch. Otherwise ``languages``,
        ``points`` (observed monolingual losses), ``curves`` (expected loss over tokens at
        up to four fitted sizes per language, with ``observed`` marking the fitted token
        range), ``fan`` (expected loss over N at ``FAN_TOKENS_PER_PARAM`` tokens per
        parameter, from the smallest fitted size to 100x the largest), ``extrapolated``
        (the fan at ``EXTRAPOLATION_MULTIPLES`` of the largest fitted size, from every
        draw), ``largest_params``, ``unique_tokens``, ``draws`` (draws in the bands).
    """
    if fit.spec.law not in CHINCHILLA_FORM_LAWS:
        return None
    points = monolingual_points(fit)
    languages = pick_languages(fit, points, max_languages)
    if not languages:
        return None
    points = points[points["language"].isin(languages)].reset_index(drop=True)
    unique = {
        code: float(points.loc[points["language"] == code, "unique_tokens"].min())
        for code in languages
    }
    rows, fan_rows = [], []
    largest = float(points["params"].max())
    for code in languages:
        own = points[points["language"] == code]
        low, high = float(own["own_tokens"].min()), float(own["own_tokens"].max())
        tokens = np.geomspace(low / 2, high * 10, GRID_POINTS)
        for size in evenly(sorted(own["params"].round().unique()), MAX_SIZES_PER_LANGUAGE):
            for value in tokens:
                rows.append(
                    {
                        "language": code,
                        "params": float(size),
                        "tokens": value,
                        "observed": low <= value <= high,
                    }
                )
        sizes = np.geomspace(float(own["params"].min()), largest * 100, GRID_POINTS)
        for size in sizes:
            fan_rows.append(
                {
                    "language": code,
                    "params": size,
                    "tokens": FAN_TOKENS_PER_PARAM * size,
                    "observed": size <= float(own["params"].max()),
                }
            )
    small = thinned(fit, max_draws)
    curves = _grid_loss(small, pd.DataFrame(rows), unique, ci_prob, ci_kind)
    fan = _grid_loss(small, pd.DataFrame(fan_rows), unique, ci_prob, ci_kind)
    points_at = pd.DataFrame(
        [
            {
                "language": code,
                "params": largest * multiple,
                "tokens": FAN_TOKENS_PER_PARAM * largest * multiple,
                "multiple": multiple,
            }
            for code in languages
            for multiple in EXTRAPOLATION_MULTIPLES
        ]
    )
    extrapolated = _grid_loss(fit, points_at, unique, ci_prob, ci_kind)
    return {
        "languages": languages,
        "points": points,
        "curves": curves,
        "fan": fan,
        "extrapolated": extrapolated,
        "largest_params": largest,
        "unique_tokens": unique,
        "draws": draws_used(small),
    }


__all__ = [
    "EXTRAPOLATION_MULTIPLES",
    "FAN_TOKENS_PER_PARAM",
    "GRID_POINTS",
    "MAX_SCALING_LANGUAGES",
    "MAX_SIZES_PER_LANGUAGE",
    "pick_languages",
    "scaling_data",
]
