"""Ops that reshape, index, reduce or permute (PyTorch semantics); see :mod:`convalg.graph.ops`.

>>> import sympy as sp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> from convalg.graph.op_base import Context
>>> FlattenOp(1).infer(Context(), (2, 3, H, 4))
(2, 12*H)
>>> SliceOp((slice(None), slice(None), slice(1, -1))).infer(Context(), (1, 3, 10))
(1, 3, 8)
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import sympy as sp

from ..errors import SpecError
from ..shapes.formulas import Size, as_size
from ..shapes.simplify import collapse_floors
from .op_base import Context, Op, Shape, axis_index, simplify_size

__all__ = ["FlattenOp", "ReshapeOp", "PixelShuffleOp", "SliceOp", "ReduceOp", "PermuteOp"]


@dataclass
class FlattenOp(Op):
    """torch.flatten(start_dim, end_dim)."""

    start: int = 1
    end: int = -1
    kind = "flatten"
    spatial = "mixing"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        if not x:
            return (1,)
        a, b = axis_index(x, self.start, "start_dim"), axis_index(x, self.end, "end_dim")
        return (*x[:a], simplify_size(sp.expand(prod(sp.sympify(n) for n in x[a:b + 1]))), *x[b + 1:])


@dataclass
class ReshapeOp(Op):
    """view / reshape to ``target`` (entries ints, size expressions, or one -1)."""

    target: tuple[Any, ...] = ()
    kind = "reshape"
    spatial = "mixing"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        total = sp.expand(prod(sp.sympify(n) for n in x))
        free = [i for i, v in enumerate(self.target) if v == -1]
        if len(free) > 1:
            raise SpecError(f"reshape{self.target}: only one dimension can be -1")
        known = sp.expand(prod(sp.sympify(v) for v in self.target if v != -1))
        if free:
            ctx.require(sp.Eq(sp.Mod(total, known), 0), f"reshape{self.target}: {total} elements must divide by {known}")
            inferred = simplify_size(sp.cancel(total / known))
            out = tuple(inferred if v == -1 else as_size(v) for v in self.target)
        else:
            ctx.equal(total, known, f"reshape{self.target}: the element count must be preserved")
            out = tuple(as_size(v) for v in self.target)
        ctx.positive(out, "reshape")
        return out


@dataclass
class PixelShuffleOp(Op):
    """pixel_shuffle (``inverse=False``) / pixel_unshuffle by ``factor`` on the 2 trailing dims."""

    factor: int
    inverse: bool = False
    spatial = "mixing"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "pixel_unshuffle" if self.inverse else "pixel_shuffle"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        r = self.factor
        if len(x) < 3:
            raise SpecError(f"{self.kind}: needs rank >= 3, got {len(x)}")
        c, h, w = x[-3:]
        if not self.inverse:
            ctx.require(sp.Eq(sp.Mod(c, r * r), 0), f"pixel_shuffle: channels must be divisible by {r * r}")
            return (*x[:-3], simplify_size(sp.sympify(c) / (r * r)), as_size(h * r), as_size(w * r))
        for name, n in (("height", h), ("width", w)):
            ctx.require(sp.Eq(sp.Mod(n, r), 0), f"pixel_unshuffle: {name} must be divisible by {r}")
        return (*x[:-3], as_size(c * r * r), simplify_size(sp.sympify(h) / r), simplify_size(sp.sympify(w) / r))


def _slice_length(n: Size, start: Any, stop: Any, step: int) -> Size:
    """Length of ``range(n)[start:stop:step]`` (Python / torch clamping), ``step >= 1``.

    Min / Max are left unevaluated: deciding the clamps of sizes with floors is
    left to the solver, which removes the floors first.
    """
    n = sp.sympify(n)

    def clamp(v: Any, default: Any) -> Any:
        if v is None:
            return default
        v = sp.sympify(v)
        if v.is_negative:
            v = v + n
        elif not v.is_nonnegative:  # a negative index counts from the end
            v = sp.Piecewise((v + n, sp.Lt(v, 0, evaluate=False)), (v, True), evaluate=False)
        if not _provable(sp.Ge(v, 0)):
            v = sp.Max(v, 0, evaluate=False)
        return v if _provable(sp.Le(v, n)) else sp.Min(v, n, evaluate=False)

    lo, hi = clamp(start, sp.Integer(0)), clamp(stop, n)
    length = collapse_floors(sp.ceiling((hi - lo) / step)) if step != 1 else hi - lo
    return as_size(length if _provable(sp.Ge(length, 0)) else sp.Max(length, 0, evaluate=False))


def _provable(claim: Any) -> bool:
    """True when SymPy proves ``claim`` outright (no search; unproven is not false)."""
    try:
        return sp.sympify(claim) is sp.true
    except (TypeError, ValueError, RecursionError, ArithmeticError):
        return False


@dataclass
class SliceOp(Op):
    """Basic indexing: one entry per leading dim, each ``slice``, an int (drops the dim), or None (new dim)."""

    index: tuple[Any, ...] = ()
    kind = "slice"
    spatial = "mixing"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        out: list[Size] = []
        a = 0
        for item in self.index:
            if item is None:
                out.append(1)
                continue
            if item is Ellipsis:
                rest = len(x) - a - sum(1 for i in self.index if i is not None and i is not Ellipsis) + \
                    sum(1 for i in self.index[:self.index.index(Ellipsis)] if i is not None)
                out.extend(x[a:a + rest])
                a += rest
                continue
            if a >= len(x):
                raise SpecError(f"index {self.index}: too many indices for a tensor of rank {len(x)}")
            n = x[a]
            if isinstance(item, slice):
                step = 1 if item.step is None else int(item.step)
                if step < 1:
                    raise SpecError(f"slice step={step}: must be >= 1 (torch)")
                out.append(simplify_size(_slice_length(n, item.start, item.stop, step)))
            else:
                i = sp.sympify(item)
                ctx.require(sp.Lt(i, n) & sp.Ge(i, -sp.sympify(n)), f"index {item} must be in range on dim {a}")
            a += 1
        return (*out, *x[a:])


@dataclass
class ReduceOp(Op):
    """mean / sum / amax over ``dims`` (None: all), ``keepdim``."""

    dims: tuple[int, ...] | None = None
    keepdim: bool = False
    kind: str = "mean"  # type: ignore[assignment]
    spatial = "mixing"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        dims = set(range(len(x))) if self.dims is None else {axis_index(x, d) for d in self.dims}
        if self.keepdim:
            return tuple(1 if a in dims else n for a, n in enumerate(x))
        return tuple(n for a, n in enumerate(x) if a not in dims)


@dataclass
class PermuteOp(Op):
    """permute / transpose / unsqueeze / squeeze as an explicit ``order`` of input dims (None: new 1)."""

    order: tuple[int | None, ...] = ()
    kind = "permute"
    spatial = "mixing"

    def infer(self, ctx: Context, x: Shape) -> Shape:
        return tuple(1 if a is None else x[a] for a in self.order)
