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
