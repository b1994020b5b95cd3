"""Generated CUDA kernels run through CuPy (the GPU backend of :mod:`convalg.functional`).

=================  ==================================================================
module             contents
=================  ==================================================================
``ops``            the operators, same names/signatures as :mod:`convalg.reference`
                   (the convolution passes; re-exports those of ``pool_ops``)
``pool_ops``       pooling, their gradients, unfold, fold
``launching``      what the op modules share: array module, argument checks, launch,
                   the cached plan record ``CudaPlan``
``cost``           cost model choosing gemm / direct / fft (constants uncalibrated)
``igemm``          tiled implicit-GEMM kernels, algorithm ``'gemm'`` (fwd, bwd_data,
                   bwd_weight split-K)
``direct``         direct / depthwise, gather-form input gradient, weight gradient
``pool``           pooling (with indices), their gradients, unfold, fold
``fft``            FFT path (cupy.fft), all three passes
``codegen``        kernel record and the SymPy -> CUDA emitting helpers
``runtime``        cupy.RawModule compilation, int32 scalars, array validation
``hostshim``       the same sources compiled for the CPU (CI without a GPU)
=================  ==================================================================

Every index expression comes from :mod:`convalg.index_map`, printed by
:class:`convalg.printers.cuda.CudaPrinter`.  Importing this package does not
import CuPy.
"""

__all__: list[str] = []
