"""The Huber objective on log-loss residuals and its exact gradient, compiled with PyTensor.

The point fit minimises ``sum_i w_i * huber_delta(log L_hat_i - log L_i) / delta``, where
``log L_hat`` is :func:`~atlas_bayes.modeling.mean.predicted_log_loss`, the same graph the
Bayesian model is built from, so that a point fit and a posterior describe the same law. The
gradient is PyTensor's symbolic one (no finite differences). Dividing by ``delta`` leaves the
minimiser unchanged and puts the objective on the scale of absolute residuals, so that scipy's
tolerances mean the same thing for any ``delta``.

The data enter as function inputs, not constants: one compiled function serves every language
block and every bootstrap replicate (replicates differ only in the weights ``w``).
"""

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
import xarray as xr

from atlas_bayes.baselines.layout import ParameterLayout
from atlas_bayes.modeling.mean import model_inputs, predicted_log_loss
from atlas_bayes.variants import VariantSpec

#: Huber threshold on log-loss residuals of the ATLAS authors' public fitting code (and of
#: Hoffmann et al. 2022 and Besiroglu et al. 2024).
HUBER_DELTA = 1e-3


def huber(residual: Any, delta: float) -> Any:
    """Huber loss of ``residual`` (numpy or PyTensor), divided by ``delta``.

    ``r**2 / (2 delta)`` for ``|r| <= delta``, ``|r| - delta / 2`` beyond.
    """
    size = abs(residual)
    # min(|r|, delta) in arithmetic and abs only, so numpy arrays and PyTensor tensors both
    # run it; then clipped * (|r| - clipped / 2) / delta is the Huber loss over delta.
    clipped = 0.5 * (size + delta - abs(size - delta))
    return clipped * (size - 0.5 * clipped) / delta


def block_arrays(data: xr.Dataset) -> list[np.ndarray]:
    """The positional data inputs of a compiled objective, from fit data of one block.

    ``target`` (each observation's row of the block's per-language matrix), the observed
    log-loss, then :func:`~atlas_bayes.modeling.mean.model_inputs` in their order.
    """
    arrays = model_inputs(data)
    return [
        np.ascontiguousarray(data["target"].values, dtype=np.int64),
        np.ascontiguousarray(data["log_loss"].values, dtype=float),
        *(np.ascontiguousarray(a) for a in arrays.values()),
    ]


def _signature(data_example: Mapping[str, np.ndarray]) -> tuple[tuple[str, str, int], ...]:
    return tuple((k, str(v.dtype), v.ndim) for k, v in data_example.items())


def compile_objective(
    spec: VariantSpec,
    layout: ParameterLayout,
    data: xr.Dataset,
    delta: float = HUBER_DELTA,
    single: bool = False,
) -> Callable[..., list[np.ndarray]]:
    """Compile ``(per_language, shared, weights, *block_arrays) -> [value, d/dper, d/dshared]``.

    Parameters
    ----------
    spec
        The variant (law, reference scales, interference).
    layout
        Its parameter layout.
    data
        Fit data of any block (for the inputs' names, types and ranks).
    delta
        Huber threshold.
    single
        For blocks of one language only (see :meth:`ParameterLayout.theta`).

    Returns
    -------
    callable
        A PyTensor function with ``trust_input`` set: pass float64 arrays, ``weights`` with
        one entry per observation. Compiled once per (law, layout, inputs) in a process.
    """
    signature = _signature(model_inputs(data.isel(obs=slice(0, 1))))
    columns = tuple((k, s.start, s.stop) for k, s in layout.columns.items())
    shared = tuple((k, s.start, s.stop) for k, s in layout.shared.items())
    return _compiled(
        spec.law,
        float(spec.params_ref),
        float(spec.tokens_ref),
        spec.interference,
        float(spec.languages_ref),
        columns,
        shared,
        layout.n_slots,
        signature,
        float(delta),
        bool(single),
    )


@lru_cache(maxsize=16)
def _compiled(
    law: str,
    params_ref: float,
    tokens_ref: float,
    interference: str,
    languages_ref: float,
    columns: tuple[tuple[str, int, int], ...],
    shared: tuple[tuple[str, int, int], ...],
    n_slots: int,
    signature: tuple[tuple[str, str, int], ...],
    delta: float,
    single: bool,
) -> Callable[..., list[np.ndarray]]:
    layout = ParameterLayout(
        {k: slice(a, b) for k, a, b in columns}, {k: slice(a, b) for k, a, b in shared}, n_slots
    )
    per_language = pt.matrix("per_language", dtype="float64")
    shared_values = pt.vector("shared", dtype="float64")
    weights = pt.vector("weights", dtype="float64")
    target = pt.vector("target", dtype="int64")
    observed = pt.vector("observed", dtype="float64")
    inputs = {
        name: pt.tensor(name=name, dtype=dtype, shape=(None,) * ndim)
        for name, dtype, ndim in signature
    }
    theta = layout.theta(per_language, shared_values, target, single)
    predicted = predicted_log_loss(
        law, theta, inputs, params_ref, tokens_ref, interference, languages_ref
    )
    value = (weights * huber(predicted - observed, delta)).sum()
    wrt = [per_language] + ([shared_values] if shared else [])
    gradients = pt.grad(value, wrt)
    if not shared:
        gradients.append(pt.zeros((0,)))
    function = pytensor.function(
        [per_language, shared_values, weights, target, observed, *inputs.values()],
        [value, *gradients],
        on_unused_input="ignore",
    )
    # The optimiser calls this thousands of times with arrays of the right types; skipping
    # the input checks halves the cost of a call on a few hundred observations (measured).
    function.trust_input = True
    return function


__all__ = ["HUBER_DELTA", "block_arrays", "compile_objective", "huber"]
