"""NumPy kernels: window plans printed from the index maps, GEMM / FFT / Winograd convolution, pooling.

See :mod:`.ops` for the functions (the backend of :mod:`convalg.functional`),
:mod:`.conv` for the algorithms and plans, :mod:`.cost` for ``algorithm='auto'``.
"""

from . import ops

__all__ = ["ops"]
