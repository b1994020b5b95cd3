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
:func:`clear_caches` empties it, and frees the kernels' per-thread scratch buffers
(:mod:`convalg.kernels.numpy.workspace`, at most 32 MiB per thread).

>>> clear_caches()
"""

__all__ = ["clear_caches"]


def clear_caches() -> None:
    """Drop every cached kernel plan, layer and table (rebuilt on the next call) and the scratch buffers."""
    from .numpy import cache, workspace

    cache.clear()
    workspace.clear()
