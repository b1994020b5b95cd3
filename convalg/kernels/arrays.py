"""The array module of an array, and the array-level rules every backend shares.

===================  ==============================================================
function             result
===================  ==============================================================
``is_cupy``          whether ``a`` is a CuPy array (by its type's module: CuPy is
                     never imported to answer)
``array_module``     ``cupy`` for a CuPy array, else ``numpy`` (the host shim runs
                     the CUDA kernels on NumPy arrays, so it gets ``numpy``)
``cupy_module``      CuPy itself, or a clear error where it is not installed
``cuda_device``      whether CuPy is installed and sees a CUDA device
``all_finite``       no NaN / inf in any of the arrays (one reduction each)
``flip_spatial``     an array reversed along its spatial axes, contiguous
===================  ==============================================================

>>> import numpy as np
>>> array_module(np.zeros(2)).__name__, is_cupy([1.0]), isinstance(cuda_device(), bool)
('numpy', False, True)
>>> all_finite(np.ones(3), np.array([1.0, np.inf]))
False
>>> flip_spatial(np.arange(6.0).reshape(1, 2, 3)).tolist()
[[[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]]
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["is_cupy", "array_module", "cupy_module", "cuda_device", "all_finite", "flip_spatial"]


def is_cupy(a: Any) -> bool:
    """Whether ``a`` is a CuPy array (or another CuPy object)."""
    return type(a).__module__.split(".")[0] == "cupy"


def cupy_module() -> ModuleType:
    """Import CuPy, or raise a clear error."""
    try:
        return importlib.import_module("cupy")
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError("convalg.kernels.cuda needs CuPy (pip install cupy-cuda12x) and a CUDA device") from exc


def cuda_device() -> bool:
    """Whether CuPy is installed and sees at least one CUDA device (no error either way)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        return int(cupy_module().cuda.runtime.getDeviceCount()) > 0
    except Exception:  # a driver or runtime error means no usable device
        return False


def array_module(a: Any) -> ModuleType:
    """The array module of ``a``: CuPy for a CuPy array, else NumPy."""
    return cupy_module() if is_cupy(a) else np


def all_finite(*arrays: Any) -> bool:
    """No NaN / inf in ``arrays``: one sum per array in its own dtype (half the time of a float64 sum for
    float32); the sum is non-finite iff some value is, or if it overflows, which then only costs the caller's
    slower, element-wise path."""
    for a in arrays:
        xp = array_module(a)
        with np.errstate(invalid="ignore", over="ignore"):  # inf + (-inf) is the question, not a warning
            if not bool(xp.isfinite(xp.sum(a))):
                return False
    return True


def flip_spatial(a: Any) -> Any:
    """``a`` ``(N, C, *spatial)`` (or a weight) reversed along its spatial axes, as a contiguous copy."""
    flipped = a[(Ellipsis,) + (slice(None, None, -1),) * (a.ndim - 2)]
    return array_module(a).ascontiguousarray(flipped)
