"""What every decision returns: draws over the posterior, and a tidy summary of them.

A decision ("how many parameters at this compute", "pretrain or finetune") is computed draw by
draw from a fit's posterior. :class:`Decision` keeps those draws (an ``xarray.Dataset`` whose
variables have ``chain`` and ``draw`` dimensions) with the unit of each quantity, and
summarises them on request with an interval whose probability and kind are stated in every
row (:data:`SUMMARY_FIELDS`). Risk-aware views (a quantile for a cautious answer, the
probability of staying below a threshold) are small functions over the same draws.
"""

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.summaries import SAMPLE_DIMS, probability, summarise_draws

#: Fields of every summary row (and of ``--json`` output), in order.
SUMMARY_FIELDS = (
    "quantity", "unit", "mean", "median", "ci_prob", "ci_kind", "ci_low", "ci_high", "draws",
)  # fmt: skip


class DecisionError(ValueError):
    """A request a fit cannot answer: unknown language, wrong variant, impossible input."""


@dataclass(frozen=True)
class Decision:
    """Draws of the quantities that answer one question, with their units.

    Attributes
    ----------
    question : str
        The question in words (``"compute-optimal allocation for fr at 1e21 FLOPs"``).
    draws : xarray.Dataset
        One variable per quantity, each with ``chain`` and ``draw`` dimensions (and possibly
        others, such as ``budget`` for a frontier).
    units : dict of str to str
        Unit of each variable of ``draws``.
    inputs : dict
        The request (language, budgets, model size...), for the record and JSON output.
    notes : list of str
        Warnings a user must see with the numbers, such as extrapolation far outside the
        fitted data.
    """

    question: str
    draws: xr.Dataset
    units: dict[str, str]
    inputs: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = [name for name in self.draws.data_vars if name not in self.units]
        if missing:
            raise ValueError(f"no unit given for {', '.join(missing)}")
        for name, values in self.draws.data_vars.items():
            if not set(SAMPLE_DIMS) <= set(values.dims):
                raise ValueError(f"{name} lacks the chain and draw dimensions")

    @property
    def extrapolated(self) -> bool:
        """True when a note flags the request as outside the fitted data."""
        return any(note.startswith("extrapolation") for note in self.notes)

    def summary(
        self,
        ci_prob: float = CI_PROB,
        ci_kind: str = CI_KIND,
        quantities: list[str] | None = None,
    ) -> pd.DataFrame:
        """Tidy table: one row per quantity (and per coordinate of its other dimensions).

        Parameters
        ----------
        ci_prob, ci_kind
            The credible interval, passed to ArviZ explicitly (``eti`` or ``hdi``).
        quantities
            Variables to summarise (default: all, in the Dataset's order).

        Returns
        -------
        pandas.DataFrame
            Coordinate columns (if any), then :data:`SUMMARY_FIELDS`.
        """
        names = list(self.draws.data_vars) if quantities is None else quantities
        tables = [
            summarise_draws(self.draws[name], name, self.units[name], ci_prob, ci_kind)
            for name in names
        ]
        return pd.concat(tables, ignore_index=True)

    def to_json_dict(self, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND) -> dict[str, Any]:
        """The summary as plain JSON types: question, inputs, notes and the rows."""
        rows = self.summary(ci_prob, ci_kind).to_dict(orient="records")
        return {
            "question": self.question,
            "inputs": _plain(self.inputs),
            "notes": list(self.notes),
            "extrapolated": self.extrapolated,
            "results": [_plain(row) for row in rows],
        }

    def to_json(self, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND) -> str:
        """:meth:`to_json_dict` as text (NaN written as ``null``)."""
        return json.dumps(self.to_json_dict(ci_prob, ci_kind), indent=1, allow_nan=False)


def _plain(value: Any) -> Any:
    """Convert numpy scalars to Python ones and NaN or infinities to None (valid JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def quantile(draws: xr.DataArray, q: float) -> xr.DataArray:
    """The ``q`` posterior quantile (a cautious answer: q = 0.9 for a loss), NaN-safe."""
    if not 0 < q < 1:
        raise DecisionError(f"quantile must be in (0, 1), got {q}")
    return draws.quantile(q, dim=SAMPLE_DIMS, skipna=True).drop_vars("quantile")


def probability_below(draws: xr.DataArray, threshold: float) -> xr.DataArray:
    """P(quantity < threshold) over the posterior (undefined draws count as not below)."""
    return probability(draws < threshold)


def risk_summary(
    draws: xr.DataArray,
    quantity: str,
    unit: str,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    threshold: float | None = None,
    quantiles: tuple[float, ...] = (0.1, 0.9),
) -> pd.DataFrame:
    """:func:`~atlas_bayes.summaries.summarise_draws` plus quantiles and P(below threshold).

    Parameters
    ----------
    draws
        Draws with ``chain`` and ``draw``.
    quantity, unit
        What the numbers are.
    ci_prob, ci_kind
        The credible interval.
    threshold
        If given, adds ``threshold`` and ``p_below`` (P(quantity < threshold)).
    quantiles
        Posterior quantiles added as ``q10``, ``q90``... (cautious answers).

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_FIELDS` (after any coordinate columns), then the quantile columns and,
        with a threshold, ``threshold`` and ``p_below``.
    """
    table = summarise_draws(draws, quantity, unit, ci_prob, ci_kind)
    for q in quantiles:
        table[f"q{round(q * 100):02d}"] = np.ravel(quantile(draws, q).values)
    if threshold is not None:
        table["threshold"] = threshold
        table["p_below"] = np.ravel(probability_below(draws, threshold).values)
    return table


__all__ = [
    "SUMMARY_FIELDS",
    "Decision",
    "DecisionError",
    "probability_below",
    "quantile",
    "risk_summary",
]
