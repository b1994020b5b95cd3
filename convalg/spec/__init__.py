"""Layer specifications: validated, normalised, immutable (stage 1 of the pipeline).

Each layer class states its ``kind``; ``output_shape``, ``index_map``, ``matrix``,
``shape_table`` and the notebook displays call :mod:`convalg.shapes`,
:mod:`convalg.index_map`, :mod:`convalg.operators` and :mod:`convalg.display`,
which this package imports and which never import it (the order is in :mod:`convalg`).
"""

from .base import AxisSpec, Layer
from .conv import PADDING_MODES, Conv, ConvTranspose
from .conventions import explicit_padding, onnx_pads, tf_output_size, torch_pad_tuple
from .padding import INPUT_SIZE
from .pooling import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool
from .sequential import Sequential

__all__ = [
    "AxisSpec", "Layer", "Conv", "ConvTranspose", "PADDING_MODES", "MaxPool", "AvgPool", "AdaptiveAvgPool",
    "AdaptiveMaxPool", "GlobalAvgPool", "GlobalMaxPool", "Sequential", "INPUT_SIZE", "explicit_padding",
    "onnx_pads", "tf_output_size", "torch_pad_tuple",
]
