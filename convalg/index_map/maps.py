"""The N-d index map of a layer: one :class:`AxisMap` per spatial axis plus the channel blocks.

Convolution and pooling are separable over spatial axes, so the N-d map is the
product of 1-D maps; channels and groups are a block structure on top.  This is
the single source of index arithmetic: the operator matrices, the NumPy and
CUDA printers and the references all read it.

=======================  ==============================================================
``kind``                 relation (per axis ``i = s*o - lo + d*k``)
=======================  ==============================================================
``conv``                 ``y[o] += w[tap(k)] * x[i]`` for valid ``i`` (or folded by
                         ``padding_mode``)
``conv_transpose``       ``y[i] += w[tap(k)] * x[o]``: the same relation read
                         backwards; its *input* is the ``o`` side (size
                         ``axis.n_out``) and its *output* the ``i`` side (size
                         ``axis.n``); ``axis.hi`` is ``hi - output_padding``
``max_pool``             ``y[o] = max_k x[i]`` over valid ``i`` (padding = -inf)
``avg_pool``             ``y[o] = sum_k x[i] / divisor`` (see ``AxisMap.window_size``)
``adaptive_*_pool``      :class:`AdaptiveAxisMap` windows
=======================  ==============================================================

>>> from convalg import Conv
>>> m = index_map(Conv(3, stride=2, padding=1, groups=2, in_channels=4, out_channels=6), (8, 8))
>>> m.kind, m.output_shape, m.input_index
('conv', (4, 4), (k0 + 2*o0 - 1, k1 + 2*o1 - 1))
>>> m.channels.input_channel(5, 1)
3
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

import sympy as sp

from ..checks import check_spatial
from ..errors import SpecError
from ..shapes.formulas import Size
from ..vocabulary import LAYER_KINDS, kind_of
from .affine import AdaptiveAxisMap, AxisMap

__all__ = ["IndexMap", "ChannelMap", "index_map", "KINDS"]

#: The layer kinds that have an index map (a stack has one per layer).
KINDS = tuple(kind for kind in LAYER_KINDS if kind != "sequential")

AnyAxisMap = Union[AxisMap, AdaptiveAxisMap]


@dataclass(frozen=True)
class ChannelMap:
    """Group block structure: output channel ``co`` of group ``g = co // out_per_group``
    reads input channels ``g*in_per_group + ci`` for ``ci < in_per_group``.

    Channel counts are ``None`` when the layer does not fix them.
    """

    groups: int = 1
    in_channels: int | None = None
    out_channels: int | None = None
    depthwise_pooling: bool = False

    @property
    def in_per_group(self) -> int | None:
        return None if self.in_channels is None else self.in_channels // self.groups

    @property
    def out_per_group(self) -> int | None:
        return None if self.out_channels is None else self.out_channels // self.groups

    def group(self, co: int) -> int:
        if self.out_per_group is None:
            raise SpecError("channels: out_channels is unknown; pass it to the layer")
        return co // self.out_per_group

    def input_channel(self, co: int, ci: int) -> int:
        """Global input channel read by output channel ``co`` at in-group channel ``ci``."""
        if self.in_per_group is None:
            raise SpecError("channels: in_channels is unknown; pass it to the layer")
        return self.group(co) * self.in_per_group + ci


@dataclass(frozen=True)
class IndexMap:
    """The index map of a layer at given input sizes (see the module docstring)."""

    kind: str
    layer: Any
    axes: tuple[AnyAxisMap, ...]
    input_shape: tuple[Size, ...]
    output_shape: tuple[Size, ...]
    channels: ChannelMap
    padding_mode: str = "zeros"
    flip_kernel: bool = False

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def transposed(self) -> bool:
        return self.kind == "conv_transpose"

    @property
    def kernel_size(self) -> tuple[Any, ...]:
        return tuple(getattr(a, "kernel", None) for a in self.axes)

    @property
    def input_index(self) -> tuple[sp.Expr, ...]:
        """Per-axis ``i`` in terms of ``o`` and ``k``."""
        return tuple(a.input_index for a in self.axes)

    @property
    def valid(self) -> sp.Basic:
        return sp.And(*[a.valid for a in self.axes])

    def padded_index(self) -> tuple[sp.Expr, ...]:
        """Per-axis input index folded by the layer's padding mode."""
        return tuple(a.padded_index(self.padding_mode) for a in self.axes)  # type: ignore[union-attr]

    def taps(self) -> tuple[sp.Expr, ...]:
        """Per-axis weight index at tap ``k`` (flipped for true convolution)."""
        return tuple(a.tap(self.flip_kernel) for a in self.axes)  # type: ignore[union-attr]

    @property
    def o(self) -> tuple[sp.Symbol, ...]:
        return tuple(a.o for a in self.axes)

    @property
    def k(self) -> tuple[sp.Symbol, ...]:
        return tuple(a.k for a in self.axes)

    @property
    def i(self) -> tuple[sp.Symbol, ...]:
        return tuple(a.i for a in self.axes)  # type: ignore[union-attr]


def _adaptive(kind: str) -> Callable[[Any, tuple[Size, ...], tuple[Size, ...]], IndexMap]:
    def build(layer: Any, spatial: tuple[Size, ...], out: tuple[Size, ...]) -> IndexMap:
        axes = tuple(AdaptiveAxisMap(n, m, a) for a, (n, m) in enumerate(zip(spatial, out)))
        return IndexMap(kind, layer, axes, spatial, out, ChannelMap(depthwise_pooling=True))

    return build


def _window_axes(layer: Any, spatial: tuple[Size, ...], out: tuple[Size, ...]) -> tuple[AxisMap, ...]:
    return tuple(
        AxisMap(n, m, s.kernel, s.stride, s.dilation, s.lo, s.hi, a)
        for a, (s, n, m) in enumerate(zip(layer.axis_specs(spatial), spatial, out))
    )


def _window_pool(kind: str) -> Callable[[Any, tuple[Size, ...], tuple[Size, ...]], IndexMap]:
    def build(layer: Any, spatial: tuple[Size, ...], out: tuple[Size, ...]) -> IndexMap:
        return IndexMap(kind, layer, _window_axes(layer, spatial, out), spatial, out,
                        ChannelMap(depthwise_pooling=True))

    return build


def _conv(layer: Any, spatial: tuple[Size, ...], out: tuple[Size, ...]) -> IndexMap:
    ch = ChannelMap(layer.groups, layer.in_channels, layer.out_channels)
    return IndexMap("conv", layer, _window_axes(layer, spatial, out), spatial, out, ch, layer.padding_mode,
                    layer.flip_kernel)


def _conv_transpose(layer: Any, spatial: tuple[Size, ...], out: tuple[Size, ...]) -> IndexMap:
    axes = tuple(
        AxisMap(m, n, s.kernel, s.stride, s.dilation, s.lo, s.hi - s.output_padding, a)
        for a, (s, n, m) in enumerate(zip(layer.axis_specs(spatial), spatial, out))
    )
    ch = ChannelMap(layer.groups, layer.in_channels, layer.out_channels)
    return IndexMap("conv_transpose", layer, axes, spatial, out, ch, "zeros", layer.flip_kernel)


def _sequential(layer: Any, spatial: tuple[Size, ...], out: tuple[Size, ...]) -> IndexMap:
    raise SpecError("layer: a Sequential has one index map per layer; call index_map on each layer")


#: The index-map builder of each layer kind: ``build(layer, spatial, output_shape)`` with the layer bound to
#: ``len(spatial)`` axes.
BUILDERS: dict[str, Callable[[Any, tuple[Size, ...], tuple[Size, ...]], IndexMap]] = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "max_pool": _window_pool("max_pool"),
    "avg_pool": _window_pool("avg_pool"),
    "adaptive_avg_pool": _adaptive("adaptive_avg_pool"),
    "adaptive_max_pool": _adaptive("adaptive_max_pool"),
    "sequential": _sequential,
}


def index_map(layer: Any, spatial: Sequence[Size]) -> IndexMap:
    """Build the :class:`IndexMap` of ``layer`` applied to input spatial sizes ``spatial``."""
    kind = kind_of(layer)
    if kind is None:
        raise SpecError(f"layer={layer!r}: must be a convalg layer (Conv, ConvTranspose, MaxPool, AvgPool, "
                        "AdaptiveAvgPool, AdaptiveMaxPool or a global pool)")
    build = BUILDERS[kind]
    if kind == "sequential":
        return build(layer, (), ())
    spatial = check_spatial(spatial, layer.ndim)
    layer = layer.bind(len(spatial))
    return build(layer, spatial, layer.output_shape(spatial))
