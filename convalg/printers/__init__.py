"""Printers: the symbolic index maps and operators printed as source for one target language.

One printer class and one ``*_code()`` function per target, with the same semantics (the shared
integer rules of :class:`~convalg.printers.base.IntegerIndexPrinter`: floor division, ``Mod``
with the divisor's sign, ``Piecewise`` with a final ``True`` branch, fractions refused):

=========================  ==========================  ============================================
module                     target                      printer, function
=========================  ==========================  ============================================
:mod:`.base`               (the shared rules)          :class:`IntegerIndexPrinter`
:mod:`.numpy`              NumPy (index arrays)        :class:`NumpyPrinter`, :func:`numpy_code`
:mod:`.cuda`               CUDA C                      :class:`CudaPrinter`, :func:`cuda_code`
=========================  ==========================  ============================================
"""

from __future__ import annotations

from .base import IntegerIndexPrinter, NonIntegerIndexError
from .cuda import CudaCodePrinter, CudaPrinter, cuda_code
from .numpy import IndexPrinter, NumpyPrinter, compile_source, numpy_code, print_module

__all__ = ["IntegerIndexPrinter", "NonIntegerIndexError", "NumpyPrinter", "numpy_code", "CudaPrinter", "cuda_code",
           "print_module", "compile_source", "IndexPrinter", "CudaCodePrinter"]
