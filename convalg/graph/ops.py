"""Shape rules of the operations a model graph is made of (PyTorch semantics).

Each op maps input shapes to an output shape and states, through
``ctx.require(condition, rule)``, what the inputs must satisfy (equal shapes at
an add, ``in_features`` at a Linear, ...).  Windowed layers defer to the
layer specifications of :mod:`convalg.spec` and their formulas in
:mod:`convalg.shapes`; nothing here restates them.

>>> import sympy as sp
>>> from convalg import Conv
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> ctx = Context()
>>> LayerOp(Conv(5, stride=2, in_channels=3, out_channels=8, ndim=2)).infer(ctx, (1, 3, H, 32))
(1, 8, floor(H/2 - 5/2) + 1, 14)
>>> [str(c.condition) for c in ctx.constraints]
['floor(H/2 - 5/2) + 1 >= 1']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import sympy as sp

from ..errors import SpecError
from ..shapes.formulas import Size, as_size
from ..spec.base import Layer
from ..vocabulary import CONV_KINDS, kind_of
from .op_base import Constraint, Context, Op, Shape, axis_index, simplify_size
from .reshape_ops import FlattenOp, PermuteOp, PixelShuffleOp, ReduceOp, ReshapeOp, SliceOp

__all__ = [
    "Shape", "Constraint", "Context", "Op", "LayerOp", "PointwiseOp", "BroadcastOp", "ConcatOp", "FlattenOp",
    "ReshapeOp", "LinearOp", "MatMulOp", "ResizeOp", "PixelShuffleOp", "PadOp", "SliceOp", "ReduceOp",
    "PermuteOp", "LayerNormOp", "simplify_size",
]


@dataclass
class LayerOp(Op):
    """A convalg layer (Conv, ConvTranspose, pools) on an ``(N, C, *spatial)`` tensor."""

    layer: Layer
    params: int = 0
    spatial = "window"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return type(self.layer).__name__

    def describe(self) -> str:
        return repr(self.layer)

    def infer(self, ctx: Context, x: Shape) -> Shape:
        if len(x) < 3:
            raise SpecError(f"{self.layer!r}: needs an (N, C, *spatial) input, got rank {len(x)}")
        bound = self.layer.bind(len(x) - 2)
        cin = getattr(bound, "in_channels", None)
        if cin is not None:
            ctx.equal(x[1], cin, f"input channels must equal in_channels={cin}")
        cout = getattr(bound, "out_channels", None)
        out: list[Size] = []
        for a, n in enumerate(x[2:]):
            spec = bound._axis_spec(a, n)
            mode = getattr(bound, "padding_mode", "zeros")
            if mode in ("reflect", "circular"):
                for side in (spec.lo, spec.hi):
                    ctx.require(sp.Lt(side, n) if mode == "reflect" else sp.Le(side, n),
                                f"{mode} padding {side} must be {'<' if mode == 'reflect' else '<='} the input size")
            size = simplify_size(bound._output_size(a, spec, n))
            out.append(size)
        shape = (x[0], x[1] if cout is None else cout, *out)
        ctx.positive(tuple(out), type(self.layer).__name__)
        return shape

    def macs(self, inputs: Sequence[Shape], output: Shape) -> Size:
        layer = self.layer
        if kind_of(layer) not in CONV_KINDS:
            return 0
        x = inputs[0]
        per_window = prod(layer.bind(len(x) - 2).kernel_size) * sp.sympify(x[1]) * output[1] / sp.Integer(layer.groups)
        if kind_of(layer) == "conv_transpose":
            return sp.expand(x[0] * prod(x[2:]) * per_window)
        return sp.expand(output[0] * prod(output[2:]) * per_window)


@dataclass
class PointwiseOp(Op):
    """A shape-preserving op (activation, BatchNorm, Dropout, ...); ``channels`` checks dim 1."""

    kind: str = "pointwise"  # type: ignore[assignment]
    channels: int | None = None
    params: int = 0

    def infer(self, ctx: Context, x: Shape, *rest: Any) -> Shape:
        if self.channels is not None:
            if len(x) < 2:
                raise SpecError(f"{self.kind}: needs a channel dim, got rank {len(x)}")
            ctx.equal(x[1], self.channels, f"channels must equal num_features={self.channels}")
        return tuple(x)


@dataclass
class LayerNormOp(Op):
    """LayerNorm over the trailing ``normalized_shape``."""

    normalized_shape: tuple[int, ...]
    params: int = 0
    kind = "LayerNorm"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        k = len(self.normalized_shape)
        if len(x) < k:
            raise SpecError(f"LayerNorm{self.normalized_shape}: input has rank {len(x)}")
        for n, want in zip(x[len(x) - k:], self.normalized_shape):
            ctx.equal(n, want, f"trailing dims must equal normalized_shape={self.normalized_shape}")
        return tuple(x)


@dataclass
class BroadcastOp(Op):
    """Elementwise add / mul / ... with torch broadcasting (trailing dims equal, or one of them 1)."""

    kind: str = "add"  # type: ignore[assignment]

    def infer(self, ctx: Context, *inputs: Any) -> Shape:
        shapes = [s for s in inputs if isinstance(s, tuple)]
        out: list[Size] = []
        rank = max(len(s) for s in shapes)
        for i in range(1, rank + 1):
            dims = [s[-i] for s in shapes if len(s) >= i]
            size = dims[0]
            for other in dims[1:]:
                if size == other or sp.expand(sp.sympify(size) - other) == 0:
                    continue
                if other == 1:
                    continue
                if size == 1:
                    size = other
                    continue
                ctx.require(sp.Eq(size, other) | sp.Eq(size, 1) | sp.Eq(other, 1),
                            f"{self.kind}: dim -{i} sizes must match or be 1 (broadcasting)")
                size = sp.Piecewise((other, sp.Eq(size, 1)), (size, True))
            out.append(size)
        return tuple(reversed(out))


@dataclass
class ConcatOp(Op):
    """torch.cat along ``dim``: other dims must match."""

    dim: int = 1
    kind = "cat"

    def infer(self, ctx: Context, *inputs: Shape) -> Shape:
        first = list(inputs[0])
        d = axis_index(tuple(first), self.dim)
        for j, s in enumerate(inputs[1:], 1):
            if len(s) != len(first):
                raise SpecError(f"cat: input {j} has rank {len(s)}, input 0 has rank {len(first)}")
            for a, (p, q) in enumerate(zip(first, s)):
                if a != d:
                    ctx.equal(p, q, f"cat along dim {d}: dim {a} of input {j} must equal that of input 0")
                    # wherever the constraint holds both are the size: keep the simpler expression
                    first[a] = min(p, q, key=lambda e: sp.count_ops(e))
        total = simplify_size(sum(sp.sympify(s[d]) for s in inputs))
        return (*first[:d], total, *first[d + 1:])


@dataclass
class LinearOp(Op):
    """nn.Linear: the last dim must equal ``in_features``."""

    in_features: int
    out_features: int
    params: int = 0
    kind = "Linear"
    spatial = "mixing"

    def describe(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        ctx.equal(x[-1], self.in_features, f"last dim must equal in_features={self.in_features}")
        return (*x[:-1], self.out_features)

    def macs(self, inputs: Sequence[Shape], output: Shape) -> Size:
        return sp.expand(prod(sp.sympify(n) for n in inputs[0][:-1]) * self.in_features * self.out_features)


@dataclass
class MatMulOp(Op):
    """torch.matmul of ``(..., n, k) @ (..., k, m)`` (2-D ``b`` broadcast over ``a``'s batch)."""

    kind = "matmul"
    spatial = "mixing"

    def infer(self, ctx: Context, a: Shape, b: Shape) -> Shape:
        if len(a) < 1 or len(b) < 1:
            raise SpecError("matmul: inputs must have rank >= 1")
        ctx.equal(a[-1], b[-2] if len(b) >= 2 else b[0], "matmul: inner dims must match")
        if len(b) == 1:
            return tuple(a[:-1])
        if len(a) == 1:
            return (*b[:-2], b[-1])
        batch = BroadcastOp("matmul batch").infer(ctx, tuple(a[:-2]), tuple(b[:-2])) if len(b) > 2 else tuple(a[:-2])
        return (*batch, a[-2], b[-1])

    def macs(self, inputs: Sequence[Shape], output: Shape) -> Size:
        return sp.expand(prod(sp.sympify(n) for n in output) * inputs[0][-1])


@dataclass
class ResizeOp(Op):
    """interpolate / Upsample / Resize on the spatial dims: to ``size``, or ``floor(n * scale)``."""

    size: tuple[Size, ...] | None = None
    scale: tuple[sp.Rational, ...] | None = None
    mode: str = "nearest"
    kind = "resize"
    spatial = "mixing"

    def describe(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale={tuple(map(str, self.scale or ()))}"
        return f"resize({what}, {self.mode})"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        spatial = x[2:]
        if self.size is not None:
            if len(self.size) != len(spatial):
                raise SpecError(f"resize size={self.size}: input has {len(spatial)} spatial dims")
            out = tuple(as_size(s) for s in self.size)
        else:
            scale = self.scale or ()
            scale = scale * len(spatial) if len(scale) == 1 else scale
            if len(scale) != len(spatial):
                raise SpecError(f"resize scale={scale}: input has {len(spatial)} spatial dims")
            out = tuple(simplify_size(sp.floor(sp.sympify(n) * f)) for n, f in zip(spatial, scale))
        ctx.positive(out, "resize")
        return (*x[:2], *out)


@dataclass
class PadOp(Op):
    """F.pad: ``pairs`` are ``(lo, hi)`` for the trailing dims, first of them first (may be negative)."""

    pairs: tuple[tuple[int, int], ...] = ()
    mode: str = "constant"
    spatial = "window"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"pad({self.mode})"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        k = len(self.pairs)
        if k > len(x):
            raise SpecError(f"pad: {k} padded dims but the input has rank {len(x)}")
        out = list(x)
        for j, (lo, hi) in enumerate(self.pairs):
            a = len(x) - k + j
            n = x[a]
            if self.mode == "reflect":
                for p in (lo, hi):
                    ctx.require(sp.Lt(p, n), f"reflect pad {p} must be < the input size on dim {a}")
            elif self.mode == "circular":
                for p in (lo, hi):
                    ctx.require(sp.Le(p, n), f"circular pad {p} must be <= the input size on dim {a}")
            out[a] = simplify_size(n + lo + hi)
        ctx.positive(tuple(out[len(x) - k:]), "pad")
        return tuple(out)
