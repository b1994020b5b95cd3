"""Benchmarks (never timed tests): one module per suite, run with ``convalg bench SUITE``.

=========  =====================================================================
suite      what it measures
=========  =====================================================================
shapes     symbolic output shape of a deep stack (core issue)
matrix     building symbolic operator matrices (operator issue)
cpu        generated NumPy kernels vs PyTorch CPU and scipy.signal (anchor cases)
large      large single problems, each in a fresh process (cold, warm, peak memory)
graph      whole-model import, propagation and accepted sizes (ResNet-50, symbolic)
=========  =====================================================================

Each suite module defines ``main(argv: list[str] | None) -> int``.
"""

import os

SUITES = ("shapes", "matrix", "cpu", "large", "graph")

__all__ = ["SUITES", "load_average"]


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (NaN where the system has none), which every timing table reports.

    >>> len(load_average())
    3
    """
    return os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
