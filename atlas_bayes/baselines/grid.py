"""The grid of starting points, evaluated for every bootstrap replicate at once.

Hoffmann et al. (2022) and Besiroglu et al. (2024) start L-BFGS from a grid because the Huber
objective of the Chinchilla law has local minima. Besiroglu et al.'s grid is ``e`` in
``{-1, -0.5, ..., 1}``, ``alpha`` and ``beta`` in ``{0, 0.5, ..., 2}``, and ``a``, ``b``
(log A, log B) in ``{0, 5, ..., 25}``: 4,500 points. :data:`DEFAULT_GRID` keeps its values
of ``log E`` and of the exponents and its number of coefficient values; the coefficients here
are the two terms' log losses at the reference scales (``log_a = log A - alpha log N_ref``),
so their six values are put where those live, ``{-4, ..., 1}`` (0.02 to 2.7 nats). The laws'
extra parameters get a few values each: ``log_decay`` (log lambda, R_D* = 1/lambda from 2.7
to 148 epochs' worth), the transfer weights (start at no transfer; ``tau_other`` also at
a small positive transfer, the paper's finding) and He et al.'s ``gamma`` (no effect of the
sampling ratio, and the small positive effect the law's prior expects).

The Huber objective is a weighted sum over observations, and a bootstrap replicate only
changes the weights (how often each run is drawn). So the grid's residuals are computed once
and each replicate's grid objective is a matrix product: ranking the grid for 1,000
replicates costs about as much as for one.
"""

import itertools
from collections.abc import Mapping

import numpy as np
import xarray as xr

from atlas_bayes.baselines.layout import ParameterLayout
from atlas_bayes.baselines.objective import huber
from atlas_bayes.modeling.mean import model_inputs, predicted_log_loss
from atlas_bayes.variants import VariantSpec
from atlas_bayes.variants.spec import SLOT_PARAMETERS

#: Starting values of each parameter (see the module docstring); a slot parameter takes the
#: same value in every slot.
DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "log_E": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "log_a": (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0),
    "log_b": (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
    "log_decay": (-5.0, -4.0, -3.0, -2.0, -1.0),
    "tau_top": (0.0,),
    "tau_other": (0.0, 0.1),
    "gamma": (0.0, 0.2),
}

#: Largest number of (grid point x observation x slot) values held at once.
MAX_ELEMENTS = 4_000_000


def grid_points(
    names: Mapping[str, slice], grid: Mapping[str, tuple[float, ...]], width: int
) -> np.ndarray:
    """Every combination of the grid values of ``names``, laid out on ``width`` columns.

    Parameters
    ----------
    names
        Parameter to its columns (a :class:`ParameterLayout`'s ``columns`` or ``shared``).
    grid
        Parameter to its starting values.
    width
        Number of columns.

    Returns
    -------
    numpy.ndarray
        ``(points, width)``; one row of width 0 when ``names`` is empty.
    """
    values = [grid[name] for name in names]
    rows = []
    for combination in itertools.product(*values):
        row = np.zeros(width)
        for cols, value in zip(names.values(), combination, strict=True):
            row[cols] = value
        rows.append(row)
    return np.array(rows).reshape(len(rows), width)


def _grid_theta(
    layout: ParameterLayout, points: np.ndarray, shared: np.ndarray, n_obs: int
) -> dict[str, np.ndarray]:
    """Per-observation parameters for every grid point: ``(points, obs[, slot])``."""
    theta = {}
    for name, cols in layout.columns.items():
        values = points[:, cols]
        if name in SLOT_PARAMETERS:
            theta[name] = np.broadcast_to(
                values[:, None, :], (len(points), n_obs, cols.stop - cols.start)
            )
        else:
            theta[name] = np.broadcast_to(values, (len(points), n_obs))
    for name, cols in layout.shared.items():
        if name in SLOT_PARAMETERS:
            theta[name] = np.broadcast_to(shared[cols], (len(points), n_obs, layout.n_slots))
        else:
            theta[name] = np.full((len(points), n_obs), shared[cols.start])
    return theta


def best_grid_points(
    spec: VariantSpec,
    layout: ParameterLayout,
    data: xr.Dataset,
    points: np.ndarray,
    shared: np.ndarray,
    weights: np.ndarray,
    k: int,
    delta: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best grid points of each language for each replicate.

    Given the shared values, the objective is a sum over languages of terms that depend only
    on that language's parameters, so each language's best points are found separately.

    Parameters
    ----------
    spec, layout
        The variant and its layout.
    data
        Fit data of one block (``target`` indexes its languages).
    points
        ``(points, n_columns)`` per-language starting values (:func:`grid_points`).
    shared
        ``(n_shared,)`` the shared values these points are evaluated with.
    weights
        ``(replicates, obs)`` observation weights of each replicate.
    k
        Points kept per language and replicate.
    delta
        Huber threshold.

    Returns
    -------
    values, indices : numpy.ndarray
        ``(k, languages, replicates)`` the language's objective at its ``k`` best points
        (ascending) and those points' rows of ``points``.
    """
    inputs = model_inputs(data)
    observed = data["log_loss"].values
    target = data["target"].values
    n_languages = data.sizes["language"]
    n_obs = len(observed)
    members = [np.flatnonzero(target == i) for i in range(n_languages)]
    k = min(k, len(points))
    best = np.full((0, n_languages, len(weights)), np.inf)
    best_index = np.zeros((0, n_languages, len(weights)), dtype=np.int64)
    size = max(1, MAX_ELEMENTS // (n_obs * (layout.n_slots + 2)))
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        predicted = predicted_log_loss(
            spec.law,
            _grid_theta(layout, chunk, shared, n_obs),
            inputs,
            spec.params_ref,
            spec.tokens_ref,
            spec.interference,
            spec.languages_ref,
        )
        loss = huber(predicted - observed, delta)
        # A grid point where the law is undefined (overflow) is never a start.
        loss = np.where(np.isfinite(loss), loss, np.inf)
        objective = np.stack([loss[:, m] @ weights[:, m].T for m in members], axis=1)
        objective = np.where(np.isfinite(objective), objective, np.inf)
        index = np.broadcast_to(
            np.arange(start, start + len(chunk))[:, None, None], objective.shape
        )
        values = np.concatenate([best, objective])
        indices = np.concatenate([best_index, index])
        keep = np.argpartition(values, min(k, len(values)) - 1, axis=0)[:k]
        best = np.take_along_axis(values, keep, axis=0)
        best_index = np.take_along_axis(indices, keep, axis=0)
    order = np.argsort(best, axis=0, kind="stable")
    return np.take_along_axis(best, order, axis=0), np.take_along_axis(best_index, order, axis=0)


__all__ = ["DEFAULT_GRID", "best_grid_points", "grid_points"]
