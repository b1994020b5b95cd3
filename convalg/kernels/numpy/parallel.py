"""Large strided copies split over the cores (NumPy's copy loops run on one core).

The GEMM / Winograd / FFT kernels spend a good part of their time in copies
that NumPy runs single-threaded (tile gathers, im2col columns, transposed
write-backs), while BLAS and ``scipy.fft`` use every core.  :func:`copyto`
cuts a large copy into one slab per core along its first axis of size > 1
and runs the slabs on a small thread pool (NumPy releases the GIL inside its
copy loops); BLAS is never called from the pool, so the two never compete for
the cores.  Copies under :data:`MIN_BYTES` stay on the calling thread.

>>> import numpy as np
>>> src = np.arange(24.0).reshape(2, 3, 4).transpose(2, 1, 0)
>>> dst = np.empty(src.shape)
>>> copyto(dst, src, min_bytes=0) is dst and bool((dst == src).all())
True
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["copyto", "contiguous", "MIN_BYTES", "WORKERS"]

#: Copies smaller than this run on the calling thread (thread hand-off costs ~20-50 µs).
MIN_BYTES = 1 << 20
#: Slabs per large copy (the cores, at most 4); 1 disables the pool.
WORKERS = max(1, min(4, os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, WORKERS - 1), thread_name_prefix="convalg-copy")
    return _POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a fresh pool on first use."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def copyto(dst: np.ndarray, src: np.ndarray, min_bytes: int | None = None) -> np.ndarray:
    """``dst[...] = src`` (same shape), split over the cores when large; returns ``dst``."""
    limit = MIN_BYTES if min_bytes is None else min_bytes
    axis = next((a for a, n in enumerate(dst.shape) if n > 1), None)
    parts = WORKERS if axis is None else min(WORKERS, dst.shape[axis])
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
