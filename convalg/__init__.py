"""convalg: convolution algebra you can trust.

Layer specifications with PyTorch's exact semantics, symbolic shape algebra,
operator matrices and index maps (SymPy), kernels generated from those index
maps, and float64 references / property tests to verify any kernel.

>>> import sympy as sp, convalg
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> convalg.Conv(3, stride=2, padding=1).output_shape((H, 64))
(floor(H/2 - 1/2) + 1, 32)

The stages are layered: each imports only the stages above it in this table, at
module level (``tests/structure.py`` counts the cycles and the imports hidden in
functions; there are none between these stages).

===================================  =================================================================
stage                                what it holds
===================================  =================================================================
``errors``, ``checks``,              :class:`SpecError`; the argument checks every stage shares; the
``vocabulary``                       layer kinds and padding modes every stage dispatches on
``shapes``                           size formulas, their simplification, stack analysis
``index_map``                        the index relation of a layer: the one source of index arithmetic
``operators``                        operator matrices, read from the index map
``display``                          text / LaTeX / HTML renderings
``spec``                             the layer classes; their methods (``output_shape``,
                                     ``index_map``, ``matrix``, ``shape_table``, ``_repr_latex_``)
                                     call the stages above
``reference``, ``printers``,         float64 references, code printers, the NumPy / CUDA backends and
``kernels``, ``functional``          the torch-style entry point
``graph``, ``testing``, ``plot``,    model import, conformance harness, pictures, command line,
``cli``, ``bench``                   benchmarks
===================================  =================================================================

The stages below ``spec`` never import it: a layer tells them what it is by its
``kind`` (one of :data:`convalg.vocabulary.LAYER_KINDS`), which each of them looks
up in a table with one entry per kind, so a new kind is one entry per stage.
"""

import importlib
from typing import Any

from . import conventions, shapes
from .errors import SpecError
from .spec import (
    INPUT_SIZE,
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    AvgPool,
    Conv,
    ConvTranspose,
    GlobalAvgPool,
    GlobalMaxPool,
    Layer,
    MaxPool,
    Sequential,
)

__version__ = "0.1.0"

#: Subpackages imported on first attribute access (``convalg.functional.conv(...)``), so that
#: ``import convalg`` loads the layer specifications and the stages below them only
#: (``operators`` and ``index_map`` are among those, and are loaded with ``spec``).
_LAZY_SUBMODULES = ("functional", "operators", "index_map", "reference", "testing", "kernels", "printers", "graph")
#: Model importers (``convalg.from_torch(model, (1, 3, H, W))``), loaded with :mod:`convalg.graph`.
_LAZY_FUNCTIONS = ("from_torch", "from_onnx")

__all__ = [
    "SpecError", "Layer", "Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool",
    "GlobalAvgPool", "GlobalMaxPool", "Sequential", "INPUT_SIZE", "conventions", "shapes", "__version__",
    *_LAZY_SUBMODULES, *_LAZY_FUNCTIONS,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(".graph", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_FUNCTIONS))
