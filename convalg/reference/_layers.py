"""Argument normalisation shared by the references: arrays checked, parameters turned into layer specs.

Every parameter goes through the convalg layer constructors, so validation and
:class:`convalg.SpecError` messages come from one place, and geometry (padding
amounts, output sizes) is read from the layer's index map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import as_shape, check_int
from ..errors import SpecError
from ..index_map import IndexMap
from ..spec import AvgPool, Conv, ConvTranspose, MaxPool

__all__ = ["as_float64", "as_shape", "conv_layer", "conv_transpose_layer", "max_pool_layer", "avg_pool_layer",
           "spatial_of"]


def as_float64(name: str, a: Any, min_ndim: int = 3) -> np.ndarray:
    """``a`` as a float64 NumPy array of rank >= ``min_ndim`` (batched, channels first)."""
    if hasattr(a, "get") and not isinstance(a, np.ndarray):  # CuPy arrays
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


def _check_rank(x: np.ndarray, w: np.ndarray) -> int:
    ndim = w.ndim - 2
    if x.ndim != ndim + 2:
        raise SpecError(f"x.shape={x.shape}: has {x.ndim - 2} spatial dims but the weight has {ndim} "
                        f"(weight.shape={w.shape})")
    return ndim


def _check_bias(bias: np.ndarray | None, channels: int) -> None:
    if bias is not None and bias.shape != (channels,):
        raise SpecError(f"bias.shape={bias.shape}: must be ({channels},), one entry per output channel")


def conv_layer(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Any, padding: Any, dilation: Any,
               groups: int, padding_mode: str = "zeros", flip_kernel: bool = False) -> tuple[Conv, IndexMap]:
    """The :class:`convalg.Conv` for a PyTorch-style call and its index map at ``x``'s size."""
    ndim = _check_rank(x, w)
    layer = Conv(tuple(w.shape[2:]), stride=stride, padding=padding, dilation=dilation, groups=groups,
                 bias=bias is not None, padding_mode=padding_mode, in_channels=x.shape[1],
                 out_channels=w.shape[0], flip_kernel=flip_kernel, ndim=ndim)
    if w.shape[1] * layer.groups != x.shape[1]:
        raise SpecError(f"weight.shape={w.shape}: dim 1 must be in_channels/groups = {x.shape[1]}/{layer.groups}")
    _check_bias(bias, w.shape[0])
    return layer, layer.index_map(spatial_of(x))


def conv_transpose_layer(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Any, padding: Any,
                         output_padding: Any, groups: int, dilation: Any,
                         flip_kernel: bool = False) -> tuple[ConvTranspose, IndexMap]:
    """The :class:`convalg.ConvTranspose` for a PyTorch-style call and its index map at ``x``'s size."""
    ndim = _check_rank(x, w)
    if x.shape[1] != w.shape[0]:
        raise SpecError(f"weight.shape={w.shape}: dim 0 must equal in_channels={x.shape[1]}")
    groups = check_int("groups", groups, minimum=1)
    layer = ConvTranspose(tuple(w.shape[2:]), stride=stride, padding=padding, output_padding=output_padding,
                          groups=groups, bias=bias is not None, dilation=dilation, in_channels=x.shape[1],
                          out_channels=w.shape[1] * groups, flip_kernel=flip_kernel, ndim=ndim)
    _check_bias(bias, layer.out_channels)  # type: ignore[arg-type]
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
