"""Layer parameters of the functional ops, validated *before* any cache sees them.

Every cache of the kernels is keyed on these values.  Python says ``2.0 == 2`` and
``True == 1`` (with equal hashes), so a cache keyed on the raw arguments would
answer ``stride=2.0`` with the plan of ``stride=2`` once that exists, and validation
would depend on call history.  :func:`freeze` therefore turns each argument into
plain ints / tuples (NumPy and SymPy integers become ``int``) and rejects floats,
bools, arrays and other objects with :class:`~convalg.SpecError` naming the
parameter; strings (``'same'``, ``'valid'``) and ``None`` pass through for the
layer specs to judge.

>>> freeze("stride", [2, (1, 3)])
(2, (1, 3))
>>> freeze("stride", 2.0)
Traceback (most recent call last):
...
convalg.errors.SpecError: stride=2.0: must be an integer or a tuple of integers, got float
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError

__all__ = ["freeze"]


def freeze(name: str, value: Any) -> Any:
    """``value`` as hashable plain ints / tuples (see the module docstring)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(freeze(f"{name}[{i}]", v) for i, v in enumerate(value))
    if isinstance(value, (bool, np.bool_)):
        raise SpecError(f"{name}={value!r}: must be an integer, not a bool")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, sp.Basic):
        if value.is_Integer:
            return int(value)
        return value  # a symbolic padding: the layer spec validates it
    got = "array" if isinstance(value, np.ndarray) else type(value).__name__
    raise SpecError(f"{name}={value!r}: must be an integer or a tuple of integers, got {got}")
