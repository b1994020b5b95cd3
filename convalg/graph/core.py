"""A model as a DAG of shape ops, propagated with symbolic input sizes.

>>> import sympy as sp
>>> from convalg import Conv, MaxPool
>>> from convalg.graph.ops import BroadcastOp, LayerOp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> g = Graph({"x": (1, 3, H, 64)})
>>> a = g.add("a", LayerOp(Conv(3, stride=2, padding=1, ndim=2)), ["x"])
>>> b = g.add("b", LayerOp(MaxPool(2)), ["x"])
>>> _ = g.add("sum", BroadcastOp("add"), [a, b])
>>> g.shape_of(a), g.shapes_at({"H": 64})["sum"]
((1, 3, floor(H/2 - 1/2) + 1, 32), (1, 3, 32, 32))
>>> str(g.accepted_sizes("H"))    # at H = 3 the sizes 2 and 1 broadcast, as in torch
'H >= 2, H % 2 == 0; or H in {3}'
>>> g.accepts({"H": 9}), [c.rule for c in g.violated({"H": 9})]
(False, ['add: dim -2 sizes must match or be 1 (broadcasting)'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import SpecError
from .accepted import AcceptedSizes, solve_axis
from .ops import Constraint, Context, Op, Shape
from .readable import simplify_on_accepted
from .summary import summarize

__all__ = ["Graph", "Node", "Unsupported", "size_symbol"]


def size_symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of an input size: a positive integer."""
    return sp.Symbol(name, integer=True, positive=True)


@dataclass(frozen=True)
class Node:
    """One node: its op, its input node names, its output shape and the constraints it adds."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    shape: Shape
    constraints: tuple[Constraint, ...] = ()


@dataclass(frozen=True)
class Unsupported:
    """A node whose op has no shape rule (or whose shape depends on data): its outputs are not exact."""

    node: str
    op: str
    reason: str

    def __str__(self) -> str:
        return f"{self.node} ({self.op}): {self.reason}"


class Graph:
    """Nodes in topological order; ``inputs`` maps input names to shapes (ints or SymPy expressions)."""

    def __init__(self, inputs: Mapping[str, Sequence[Any]], name: str = "model") -> None:
        self.name = name
        self.nodes: dict[str, Node] = {}
        self.inputs = tuple(inputs)
        self.outputs: list[str] = []
        self.unsupported: list[Unsupported] = []
        for key, shape in inputs.items():
            dims = tuple(size_symbol(d) if isinstance(d, str) else d for d in shape)
            for i, d in enumerate(dims):
                if isinstance(d, bool) or not isinstance(d, (int, sp.Expr)) or (isinstance(d, int) and d < 1):
                    raise SpecError(f"input {key!r}[{i}]={d!r}: a size must be an int >= 1 or a SymPy symbol")
            self.nodes[key] = Node(key, Op(), (), tuple(int(d) if isinstance(d, sp.Integer) else d for d in dims))

    # -- building --------------------------------------------------------------------------------
    def add(self, name: str, op: Op, inputs: Sequence[str], *args: Any) -> str:
        """Add a node computing ``op`` on the named input nodes; returns its (unique) name."""
        for i in inputs:
            if i not in self.nodes:
                raise SpecError(f"node {name!r}: input {i!r} is not a node of the graph")
        unique, k = name, 1
        while unique in self.nodes:
            unique, k = f"{name}_{k}", k + 1
        ctx = Context(unique)
        shape = op.infer(ctx, *[self.nodes[i].shape for i in inputs], *args)
        self.nodes[unique] = Node(unique, op, tuple(inputs), tuple(shape), tuple(ctx.constraints))
        return unique

    def mark_unsupported(self, node: str, op: str, reason: str) -> None:
        self.unsupported.append(Unsupported(node, op, reason))

    def set_outputs(self, names: Sequence[str]) -> None:
        self.outputs = list(names)

    # -- shapes ----------------------------------------------------------------------------------
    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """The symbols of the input sizes, in order of appearance."""
        seen: dict[sp.Symbol, None] = {}
        for key in self.inputs:
            for d in self.nodes[key].shape:
                for s in sorted(sp.sympify(d).free_symbols, key=str):
                    seen[s] = None
        return tuple(seen)

    def _symbol(self, s: sp.Symbol | str) -> sp.Symbol:
        if isinstance(s, sp.Symbol):
            return s
        for sym in self.symbols:
            if sym.name == s:
                return sym
        raise SpecError(f"symbol={s!r}: not an input size of the model (sizes: {[x.name for x in self.symbols]})")

    def shape_of(self, node: str) -> Shape:
        """The output shape of one node."""
        if node not in self.nodes:
            raise SpecError(f"node={node!r}: not in the graph")
        return self.nodes[node].shape

    @property
    def output_shapes(self) -> tuple[Shape, ...]:
        """The shape of every output, in order."""
        return tuple(self.nodes[o].shape for o in self._outputs())

    @property
    def output_shape(self) -> Shape:
        """The shape of the first output."""
        return self.output_shapes[0]

    def simplified_shape(self, node: str | None = None, given: Mapping[Any, int] | None = None) -> Shape:
        """A node's shape (default: the first output) with broadcasting's Piecewise branches decided on
        the accepted sizes; equal to :meth:`shape_of` at every accepted size (see :mod:`.readable`)."""
        return simplify_on_accepted(self, self.shape_of(node or self._outputs()[0]), given)

    def simplified_output_shapes(self, given: Mapping[Any, int] | None = None) -> tuple[Shape, ...]:
        """Every output's :meth:`simplified_shape`."""
        return tuple(self.simplified_shape(o, given) for o in self._outputs())

    def _outputs(self) -> list[str]:
        return self.outputs or [list(self.nodes)[-1]]

    @property
    def exact_outputs(self) -> tuple[str, ...]:
        """Outputs whose shapes do not depend on an unsupported node."""
        bad = {u.node for u in self.unsupported}
        tainted: set[str] = set()
        for node in self.nodes.values():
            if node.name in bad or tainted.intersection(node.inputs):
                tainted.add(node.name)
        return tuple(o for o in self._outputs() if o not in tainted)

    # -- constraints -----------------------------------------------------------------------------
    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """Every constraint, first occurrence of each condition only."""
        seen: dict[sp.Basic, Constraint] = {}
        for node in self.nodes.values():
            for c in node.constraints:
                seen.setdefault(c.condition, c)
        return tuple(seen.values())

    @property
    def condition(self) -> sp.Basic:
        """The conjunction of every constraint: a SymPy boolean in the input sizes."""
        return sp.And(*[c.condition for c in self.constraints])

    def _values(self, values: Mapping[Any, int]) -> dict[sp.Symbol, sp.Integer]:
        return {self._symbol(k): sp.Integer(v) for k, v in values.items()}

    def violated(self, values: Mapping[Any, int]) -> list[Constraint]:
        """The constraints that the given input sizes break (exact evaluation of each condition)."""
        subs = self._values(values)
        out = []
        for c in self.constraints:
            v = c.condition.xreplace(subs)
            if v not in (sp.true, sp.false):
                v = sp.simplify(v) if not v.free_symbols else v
            if v is sp.false:
                out.append(c)
            elif v is not sp.true:
                missing = sorted(map(str, v.free_symbols))
                raise SpecError(f"{c}: needs values for {missing} to be decided")
        return out

    def accepts(self, values: Mapping[Any, int]) -> bool:
        """Whether the model accepts these input sizes (every constraint decided exactly, nothing run)."""
        self._check_exact()
        return not self.violated(values)

    def accepted_sizes(self, symbol: sp.Symbol | str, given: Mapping[Any, int] | None = None) -> AcceptedSizes:
        """The sizes of ``symbol`` the model accepts, the other sizes ``given`` (or left free).

        Constraints that do not involve ``symbol`` are left out when other sizes are free;
        a constraint that couples ``symbol`` with a free size makes the answer undecided.
        """
        self._check_exact()
        n = self._symbol(symbol)
        subs = self._values(given or {})
        conditions = []
        for c in self.constraints:
            cond = c.condition.xreplace(subs)
            if n in cond.free_symbols:
                conditions.append(cond)
            elif not cond.free_symbols and sp.simplify(cond) is sp.false:
                return AcceptedSizes(n, residues=(), below=())
        return solve_axis(conditions, n)

    def _check_exact(self) -> None:
        if self.unsupported:
            raise SpecError("the accepted sizes are not exact: unsupported nodes "
                            + "; ".join(map(str, self.unsupported)))

    def shapes_at(self, values: Mapping[Any, int], nodes: Sequence[str] | None = None) -> dict[str, tuple[int, ...]]:
        """Node shapes at concrete input sizes (every node, or those named)."""
        subs = self._values(values)
        names = list(self.nodes) if nodes is None else list(nodes)
        return {name: tuple(int(sp.sympify(d).xreplace(subs)) for d in self.shape_of(name)) for name in names}

    # -- reports ---------------------------------------------------------------------------------
    def summary(self, **kwargs: Any) -> Any:
        """Per-node table: shapes, receptive fields, parameters, MACs, activations (see :mod:`.summary`)."""
        return summarize(self, **kwargs)

    def _repr_html_(self) -> str:
        return self.summary().html()

    def __repr__(self) -> str:
        ins = ", ".join(f"{k}={self.nodes[k].shape}" for k in self.inputs)
        return f"<Graph {self.name}: {len(self.nodes) - len(self.inputs)} nodes, inputs {ins}, output {self.output_shape}>"


