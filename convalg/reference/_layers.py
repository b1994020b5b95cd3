"""Argument normalisation shared by the references: arrays checked, parameters turned into layer specs.

Every parameter goes through the convalg layer constructors (a convolution call through
:func:`convalg.kernels.base.conv_layer`, as in every backend), so validation and
:class:`convalg.SpecError` messages come from one place, and geometry (padding
amounts, output sizes) is read from the layer's index map.  Only argument handling
is shared; the two oracles share no arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import as_shape
from ..errors import SpecError
from ..index_map import IndexMap
from ..kernels.arrays import is_cupy
from ..kernels.base import conv_layer as build_conv
from ..kernels.base import conv_transpose_layer as build_conv_transpose
from ..spec import AvgPool, Conv, ConvTranspose, MaxPool

__all__ = ["as_float64", "as_shape", "conv_layer", "conv_transpose_layer", "max_pool_layer", "avg_pool_layer",
           "spatial_of"]


def as_float64(name: str, a: Any, min_ndim: int = 3) -> np.ndarray:
    """``a`` as a float64 NumPy array of rank >= ``min_ndim`` (batched, channels first)."""
    if is_cupy(a):
        a = a.get()
    try:
        arr = np.asarray(a)
    except ValueError as e:  # ragged nested lists
        raise TypeError(f"{name}: expected a real numeric array ({e})") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise SpecError(f"{name}.shape={arr.shape}: must be (N, C, *spatial) with at least one spatial dim")
    return arr.astype(np.float64, copy=False)


def spatial_of(x: np.ndarray) -> tuple[int, ...]:
    return tuple(int(n) for n in x.shape[2:])


def conv_layer(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Any, padding: Any,
               dilation: Any, groups: int, padding_mode: str = "zeros",
               flip_kernel: bool = False) -> tuple[Conv, IndexMap]:
    """The :class:`convalg.Conv` for a PyTorch-style call (:func:`convalg.kernels.base.conv_layer`, the one
    builder of every backend) and its index map at ``x``'s size."""
    layer = build_conv(x.shape, w.shape, stride, padding, dilation, groups, padding_mode,
                       None if bias is None else bias.shape, flip_kernel)
    return layer, layer.index_map(spatial_of(x))


def conv_transpose_layer(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Any, padding: Any,
                         output_padding: Any, groups: int, dilation: Any,
                         flip_kernel: bool = False) -> tuple[ConvTranspose, IndexMap]:
    """The :class:`convalg.ConvTranspose` for a PyTorch-style call and its index map at ``x``'s size."""
    layer = build_conv_transpose(x.shape, w.shape, stride, padding, output_padding, groups, dilation,
                                 None if bias is None else bias.shape, flip_kernel)
    return layer, layer.index_map(spatial_of(x))


def max_pool_layer(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                   ceil_mode: bool) -> tuple[MaxPool, IndexMap]:
    layer = MaxPool(kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    spatial = spatial_of(x)
    return layer, layer.index_map(spatial)


def avg_pool_layer(x_shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
                   count_include_pad: bool, divisor_override: int | None) -> tuple[AvgPool, IndexMap]:
    layer = AvgPool(kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                    count_include_pad=count_include_pad, divisor_override=divisor_override)
    return layer, layer.index_map(tuple(int(n) for n in x_shape[2:]))
