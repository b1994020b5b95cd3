"""Keep freed memory in the process heap (glibc ``mallopt``), an opt-in speed-up for repeated calls.

NumPy allocates every temporary of more than ~128 KiB with ``mmap`` and
returns it on ``free``; the next call touches fresh pages and pays one page
fault per 4 KiB, which can dominate the Winograd and GEMM kernels on small
problems (figures: ``docs/performance.md``, Kernel design measurements).
PyTorch avoids it with its caching allocator; :func:`keep_freed_memory` gets the same effect for NumPy by
raising glibc's mmap and trim thresholds, so freed blocks are reused.

It changes process-wide allocator behaviour (the heap keeps its high-water
mark), so convalg never calls it implicitly, and ``convalg bench cpu`` measures
a plain process unless ``--keep-memory`` asks for it (its header says which);
applications may.  Equivalent
environment variables: ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_TOP_PAD_``.

>>> isinstance(keep_freed_memory(enable=False), bool)
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory", "require", "physical_memory"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory(enable: bool = True, threshold: int = 32 << 20) -> bool:
    """Raise glibc's mmap threshold to ``threshold`` bytes (glibc's maximum is 32 MiB on 64-bit) and its
    trim threshold to 1 GiB; returns whether it took effect.

    ``enable=False`` only reports whether the call would be possible (glibc on Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not enable:
        return True
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, min(threshold, 32 << 20)) == 1
    ok &= mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1
    ok &= mallopt(_M_TOP_PAD, 64 << 20) == 1
    return bool(ok)


def physical_memory() -> int:
    """Bytes of physical memory of this machine (``0`` where unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 0


def require(shape: tuple[int, ...], dtype: object, what: str) -> None:
    """``MemoryError`` naming ``what``, its shape and size when one array of ``shape`` would exceed the
    machine's physical memory (instead of an allocation that may succeed lazily and be killed later).

    >>> require((2, 3), "float32", "output")
    >>> require((1, 1, 2000001, 2000001), "float64", "conv output")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    MemoryError: conv output: shape (1, 1, 2000001, 2000001) float64 needs 29.1 TiB, more than this machine's ...
    """
    import math

    import numpy as np

    nbytes = math.prod(shape) * np.dtype(dtype).itemsize  # type: ignore[call-overload]
    ram = physical_memory()
    if ram and nbytes > ram:
        raise MemoryError(f"{what}: shape {tuple(shape)} {np.dtype(dtype).name} needs {nbytes / 2**40:.1f} TiB, "  # type: ignore[call-overload]
                          f"more than this machine's {ram / 2**30:.1f} GiB of memory")
