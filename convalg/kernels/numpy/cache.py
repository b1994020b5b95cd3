"""The kernels' one byte-bounded cache (:mod:`convalg.kernels.cache`; the CUDA plans share its budget),
under the name some NumPy kernel modules import it by."""

from ..cache import BUDGET, cached, clear, stats, weight

__all__ = ["BUDGET", "cached", "clear", "stats", "weight"]
