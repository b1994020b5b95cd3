"""Kernels generated from the index maps, one package per backend.

=============================  ===================================================
module                         contents
=============================  ===================================================
``convalg.kernels.base``       what both backends stand on: the ops protocol,
                               the algorithm vocabulary, the call -> layer
                               builder, the non-finite rule, FLOP counting and
                               the padding-mode gradients
``convalg.kernels.arrays``     the array module of an array (NumPy / CuPy)
``convalg.kernels.padding``    the padded frame of reflect / replicate /
                               circular padding and its adjoint (any array module)
``convalg.kernels.cache``      the one byte-bounded cache of both backends
``convalg.kernels.numpy``      NumPy (plans of strided views, GEMM, FFT, Winograd)
``convalg.kernels.cuda``       CuPy (loaded lazily by :mod:`convalg.functional`)
=============================  ===================================================

The plans, layers and tables of both backends share one cache bounded by bytes
(:data:`convalg.kernels.cache.BUDGET`, least recently used first);
:func:`clear_caches` empties it, frees the kernels' per-thread scratch buffers
(:mod:`convalg.kernels.numpy.workspace`, at most 32 MiB per thread) and, when the CUDA
backend has been used, drops its FFT frames and compiled kernels too.

>>> clear_caches()
"""

__all__ = ["clear_caches"]


def clear_caches() -> None:
    """Drop every cached kernel plan, layer and table (rebuilt on the next call) and the scratch buffers."""
    import sys

    from . import cache
    from .numpy import workspace

    cache.clear()
    workspace.clear()
    cuda_ops = sys.modules.get(f"{__name__}.cuda.ops")  # loaded only by a CuPy call: never imported here
    if cuda_ops is not None:
        cuda_ops.clear_caches()
