"""The kernels' one byte-bounded cache, under the name the NumPy kernels import it by
(:mod:`convalg.kernels.cache`; the CUDA plans share its budget)."""

from ..cache import BUDGET, cached, clear, stats, weight

__all__ = ["BUDGET", "cached", "clear", "stats", "weight"]
