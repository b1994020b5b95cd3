"""Scratch buffers reused across calls: a small pool per thread, bounded by bytes.

A plain process returns every NumPy temporary over ~128 KiB to the kernel on
``free`` (glibc ``mmap``), so the next call pays a page fault per 4 KiB touching
fresh memory again (a large share of a small convolution's time).  Kernels therefore take
their *intermediate* arrays (tiles, transforms, column buffers, products; never a
result handed back) from :func:`scratch`, by slot name: the same slot gets the
same memory on every call of that thread.  Each thread's pool holds at most
:data:`BUDGET` bytes (larger requests, and slots past the budget, are plain
allocations); :func:`clear` (also ``convalg.kernels.clear_caches()``) frees all.

A slot's array is valid until the same thread asks for that slot again, so one
kernel uses distinct slot names for arrays alive at the same time.

>>> a = scratch("doc", (4, 4), "float32")
>>> b = scratch("doc", (2, 8), "float32")
>>> bool(np.shares_memory(a, b)), b.shape
(True, (2, 8))
>>> clear()
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

__all__ = ["BUDGET", "scratch", "clear", "held_bytes"]

#: Bytes each thread's pool may hold (least recently grown slots are dropped first).
BUDGET = 32 << 20

_pools: dict[int, dict[str, np.ndarray]] = {}
_lock = threading.Lock()


def scratch(slot: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` / ``dtype`` from this thread's ``slot``."""
    dt = np.dtype(dtype)
    nbytes = math.prod(shape) * dt.itemsize
    if nbytes > BUDGET or nbytes == 0:
        return np.empty(shape, dtype=dt)
    ident = threading.get_ident()
    with _lock:
        pool = _pools.setdefault(ident, {})
        buf = pool.get(slot)
        if buf is None or buf.nbytes < nbytes:
            pool.pop(slot, None)
            while pool and sum(b.nbytes for b in pool.values()) + nbytes > BUDGET:
                pool.pop(next(iter(pool)))
            buf = np.empty(nbytes, dtype=np.uint8)
            pool[slot] = buf
    return buf[:nbytes].view(dt).reshape(shape)


def clear() -> None:
    """Free every thread's scratch buffers."""
    with _lock:
        _pools.clear()


def held_bytes() -> int:
    """Bytes held by all pools."""
    with _lock:
        return sum(b.nbytes for pool in _pools.values() for b in pool.values())
