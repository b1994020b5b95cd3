"""What the CUDA op modules (:mod:`.ops`, :mod:`.pool_ops`) share to launch a generated kernel.

The active array module (CuPy, or NumPy under the host shim: :func:`convalg.kernels.cuda.runtime.backend`),
the argument checks of the ops, contiguous copies, the launch itself, and :class:`CudaPlan`, the record
of a pass ready to launch that the kernels' byte-bounded cache (:mod:`convalg.kernels.cache`) holds.

>>> import numpy as np
>>> from convalg.kernels.cuda.hostshim import HostBackend
>>> from convalg.kernels.cuda.runtime import using_backend
>>> with using_backend(HostBackend()):
...     check_x("x", np.zeros((2, 3), np.float32))
Traceback (most recent call last):
...
convalg.errors.SpecError: x.shape=(2, 3): must be (N, C, *spatial)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ...errors import SpecError
from ...index_map import IndexMap
from .runtime import backend

__all__ = ["CudaPlan", "array_module", "launch", "check_x", "check_float32", "contiguous"]


def array_module() -> Any:
    """The array module of the active backend (CuPy, or NumPy under the host shim)."""
    return backend().xp


def launch(ks: Any, count: int, *arrays: Any) -> None:
    """Run kernel ``ks`` over ``count`` items (batch entries or planes) on the active backend."""
    backend().launch(ks, count, *arrays)


def check_x(name: str, a: Any, rank: int | None = None) -> None:
    """``a`` is a float32 array of the active module shaped ``(N, C, *spatial)`` (of ``rank`` dims if given)."""
    cp = array_module()
    if not isinstance(a, cp.ndarray):
        raise TypeError(f"{name}: expected a {cp.__name__}.ndarray, got {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{name}: dtype {a.dtype}; the CUDA kernels take float32")
    if a.ndim < 3 or (rank is not None and a.ndim != rank):
        raise SpecError(f"{name}.shape={a.shape}: must be (N, C, *spatial)"
                        + (f" with {rank - 2} spatial dims" if rank else ""))


def check_float32(name: str, a: Any) -> None:
    """``a`` is a float32 array of the active module (any shape)."""
    cp = array_module()
    if not isinstance(a, cp.ndarray) or a.dtype != np.float32:
        raise TypeError(f"{name}: expected a float32 {cp.__name__}.ndarray")


def contiguous(a: Any) -> Any:
    """``a`` as a C-contiguous array (no copy when it already is one)."""
    return array_module().ascontiguousarray(a)


class CudaPlan(NamedTuple):
    """A pass ready to launch: ``algorithm`` (for a pool kernel: its generator), the index map, the generated
    kernel (for ``'fft'``: the guarded implicit GEMM that redoes the pass on non-finite input), split-K slices.
    Its weight in the kernels' cache (``nbytes``) is the generated source and a bound for the index map."""

    algorithm: str
    imap: IndexMap
    kernel: Any
    splits: int = 1

    nbytes = property(lambda self: len(getattr(self.kernel, "code", "")) + 8192)
