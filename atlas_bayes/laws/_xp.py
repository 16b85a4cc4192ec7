"""Pick the array module for a law: numpy for arrays, ``pytensor.tensor`` for symbolic tensors.

The laws are written once against the small common subset of the two modules (``exp``, ``log``,
``expm1``, ``maximum``, ``minimum``, ``where``, ``logaddexp``, ``sum``), so that the same
function evaluates posterior draws with numpy and builds the PyMC likelihood with PyTensor.
"""

from types import ModuleType
from typing import Any

import numpy as np


def _is_symbolic(value: Any) -> bool:
    # Imported lazily: numpy-only users (simulation, decisions) need not pay PyTensor's import.
    module = type(value).__module__
    if not module.startswith("pytensor"):
        return False
    from pytensor.graph.basic import Variable

    return isinstance(value, Variable)


def array_namespace(*values: Any) -> ModuleType:
    """Return ``pytensor.tensor`` if any argument is a PyTensor variable, else ``numpy``.

    Parameters
    ----------
    *values
        The law's inputs: numbers, numpy arrays, xarray objects or PyTensor variables.

    Returns
    -------
    module
        A module exposing ``exp``, ``log``, ``expm1``, ``maximum``, ``minimum``, ``where``,
        ``logaddexp`` and ``sum`` with numpy semantics.
    """
    if any(_is_symbolic(v) for v in values):
        import pytensor.tensor as pt

        return pt
    return np


def scatter_add(base: Any, index: Any, values: Any) -> Any:
    """``base`` with ``values`` added at positions ``index`` of its last axis (repeats add up).

    Parameters
    ----------
    base
        Array or tensor ``(..., n)``.
    index
        Integer array ``(m,)`` of positions in ``[0, n)``.
    values
        ``(..., m)``, broadcastable with ``base``'s leading dimensions.

    Returns
    -------
    array or tensor
        ``(..., n)``: numpy's ``add.at`` semantics on the last axis.
    """
    xp = array_namespace(base, values)
    if xp is np:
        values = np.asarray(values)
        lead = np.broadcast_shapes(np.shape(base)[:-1], values.shape[:-1])
        out = np.array(np.broadcast_to(base, (*lead, np.shape(base)[-1])), dtype=float)
        np.add.at(
            np.moveaxis(out, -1, 0),
            np.asarray(index),
            np.moveaxis(np.broadcast_to(values, (*lead, values.shape[-1])), -1, 0),
        )
        return out
    return xp.inc_subtensor(base[..., index], values)
