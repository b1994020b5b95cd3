"""Compile generated kernels through ``cupy.RawModule`` and launch them with validated arguments.

* Compilation: ``cupy.RawModule(code=..., options=...)`` with the kernel's
  ``extern "C"`` name; CuPy's kernel cache (memory and ``CUPY_CACHE_DIR`` on disk)
  is keyed by the source, which inlines every helper (no user headers), so the
  cache is never stale.  This module also keeps the compiled function of the
  :data:`MAX_FUNCTIONS` most recently used kernel names in process (the name hashes
  the specialisation), so a process that sees many shapes does not grow.
* Scalars: every ``int`` parameter is passed as ``numpy.int32`` (CuPy would pass
  a Python ``int`` as ``long long``, silently wrong for an ``int`` parameter).
* Arrays: checked for type (``cupy.ndarray``), dtype (``float32`` for ``float*``,
  ``int64`` for ``long long*``), C-contiguity, device (the current one) and size
  (flat offsets are 32-bit ``int`` in the generated code: at most 2**31 - 1
  elements).

Importing this module does not import CuPy.

>>> check_int32_size(2**31 - 1)
>>> check_int32_size(2**31)
Traceback (most recent call last):
...
convalg.errors.SpecError: size=2147483648: the generated CUDA kernels index with 32-bit ints; at most 2147483647 elements
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...errors import SpecError
from ..arrays import cupy_module
from .codegen import KernelSource, check_grid

__all__ = ["MAX_FUNCTIONS", "clear_functions", "cupy_module", "get_function", "launch", "check_array", "check_int32_size", "NVRTC_OPTIONS", "Backend",
           "CupyBackend", "backend", "using_backend"]

NVRTC_OPTIONS = ("-std=c++17",)
_LOCK = threading.Lock()
#: Compiled functions kept in process (least recently used dropped first; CuPy's own cache reloads them quickly).
MAX_FUNCTIONS = 256
_FUNCTIONS: OrderedDict[str, Any] = OrderedDict()
_DTYPES = {"float": np.float32, "long long": np.int64}


def check_int32_size(size: int) -> None:
    """Raise :class:`SpecError` when an array is too large for 32-bit flat offsets."""
    if size > 2**31 - 1:
        raise SpecError(f"size={size}: the generated CUDA kernels index with 32-bit ints; at most {2**31 - 1} elements")


def get_function(ks: KernelSource) -> Any:
    """The compiled ``cupy.RawKernel``-like function of ``ks`` (cached per kernel name, at most
    :data:`MAX_FUNCTIONS` of them)."""
    with _LOCK:
        fn = _FUNCTIONS.get(ks.name)
        if fn is not None:
            _FUNCTIONS.move_to_end(ks.name)
            return fn
        cp = cupy_module()
        mod = cp.RawModule(code=ks.code, options=NVRTC_OPTIONS, name_expressions=None)
        fn = mod.get_function(ks.name)
        _FUNCTIONS[ks.name] = fn
        while len(_FUNCTIONS) > MAX_FUNCTIONS:
            _FUNCTIONS.popitem(last=False)
    return fn


def clear_functions() -> None:
    """Forget the compiled functions (CuPy keeps its own compile cache, so a later call reloads quickly)."""
    with _LOCK:
        _FUNCTIONS.clear()


def check_array(name: str, a: Any, ctype: str) -> None:
    """Validate one array argument against its C parameter type (see the module docstring)."""
    cp = cupy_module()
    if not isinstance(a, cp.ndarray):
        raise TypeError(f"{name}: expected a cupy.ndarray, got {type(a).__name__}")
    base = ctype.replace("const", "").replace("__restrict__", "").replace("*", "").strip()
    want = _DTYPES[base]
    if a.dtype != want:
        raise TypeError(f"{name}: dtype {a.dtype} where the kernel needs {np.dtype(want)}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: array must be C-contiguous")
    if a.device.id != cp.cuda.Device().id:
        raise ValueError(f"{name}: array is on device {a.device.id}, the current device is {cp.cuda.Device().id}")
    check_int32_size(a.size)


def launch(ks: KernelSource, count: int, *arrays: Any) -> None:
    """Launch ``ks``: pointer parameters from ``arrays`` in order, ``int`` parameters = ``count`` (int32)."""
    check_int32_size(count)
    args: list[Any] = []
    it = iter(arrays)
    for ctype, pname in ks.params:
        if "*" in ctype:
            a = next(it)
            check_array(pname, a, ctype)
            args.append(a)
        elif ctype == "int":
            args.append(np.int32(count))
        else:  # pragma: no cover - generators emit int and pointers only
            raise TypeError(f"{pname}: unsupported parameter type {ctype}")
    grid = ks.grid(count)
    if min(grid) == 0:
        return
    check_grid(ks.name, grid)
    get_function(ks)(grid, ks.block, tuple(args))


class Backend:
    """Where :mod:`convalg.kernels.cuda.ops` allocates (``xp``) and runs (``launch``) kernels."""

    name = "abstract"

    @property
    def xp(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def launch(self, ks: KernelSource, count: int, *arrays: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class CupyBackend(Backend):
    """The real one: CuPy arrays, ``cupy.RawModule`` kernels."""

    name = "cupy"

    @property
    def xp(self) -> Any:
        return cupy_module()

    def launch(self, ks: KernelSource, count: int, *arrays: Any) -> None:
        launch(ks, count, *arrays)


_CURRENT: list[Backend] = []


def backend() -> Backend:
    """The active backend (CuPy unless :func:`using_backend` says otherwise)."""
    return _CURRENT[-1] if _CURRENT else CupyBackend()


@contextmanager
def using_backend(b: Backend) -> Iterator[Backend]:
    """Run ``ops`` on another backend (the host shim in CI) inside the ``with`` block."""
    _CURRENT.append(b)
    try:
        yield b
    finally:
        _CURRENT.pop()
