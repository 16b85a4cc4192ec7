"""The result of a cross-validation: a tidy table per fold, a summary per split, a sentence."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes.atomic import atomic_file

#: Columns of the per-fold table, in order.
COLUMNS = (
    "variant", "method", "split", "fold", "n_train", "n_heldout", "r2", "mae", "elpd",
    "elpd_se", "cover50", "cover90", "r2_language_mean", "elpd_per_obs", "n_train_runs",
    "n_heldout_runs", "n_unpredicted", "converged", "divergences", "max_rhat", "seed",
    "fit_seconds", "rule", "note",
)  # fmt: skip
#: Columns holding counts or seeds (nullable integers: a split that does not apply has none).
INTEGER_COLUMNS = (
    "n_train", "n_heldout", "n_train_runs", "n_heldout_runs", "n_unpredicted", "divergences",
    "seed",
)  # fmt: skip
#: What the table's scores are, for readers of the saved files.
DEFINITIONS = {
    "r2": "out-of-sample R^2 of log-loss over the fold's held-out evaluations, "
    "1 - sum (y - yhat)^2 / sum (y - mean y)^2 with mean y the held-out mean and yhat the "
    "posterior mean of the law's (noise-free) mean log-loss",
    "r2_language_mean": "mean over evaluation languages of each language's R^2 (ATLAS's "
    "monolingual Table 1 averages over languages); languages with < 5 held-out points left "
    "out. Extrapolation folds hold out points at similar losses, so it can be far below r2 "
    "with small errors: read it with mae",
    "mae": "mean absolute error of log-loss, same yhat",
    "elpd": "sum over held-out evaluations of log mean_draws p(y | draw), p the fit's "
    "likelihood (Student-t with the draw's nu and sigma, or normal) on log-loss",
    "elpd_se": "sqrt(n * var(pointwise elpd))",
    "cover50": "share of held-out evaluations inside the central (equal-tailed) 50 % posterior "
    "predictive interval of log-loss",
    "cover90": "same, 90 % interval",
    "n_train": "training evaluations",
    "n_heldout": "held-out evaluations scored",
    "n_unpredicted": "held-out evaluations the method could not predict (not scored)",
}


def output_paths(path: str | Path) -> dict[str, Path]:
    """Files a result saved at ``path`` occupies: the table, the summary and the JSON."""
    path = Path(path)
    return {
        "table": path,
        "summary": path.with_name(f"{path.stem}-summary.csv"),
        "json": path.with_suffix(".json"),
    }


def _summary_row(group: pd.DataFrame) -> dict[str, Any]:
    scored = group[group["n_heldout"] > 0]
    notes = sorted({n for n in group["note"] if isinstance(n, str) and n})
    row: dict[str, Any] = {
        "folds": len(scored),
        "n_train": float(scored["n_train"].mean()) if len(scored) else 0.0,
        "n_heldout": int(scored["n_heldout"].sum()),
    }
    weights = scored["n_heldout"].to_numpy(float)
    for column in ("r2", "r2_language_mean", "mae"):
        values = scored[column].dropna()
        row[column] = float(values.mean()) if len(values) else math.nan
    row["elpd"] = float(scored["elpd"].sum()) if len(scored) else math.nan
    row["elpd_se"] = float(np.sqrt((scored["elpd_se"] ** 2).sum())) if len(scored) else math.nan
    row["elpd_per_obs"] = row["elpd"] / row["n_heldout"] if row["n_heldout"] else math.nan
    for column in ("cover50", "cover90"):
        row[column] = (
            float(np.average(scored[column], weights=weights)) if weights.sum() else math.nan
        )
    # Point-fit methods have no convergence verdict (None); only a failed NUTS gate counts.
    row["converged"] = bool(len(scored)) and not scored["converged"].eq(False).any()
    row["note"] = "; ".join(notes)
    return row


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, method, split): scores over its folds.

    R^2, per-language R^2 and MAE are means over folds (each fold weighs the same, as the
    paper's per-language means do); elpd is the sum over folds (the K-fold elpd of every
    held-out point) with standard errors added in quadrature; coverage is pooled over all
    held-out evaluations (folds weighted by their size).

    Parameters
    ----------
    table
        The per-fold table (:data:`COLUMNS`).

    Returns
    -------
    pandas.DataFrame
    """
    keys = ["variant", "method", "split"]
    rows = []
    for values, group in table.groupby(keys, sort=False):
        rows.append({**dict(zip(keys, values, strict=True)), **_summary_row(group)})
    return pd.DataFrame(rows)


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def _label(row: pd.Series) -> str:
    """The variant, with its method unless it is the default NUTS fit."""
    return row["variant"] + ("" if row["method"] == "nuts" else f" ({row['method']})")


def describe(summary: pd.DataFrame) -> str:
    """One sentence: the best R^2 of each split and the range of 90 % coverage."""
    scored = summary[summary["folds"] > 0]
    if scored.empty:
        reasons = "; ".join(sorted({n for n in summary["note"] if n})) or "no folds"
        return f"No fold could be scored ({reasons})."
    parts = []
    for split, group in scored.groupby("split", sort=False):
        ranked = group.dropna(subset=["r2"]).sort_values("r2", ascending=False)
        if ranked.empty:
            continue
        best = ranked.iloc[0]
        text = f"{split}: {_label(best)} {_fmt(best['r2'])}"
        if len(ranked) > 1:
            worst = ranked.iloc[-1]
            text += f" (lowest {_label(worst)} {_fmt(worst['r2'])})"
        parts.append(text)
    best = "; ".join(parts) if parts else "no R^2 could be computed"
    cover = scored["cover90"].dropna()
    if cover.empty:
        return f"Best held-out R^2 of log-loss by split: {best}."
    span = f"{cover.min():.0%}"
    if cover.max() > cover.min():
        span += f" to {cover.max():.0%}"
    return (
        f"Best held-out R^2 of log-loss by split: {best}; the 90 % equal-tailed posterior "
        f"predictive intervals covered {span} of held-out evaluations (nominal 90 %)."
    )


@dataclass
class CVResult:
    """Cross-validation scores.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (variant, method, split, fold), columns :data:`COLUMNS` (see
        :data:`DEFINITIONS`). A split that does not apply to a variant's data gives one row
        with ``n_heldout`` 0, NaN scores and the reason in ``note``.
    meta : dict
        Sampler settings, seeds, study hash, timings, versions.
    """

    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Scores per (variant, method, split) over folds (see :func:`summarise`)."""
        return summarise(self.table)

    @property
    def sentence(self) -> str:
        """The result in one sentence."""
        return describe(self.summary)

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (NaN and infinities become None)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            # Infinities too: a one-chain fit has no R-hat, and its max_rhat is -inf.
            frame = frame.replace([np.inf, -np.inf], np.nan)
            clean = frame.astype(object).where(pd.notna(frame), None)
            return clean.to_dict(orient="records")

        return {
            "sentence": self.sentence,
            "definitions": DEFINITIONS,
            "meta": self.meta,
            "summary": records(self.summary),
            "folds": records(self.table),
        }

    def save(self, path: str | Path, overwrite: bool = False) -> dict[str, Path]:
        """Write ``PATH`` (per-fold CSV), ``PATH-summary.csv`` and ``PATH.json``, atomically.

        Parameters
        ----------
        path
            The per-fold CSV (``cv.csv``); the others go beside it.
        overwrite
            Replace existing files.

        Returns
        -------
        dict of pathlib.Path
            As :func:`output_paths`.

        Raises
        ------
        FileExistsError
            If a file exists and ``overwrite`` is false (nothing is written then).
        """
        paths = output_paths(path)
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing and not overwrite:
            raise FileExistsError(f"{', '.join(existing)} exist(s); pass --force to replace")
        with atomic_file(paths["table"], overwrite=True) as staging:
            self.table.to_csv(staging, index=False, float_format="%.6g")
        with atomic_file(paths["summary"], overwrite=True) as staging:
            self.summary.to_csv(staging, index=False, float_format="%.6g")
        with atomic_file(paths["json"], overwrite=True) as staging:
            text = json.dumps(self.to_dict(), indent=1, default=str, allow_nan=False)
            Path(staging).write_text(text + "\n")
        return paths


__all__ = [
    "COLUMNS",
    "DEFINITIONS",
    "INTEGER_COLUMNS",
    "CVResult",
    "describe",
    "output_paths",
    "summarise",
]
