"""One byte-bounded LRU cache for every kernel plan, layer and table of both backends (:func:`cached`).

Plans are small (per-axis data, see :mod:`convalg.kernels.numpy.plan`; the CUDA
plans hold an index map and generated source), but a process that sees many
shapes would keep one per shape forever with entry-counted caches.  All of them
share one budget, :data:`BUDGET` bytes (each entry weighed by :func:`weight`),
evicting the least recently used entries first; :func:`clear` (also
``convalg.kernels.clear_caches()``) drops everything.

Keys are the callers' *validated* arguments (ints, tuples of ints, layer specs,
strings), so ``2.0`` and ``2`` or ``True`` and ``1`` never reach the same key:
the functional layer rejects floats and bools before any cache is consulted.

>>> clear()
>>> cached("square", lambda v: v * v, 12)
144
>>> stats()["entries"], stats()["bytes"] <= BUDGET
(1, True)
>>> clear(); stats()["entries"]
0
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["BUDGET", "cached", "clear", "stats", "weight"]

#: Total bytes all cached entries may weigh (plans, layers, tables, CUDA sources); least recently used go first.
BUDGET = 32 << 20

_entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
_total = 0
_lock = threading.Lock()


def weight(value: Any) -> int:
    """Approximate bytes held by ``value``: its ``nbytes`` (arrays, plans), summed over tuples, else 256."""
    n = getattr(value, "nbytes", None)
    if isinstance(n, int):
        return n + 128
    if isinstance(value, (tuple, list)):
        return 64 + sum(weight(v) for v in value)
    if isinstance(value, np.ndarray):  # pragma: no cover - ndarray has nbytes
        return value.nbytes
    return max(256, sys.getsizeof(value))


def cached(table: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, memoised under ``(table, *args)`` within :data:`BUDGET` bytes (thread-safe;
    ``fn`` runs outside the lock, so it may consult the cache itself)."""
    global _total
    key = (table, *args)
    with _lock:
        hit = _entries.get(key)
        if hit is not None:
            _entries.move_to_end(key)
            return hit[0]
    value = fn(*args)
    size = weight(value)
    with _lock:
        if key not in _entries and size <= BUDGET:
            _entries[key] = (value, size)
            _total += size
            while _total > BUDGET and _entries:
                _, (_, dropped) = _entries.popitem(last=False)
                _total -= dropped
    return value


def clear() -> None:
    """Drop every cached entry."""
    global _total
    with _lock:
        _entries.clear()
        _total = 0


def stats(keys: bool = False) -> Any:
    """``{'entries': ..., 'bytes': ..., 'budget': BUDGET}``; with ``keys``, the list of cached keys
    (``(table, *args)``, least recently used first) instead."""
    with _lock:
        if keys:
            return list(_entries)
        return {"entries": len(_entries), "bytes": _total, "budget": BUDGET}
