"""Kernels generated from the index maps, one package per backend.

==========================  ===============================================
package                     arrays
==========================  ===============================================
``convalg.kernels.numpy``   NumPy (plans of strided views, GEMM, FFT, Winograd)
``convalg.kernels.cuda``    CuPy (loaded lazily by :mod:`convalg.functional`)
``convalg.kernels.padding`` either: reflect / replicate / circular padding
                            around a zero-padding kernel, and its adjoint
==========================  ===============================================

The NumPy plans, layers and tables share one cache bounded by bytes
(:data:`convalg.kernels.numpy.cache.BUDGET`, least recently used first);
:func:`clear_caches` empties it.

>>> clear_caches()
"""

__all__ = ["clear_caches"]


def clear_caches() -> None:
    """Drop every cached kernel plan, layer and table (they are rebuilt on the next call)."""
    from .numpy import cache

    cache.clear()
