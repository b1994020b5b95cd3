"""Printers: the symbolic index maps and operators printed as source for one target language.

=========================  ============================================================
module                     target
=========================  ============================================================
:mod:`.numpy`              NumPy (index arrays, slices; :class:`IndexPrinter`)
:mod:`.cuda`               CUDA C (loaded lazily: ``convalg.printers.cuda``)
=========================  ============================================================
"""

from __future__ import annotations

import importlib
from typing import Any

from .numpy import IndexPrinter, compile_source, print_index, print_module

__all__ = ["IndexPrinter", "print_index", "print_module", "compile_source"]


def __getattr__(name: str) -> Any:
    if name == "cuda":
        return importlib.import_module(".cuda", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
