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

SUITES = ("shapes", "matrix", "cpu", "large", "graph")

__all__ = ["SUITES"]
