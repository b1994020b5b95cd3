"""convalg: convolution algebra you can trust.

Layer specifications with PyTorch's exact semantics, symbolic shape algebra,
operator matrices and index maps (SymPy), kernels generated from those index
maps, and float64 references / property tests to verify any kernel.

>>> import sympy as sp, convalg
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> convalg.Conv(3, stride=2, padding=1).output_shape((H, 64))
(floor(H/2 - 1/2) + 1, 32)
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
#: ``import convalg`` stays as light as the shape algebra needs.
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
