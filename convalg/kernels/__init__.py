"""Kernels generated from the index maps, one package per backend.

==========================  ===============================================
package                     arrays
==========================  ===============================================
``convalg.kernels.numpy``   NumPy (plans of strided views, GEMM, FFT, Winograd)
``convalg.kernels.cuda``    CuPy (loaded lazily by :mod:`convalg.functional`)
``convalg.kernels.padding`` either: reflect / replicate / circular padding
                            around a zero-padding kernel, and its adjoint
==========================  ===============================================
"""

__all__: list[str] = []
