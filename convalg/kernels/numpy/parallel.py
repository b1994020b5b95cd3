"""Large strided copies split over threads (NumPy's copy loops run on one core) -- opt-in.

The GEMM / Winograd / FFT kernels spend a good part of their time in copies
that NumPy runs single-threaded (tile gathers, im2col columns, transposed
write-backs).  :func:`copyto` cuts a large copy into :data:`WORKERS` slabs
along its first axis of size > 1 and runs them on a small thread pool (NumPy
releases the GIL inside its copy loops; BLAS is never called from the pool).
Copies under :data:`MIN_BYTES`, and every copy while ``WORKERS == 1``, stay on
the calling thread.

Off by default (``WORKERS = 1``): measured on the 2-core development VM
(2026-11-26), the pool made the tile gather of the 8x64x56x56 Winograd layer
1.9x faster in isolation, but inside whole convolutions with OpenBLAS on two
threads (its default; same process, alternating) they got 0-20% *slower*:
OpenBLAS's worker keeps spinning (``sched_yield``) for a while after each GEMM
and competes with the copy threads.  Set ``WORKERS = 2`` when BLAS runs
single-threaded (``OPENBLAS_NUM_THREADS=1``, ``threadpoolctl``).

>>> import numpy as np
>>> src = np.arange(24.0).reshape(2, 3, 4).transpose(2, 1, 0)
>>> dst = np.empty(src.shape)
>>> copyto(dst, src, min_bytes=0, workers=2) is dst and bool((dst == src).all())
True
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["copyto", "contiguous", "MIN_BYTES", "WORKERS"]

#: Copies smaller than this run on the calling thread (thread hand-off costs ~20-50 µs).
MIN_BYTES = 1 << 20
#: Slabs per large copy; 1 (the default, see the module docstring) disables the pool.
WORKERS = 1
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=3, thread_name_prefix="convalg-copy")
    return _POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a fresh pool on first use."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def copyto(dst: np.ndarray, src: np.ndarray, min_bytes: int | None = None, workers: int | None = None) -> np.ndarray:
    """``dst[...] = src`` (same shape), split over ``workers`` threads (default :data:`WORKERS`) when large;
    returns ``dst``."""
    limit = MIN_BYTES if min_bytes is None else min_bytes
    want = WORKERS if workers is None else workers
    axis = next((a for a, n in enumerate(dst.shape) if n > 1), None)
    parts = want if axis is None else min(want, dst.shape[axis])
    if parts < 2 or dst.nbytes < limit or axis is None:
        np.copyto(dst, src)
        return dst
    bounds = [dst.shape[axis] * i // parts for i in range(parts + 1)]
    lead = (slice(None),) * axis
    slabs = [(lead + (slice(b0, b1),)) for b0, b1 in zip(bounds[:-1], bounds[1:])]
    futures = [_pool().submit(np.copyto, dst[s], src[s]) for s in slabs[1:]]
    np.copyto(dst[slabs[0]], src[slabs[0]])
    for f in futures:
        f.result()
    return dst


def contiguous(src: np.ndarray) -> np.ndarray:
    """``numpy.ascontiguousarray(src)`` with :func:`copyto` for large non-contiguous arrays."""
    if src.flags.c_contiguous:
        return src
    return copyto(np.empty(src.shape, dtype=src.dtype), src)
