"""Printers: the symbolic index maps and operators printed as source for one target language.

One printer class and one ``*_code()`` function per target, with the same semantics (the shared
integer rules of :class:`~convalg.printers.base.IntegerIndexPrinter`: floor division, ``Mod``
with the divisor's sign, ``Piecewise`` with a final ``True`` branch, fractions refused):

=========================  ==========================  ============================================
module                     target                      printer, function
=========================  ==========================  ============================================
:mod:`.base`               (the shared rules)          :class:`IntegerIndexPrinter`
:mod:`.numpy`              NumPy (index arrays)        :class:`NumpyPrinter`, :func:`numpy_code`
:mod:`.cuda`               CUDA C (loaded lazily)      :class:`CudaPrinter`, :func:`cuda_code`
=========================  ==========================  ============================================
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import IntegerIndexPrinter, NonIntegerIndexError
from .numpy import NumpyPrinter, compile_source, numpy_code, print_module

#: Loaded on first use (SymPy's C printer costs ~10 ms to import; the NumPy backend never needs it).
_CUDA_NAMES = ("CudaPrinter", "cuda_code")

__all__ = ["IntegerIndexPrinter", "NonIntegerIndexError", "NumpyPrinter", "numpy_code", "CudaPrinter", "cuda_code",
           "print_module", "compile_source"]


def __getattr__(name: str) -> Any:
    if name == "cuda" or name in _CUDA_NAMES:
        cuda = importlib.import_module(".cuda", __name__)
        return cuda if name == "cuda" else getattr(cuda, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
