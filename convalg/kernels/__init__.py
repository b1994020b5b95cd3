"""Kernels generated from the index maps, one package per backend.

==========================  ===============================================
package                     arrays
==========================  ===============================================
``convalg.kernels.numpy``   NumPy (plans of strided views, GEMM, FFT, Winograd)
``convalg.kernels.cuda``    CuPy (loaded lazily by :mod:`convalg.functional`)
==========================  ===============================================
"""

__all__: list[str] = []
