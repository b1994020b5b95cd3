"""Shape algebra (stage 2): exact output-size formulas, simplification, stack analysis."""

from .formulas import (
    Size,
    adaptive_window,
    as_size,
    conv_output_size,
    conv_transpose_output_size,
    effective_kernel,
    pool_output_size,
    same_padding,
)
from .simplify import collapse_floors, format_size, latex_size
from .stack import ReceptiveField, SizeSet, exact_sizes, receptive_field, size_preserving_sizes

__all__ = [
    "Size", "adaptive_window", "as_size", "conv_output_size", "conv_transpose_output_size", "effective_kernel",
    "pool_output_size", "same_padding", "collapse_floors", "format_size", "latex_size", "ReceptiveField",
    "SizeSet", "exact_sizes", "receptive_field", "size_preserving_sizes",
]
