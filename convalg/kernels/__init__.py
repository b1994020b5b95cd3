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
:func:`clear_caches` empties it, frees the kernels' per-thread scratch buffers
(:mod:`convalg.kernels.numpy.workspace`, at most 32 MiB per thread) and, when the CUDA
backend has been used, drops its plans and compiled kernels too.

>>> clear_caches()
"""

__all__ = ["clear_caches"]


def clear_caches() -> None:
    """Drop every cached kernel plan, layer and table (rebuilt on the next call) and the scratch buffers."""
    import sys

    from .numpy import cache, workspace

    cache.clear()
    workspace.clear()
    cuda_ops = sys.modules.get(f"{__name__}.cuda.ops")  # loaded only by a CuPy call: never imported here
    if cuda_ops is not None:
        cuda_ops.clear_caches()
