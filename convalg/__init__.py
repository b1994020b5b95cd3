"""convalg: convolution algebra you can trust.

Layer specifications with PyTorch's exact semantics, symbolic shape algebra,
operator matrices and index maps (SymPy), kernels generated from those index
maps, and float64 references / property tests to verify any kernel.

>>> import sympy as sp, convalg
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> convalg.Conv(3, stride=2, padding=1).output_shape((H, 64))
(floor(H/2 - 1/2) + 1, 32)
"""

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
    conventions,
)

__version__ = "0.1.0"

__all__ = [
    "SpecError", "Layer", "Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool",
    "GlobalAvgPool", "GlobalMaxPool", "Sequential", "INPUT_SIZE", "conventions", "__version__",
]
