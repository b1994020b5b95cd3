"""Threads for large strided copies (opt-in) and for whole kernel chunks (:func:`map_chunks`).

The GEMM / Winograd / FFT kernels spend a good part of their time in copies that NumPy runs
single-threaded (tile gathers, im2col columns, transposed write-backs).  :func:`copyto` cuts a
large copy into :data:`WORKERS` slabs along its first axis of size > 1 and runs them on a small
thread pool (NumPy releases the GIL inside its copy loops; BLAS is never called from the pool).
Copies under :data:`MIN_BYTES`, and every copy while ``WORKERS == 1``, stay on the calling thread.
It is off by default because a threaded BLAS keeps its worker spinning for a while after each GEMM,
competing with the copy threads; set ``WORKERS = 2`` when BLAS runs single-threaded.

:func:`map_chunks` runs independent chunks of a kernel (the Winograd forward's batch chunks) on
:data:`KERNEL_WORKERS` threads with BLAS pinned to one thread meanwhile
(:func:`single_threaded_blas`), so each chunk's small GEMMs, transforms and copies run on a core
of their own and no GEMM waits for a BLAS worker on a busy core.  BLAS is pinned through
``threadpoolctl`` (OpenBLAS, MKL, BLIS); where none can be controlled, the chunks run serially on
the calling thread.  The measurements behind these choices, and what did not pay:
``docs/performance.md`` (Kernel design measurements).

>>> import numpy as np
>>> map_chunks(lambda i: i * i, range(5))
[0, 1, 4, 9, 16]
>>> src = np.arange(24.0).reshape(2, 3, 4).transpose(2, 1, 0)
>>> dst = np.empty(src.shape)
>>> copyto(dst, src, min_bytes=0, workers=2) is dst and bool((dst == src).all())
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from ...checks import check_int

__all__ = ["copyto", "contiguous", "map_chunks", "single_threaded_blas", "blas_controllable", "blas_threads",
           "MIN_BYTES",
           "WORKERS", "KERNEL_WORKERS", "FFT_WORKERS", "thread_limit"]

T = TypeVar("T")

#: Copies smaller than this run on the calling thread (thread hand-off costs ~20-50 µs).
MIN_BYTES = 1 << 20
#: Slabs per large copy; 1 (the default, see the module docstring) disables the pool.
WORKERS = 1
#: Threads for :func:`map_chunks` (default: the CPUs this process may run on, at most 4; 1 = serial).
KERNEL_WORKERS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
#: ``workers`` of the FFT kernels' ``scipy.fft`` calls (-1: all cores).
FFT_WORKERS = -1
_POOL: ThreadPoolExecutor | None = None
_CHUNK_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=3, thread_name_prefix="convalg-copy")
    return _POOL


def _chunk_pool() -> ThreadPoolExecutor:
    """The pool of :func:`map_chunks`, apart from the copy pool: a chunk may call :func:`copyto`, whose slabs
    then never wait behind the chunks holding every copy thread."""
    global _CHUNK_POOL
    if _CHUNK_POOL is None:
        _CHUNK_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="convalg-chunk")
    return _CHUNK_POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start fresh pools on first use."""
    global _POOL, _CHUNK_POOL, _BLAS_LOCK, _PINNED, _LIMITER
    _POOL = _CHUNK_POOL = _LIMITER = None
    _BLAS_LOCK, _PINNED = threading.Lock(), 0


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


_BLAS_LOCK = threading.Lock()
_BLAS: Any = None  # threadpoolctl controller of the BLAS libraries loaded in this process
_PINNED = 0  # nesting depth of single_threaded_blas (under _BLAS_LOCK)
_LIMITER: Any = None  # the active threadpoolctl limit (restored when the depth returns to 0)


def _blas() -> Any:
    """The ``threadpoolctl`` controller of the BLAS libraries (numpy's OpenBLAS, MKL or BLIS), built on first use."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas")
    return _BLAS


def blas_threads() -> list[int]:
    """Thread counts of the BLAS libraries in this process, as ``threadpoolctl`` reports them."""
    return [lib["num_threads"] for lib in _blas().info()]


def blas_controllable() -> bool:
    """Whether :func:`single_threaded_blas` can pin the BLAS this process uses (``threadpoolctl`` finds one)."""
    return bool(_blas().lib_controllers)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread inside the block (process-wide, through ``threadpoolctl``; nested and concurrent
    uses are counted, the previous thread counts come back when the last one leaves)."""
    global _PINNED, _LIMITER
    with _BLAS_LOCK:
        if _PINNED == 0:
            _LIMITER = _blas().limit(limits=1)
        _PINNED += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _PINNED -= 1
            if _PINNED == 0:
                _LIMITER.restore_original_limits()
                _LIMITER = None


def map_chunks(fn: Callable[[Any], T], items: Iterable[Any], workers: int | None = None) -> list[T]:
    """``[fn(item) for item in items]``, the items cut into ``workers`` (default :data:`KERNEL_WORKERS`)
    contiguous runs, each run on its own thread with BLAS single-threaded; serial when one worker, one
    item, or no controllable BLAS.  ``fn`` must be thread-safe (NumPy releases the GIL in its loops)."""
    todo = list(items)
    want = KERNEL_WORKERS if workers is None else workers
    parts = min(want, len(todo))
    if parts < 2 or not blas_controllable():
        return [fn(item) for item in todo]
    bounds = [len(todo) * i // parts for i in range(parts + 1)]
    runs = [todo[b0:b1] for b0, b1 in zip(bounds[:-1], bounds[1:])]
    with single_threaded_blas():
        futures = [_chunk_pool().submit(lambda run: [fn(item) for item in run], run) for run in runs[1:]]
        results = [fn(item) for item in runs[0]]
        for f in futures:
            results.extend(f.result())
    return results


@contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Run the block with the NumPy kernels' own threads limited to ``threads``: the chunk threads
    (:data:`KERNEL_WORKERS`) and the FFT kernels' ``scipy.fft`` workers (:data:`FFT_WORKERS`), set
    back when the block ends.  BLAS threads are ``threadpoolctl.threadpool_limits``' business.

    >>> from convalg.kernels.numpy import parallel
    >>> with parallel.thread_limit(1):
    ...     parallel.KERNEL_WORKERS, parallel.FFT_WORKERS
    (1, 1)
    """
    global KERNEL_WORKERS, FFT_WORKERS
    threads = check_int("threads", threads, minimum=1)
    saved = KERNEL_WORKERS, FFT_WORKERS
    KERNEL_WORKERS = FFT_WORKERS = threads
    try:
        yield
    finally:
        KERNEL_WORKERS, FFT_WORKERS = saved
