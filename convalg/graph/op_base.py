"""The base of the graph ops: :class:`Op`, the :class:`Context` that collects an op's constraints, sizes.

Every op module (:mod:`convalg.graph.ops`, :mod:`convalg.graph.reshape_ops`)
stands on this one; :mod:`convalg.graph.ops` re-exports them all.

>>> import sympy as sp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> ctx = Context(node="add")
>>> ctx.equal(H, 4, "shapes must match")
>>> [str(c) for c in ctx.constraints]
['add: shapes must match: Eq(H, 4)']
>>> axis_index((1, 3, H), -1)
2
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..errors import SpecError
from ..shapes.formulas import Size, as_size
from ..shapes.simplify import collapse_floors

__all__ = ["Shape", "Constraint", "Context", "Op", "simplify_size", "axis_index"]

Shape = tuple[Size, ...]


def simplify_size(value: Any) -> Size:
    """A size as an ``int`` or a floor-collapsed SymPy expression."""
    value = as_size(value)
    return value if isinstance(value, int) else as_size(collapse_floors(value))


@dataclass(frozen=True)
class Constraint:
    """A condition on the input sizes, with the node and the rule it comes from."""

    condition: sp.Basic
    node: str
    rule: str

    def __str__(self) -> str:
        return f"{self.node}: {self.rule}: {self.condition}"


@dataclass
class Context:
    """Collects the constraints an op states while it infers its output."""

    node: str = "?"
    constraints: list[Constraint] = field(default_factory=list)

    def require(self, condition: Any, rule: str) -> None:
        cond = sp.sympify(condition)
        if cond is not sp.true:
            self.constraints.append(Constraint(cond, self.node, rule))

    def positive(self, shape: Shape, what: str) -> None:
        for a, n in enumerate(shape):
            if not isinstance(n, int) or n < 1:
                self.require(sp.Ge(n, 1), f"{what}: output size on dim {a} must be >= 1")

    def equal(self, a: Size, b: Size, rule: str) -> None:
        if not (a == b or sp.expand(sp.sympify(a) - b) == 0):
            self.require(sp.Eq(a, b), rule)


class Op:
    """Base of all ops: ``infer(ctx, *inputs)`` returns the output shape; ``kind`` names it in tables."""

    kind = "op"
    #: how the op moves spatial positions, for receptive fields: 'pointwise', 'window' or 'mixing'
    spatial = "pointwise"
    params = 0

    def infer(self, ctx: Context, *inputs: Any) -> Shape:  # pragma: no cover - abstract
        raise NotImplementedError

    def macs(self, inputs: Sequence[Shape], output: Shape) -> Size:
        """Multiply-accumulates (conv, linear, matmul only; 0 for everything else)."""
        return 0

    def describe(self) -> str:
        return self.kind


def axis_index(shape: Shape, dim: int, what: str = "dim") -> int:
    """``dim`` (negative counts from the end) as an index into ``shape``; SpecError when out of range."""
    rank = len(shape)
    if not -rank <= dim < rank:
        raise SpecError(f"{what}={dim}: out of range for a tensor of rank {rank}")
    return dim % rank

