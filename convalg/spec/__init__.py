"""Layer specifications: validated, normalised, immutable (stage 1 of the pipeline)."""

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
