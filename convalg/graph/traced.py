"""The values an importer traces through a model: :class:`Tensor` (a graph node) and :class:`UnknownOp`.

Both importers (:mod:`.torch_import`, :mod:`.onnx_import`) and their rule
modules share them, so the rules never import their importer.

>>> import sympy as sp
>>> from convalg.graph import Graph
>>> g = Graph({"x": (1, 3, 8)})
>>> t = Tensor(g.add("odd", UnknownOp("Odd", 3, "odd"), ["x"]))
>>> g.shape_of(t.name)
(odd_0, odd_1, odd_2)
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .op_base import Op, Shape

__all__ = ["Tensor", "UnknownOp"]


class Tensor:
    """A traced tensor value: the name of the graph node that holds its shape."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class UnknownOp(Op):
    """A node without a shape rule: fresh symbols stand for its sizes, and the graph marks it unsupported."""

    spatial = "mixing"

    def __init__(self, kind: str, rank: int, node: str) -> None:
        self.kind = kind  # type: ignore[misc]
        self.rank = rank
        self.node = node

    def infer(self, ctx: Any, *inputs: Shape) -> Shape:
        return tuple(sp.Symbol(f"{self.node}_{i}", integer=True, positive=True) for i in range(self.rank))
