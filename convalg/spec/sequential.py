"""A stack of layers with composed, simplified shape formulas."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import sympy as sp

from ..errors import SpecError
from ..shapes.formulas import Size
from ..shapes.simplify import collapse_floors
from ..shapes.stack import ReceptiveField, SizeSet, exact_sizes, receptive_field, size_preserving_sizes
from .base import Layer, check_spatial

__all__ = ["Sequential"]


class Sequential(Layer):
    """Layers applied in order; shapes compose and nested floors collapse.

    >>> import sympy as sp
    >>> from convalg import Conv, MaxPool
    >>> H = sp.Symbol("H", integer=True, positive=True)
    >>> net = Sequential(*[Conv(3, stride=2, padding=1)] * 4)
    >>> net.output_shape((H,))
    (floor(H/16 - 1/16) + 1,)
    >>> net.receptive_field((224,))[0]
    ReceptiveField(size=31, stride=16, padding=15)
    >>> Sequential(Conv(3, in_channels=3, out_channels=8), Conv(3, in_channels=4, out_channels=5))
    Traceback (most recent call last):
    ...
    convalg.errors.SpecError: layers[1]=Conv(kernel_size=3, in_channels=4, out_channels=5): in_channels=8: the layer expects in_channels=4 (the output channels of layers[0])
    """

    kind: ClassVar[str] = "sequential"
    layers: tuple[Layer, ...]

    def __init__(self, *layers: Layer) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise SpecError(f"layers[{i}]={layer!r}: must be a convalg layer specification")
        ndims = {layer.ndim for layer in layers if layer.ndim is not None}
        if len(ndims) > 1:
            raise SpecError(f"layers: disagree on ndim ({sorted(ndims)})")
        channels = None  # declared channel counts must chain: out_channels of one = in_channels of the next
        for i, layer in enumerate(layers):
            try:
                channels = layer.output_channels(channels)
            except SpecError as e:
                raise SpecError(f"layers[{i}]={layer!r}: {e} (the output channels of layers[{i - 1}])") from None
        self._set(layers=tuple(layers), ndim=ndims.pop() if ndims else None)

    def _params(self) -> dict[str, Any]:
        return {"layers": self.layers}

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"

    def replace(self, **changes: Any) -> Sequential:
        """A copy with ``layers`` replaced."""
        unknown = set(changes) - {"layers"}
        if unknown:
            raise SpecError(f"{sorted(unknown)[0]}: Sequential has only 'layers'")
        return Sequential(*changes.get("layers", self.layers))

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def bind(self, ndim: int) -> Sequential:
        return Sequential(*[layer.bind(ndim) for layer in self.layers])

    def shapes(self, spatial: Sequence[Size]) -> list[tuple[Size, ...]]:
        """Input shape followed by the output shape of every layer (nested floors collapsed)."""
        current = check_spatial(spatial, self.ndim)
        out = [current]
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(current)
            except SpecError as e:
                if len(self.layers) == 1:
                    raise
                raise SpecError(f"layers[{index}]={layer!r} (input size {current}): {e}") from None
            current = tuple(n if isinstance(n, int) else collapse_floors(n) for n in shape)
            out.append(current)
        return out

    def output_shape(self, spatial: Sequence[Size]) -> tuple[Size, ...]:
        return self.shapes(spatial)[-1]

    def output_channels(self, in_channels: int | None) -> int | None:
        c = in_channels
        for layer in self.layers:
            c = layer.output_channels(c)
        return c

    def receptive_field(self, spatial: Sequence[Size] | None = None) -> tuple[ReceptiveField, ...]:
        """Per-axis receptive field, effective stride and effective padding (Araujo et al. 2019).

        ``spatial`` defaults to one symbolic size per axis (needed only for
        size-dependent padding such as TF ``'SAME'``).
        """
        if spatial is None:
            ndim = self.ndim or 1
            spatial = tuple(sp.Symbol(f"n{a}", integer=True, positive=True) for a in range(ndim))
        return receptive_field(self.layers, check_spatial(spatial, self.ndim))

    def _query_ndim(self, axis: int) -> int:
        # layers given by scalars (ndim=None) apply to any number of axes, each the same, as output_shape((H, W))
        # does: a query on any axis answers for that axis, whatever ndim the input will have
        if self.ndim is not None:
            return self.ndim
        return axis + 1 if isinstance(axis, int) and not isinstance(axis, bool) and axis >= 0 else 1

    def exact_sizes(self, axis: int = 0, symbol: sp.Symbol | str = "n") -> SizeSet:
        """Input sizes on ``axis`` for which no stride drops pixels (see :func:`convalg.shapes.exact_sizes`).

        >>> from convalg import Conv
        >>> Sequential(Conv(3, stride=2, padding=1)).exact_sizes(axis=1).condition   # scalar layers: any axis
        Eq(Mod(n, 2), 1)
        """
        return exact_sizes(self.layers, axis, self._query_ndim(axis), symbol)

    def size_preserving_sizes(self, axis: int = 0, symbol: sp.Symbol | str = "n") -> SizeSet:
        """Input sizes on ``axis`` whose output size equals the input size (e.g. ``n = 0 mod 16`` for a U-Net)."""
        return size_preserving_sizes(self.layers, axis, self._query_ndim(axis), symbol)
