"""What users want from a model, as formulas in the symbolic sizes: per-node shapes, receptive fields,
parameters, multiply-accumulates and activation counts, with totals.

Receptive fields extend the chain rule of :func:`convalg.shapes.receptive_field`
to DAGs: a node's field on an axis is the hull over its paths, kept as
``y*S + [L, U]``; merges of paths with different strides, and ops that are not
windows (resizes, adaptive pools, flatten, Linear), end it (``None``).

MACs count conv, transposed conv, Linear and matmul only (one MAC per
weight use); pools, norms and activations count 0.  fvcore's conv / linear / matmul
"flops" are the same count (its total adds batch norm, upsampling and adaptive pooling);
torchinfo's mult-adds add biases, BatchNorm parameters and transposed convs counted at their
output positions (measured in ``docs/model-summaries.md``).  ``activations`` counts the
elements of every node output (multiply by the element size for bytes).

>>> import sympy as sp
>>> from convalg import Conv, MaxPool
>>> from convalg.graph import Graph
>>> from convalg.graph.ops import LayerOp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> g = Graph({"x": (1, 3, H, 32)})
>>> c = g.add("conv", LayerOp(Conv(3, padding=1, in_channels=3, out_channels=8, ndim=2), params=224), ["x"])
>>> _ = g.add("pool", LayerOp(MaxPool(2)), [c])
>>> s = g.summary()
>>> s.total_params, s.total_macs, s.rows[-1].receptive_field
(224, 6912*H, ('4 (stride 2, padding 1)', '4 (stride 2, padding 1)'))
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from math import prod
from typing import Any

import sympy as sp

from ..shapes.formulas import as_size
from ..shapes.simplify import format_size
from ..shapes.stack import ReceptiveField, receptive_field
from ..vocabulary import kind_of
from .ops import LayerOp, PadOp

__all__ = ["Row", "Summary", "summarize", "node_receptive_fields"]

_Field = tuple[Any, Any, Any]  # (stride S, low offset L, high offset U): output y sees inputs [y*S + L, y*S + U]


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    shape: tuple[Any, ...]
    receptive_field: tuple[str, ...] | None
    params: int
    macs: Any
    activations: Any


#: The layer kinds whose receptive field the stack formulas give.
_WINDOWED_KINDS = frozenset({"conv", "max_pool", "avg_pool"})


def _windowed(op: Any) -> bool:
    return isinstance(op, LayerOp) and kind_of(op.layer) in _WINDOWED_KINDS


def node_receptive_fields(graph: Any) -> dict[str, tuple[ReceptiveField, ...] | None]:
    """Per node, per spatial axis of the first input: the receptive field (hull over paths), or None."""
    fields: dict[str, tuple[_Field, ...] | None] = {}
    first = graph.inputs[0]
    rank = len(graph.nodes[first].shape)
    for key in graph.inputs:
        fields[key] = tuple((1, 0, 0) for _ in range(rank - 2)) if key == first else None
    for node in graph.nodes.values():
        if node.name in graph.inputs:
            continue
        ins = [fields.get(i) for i in node.inputs]
        known = [f for f in ins if f is not None]
        op = node.op
        if not known or len(node.shape) != rank or (op.spatial == "mixing" and not _windowed(op)):
            fields[node.name] = None
            continue
        if op.spatial == "pointwise":
            strides = {tuple(a[0] for a in f) for f in known}
            fields[node.name] = None if len(strides) > 1 else tuple(
                (f0[0], sp.Min(*[f[a][1] for f in known]), sp.Max(*[f[a][2] for f in known]))
                for a, f0 in enumerate(known[0]))
            continue
        base = known[0]
        if _windowed(op):
            steps = [(r.size, r.stride, r.padding) for r in
                     receptive_field([op.layer], graph.shape_of(node.inputs[0])[2:])]
        elif isinstance(op, PadOp) and len(op.pairs) <= len(base):
            pads = [(0, 0)] * (len(base) - len(op.pairs)) + list(op.pairs)
            steps = [(1, 1, lo) for lo, _ in pads]
        else:
            fields[node.name] = None
            continue
        fields[node.name] = tuple((s * st, lo - p * s, hi + (r - 1 - p) * s)
                                  for (s, lo, hi), (r, st, p) in zip(base, steps))
    return {k: None if v is None else tuple(ReceptiveField(as_size(u - lo + 1), s, as_size(-lo)) for s, lo, u in v)
            for k, v in fields.items()}


def _rf_text(rf: ReceptiveField) -> str:
    return f"{format_size(rf.size)} (stride {format_size(rf.stride)}, padding {format_size(rf.padding)})"


@dataclass(frozen=True)
class Summary:
    rows: tuple[Row, ...]
    total_params: int
    total_macs: Any
    total_activations: Any

    def table(self) -> list[list[str]]:
        head = ["node", "op", "output shape", "receptive field", "params", "MACs", "activations"]
        body = [[r.name, r.kind, "(" + ", ".join(format_size(d) for d in r.shape) + ")",
                 "; ".join(r.receptive_field) if r.receptive_field else "-", str(r.params),
                 format_size(r.macs), format_size(r.activations)] for r in self.rows]
        total = ["total", "", "", "", str(self.total_params), format_size(self.total_macs),
                 format_size(self.total_activations)]
        return [head, *body, total]

    def __str__(self) -> str:
        rows = self.table()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def html(self) -> str:
        rows = self.table()
        cells = lambda r, tag: "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in r)  # noqa: E731
        return ("<table><thead><tr>" + cells(rows[0], "th") + "</tr></thead><tbody>"
                + "".join("<tr>" + cells(r, "td") + "</tr>" for r in rows[1:]) + "</tbody></table>")

    def _repr_html_(self) -> str:
        return self.html()

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": [{"name": r.name, "op": r.kind, "shape": [format_size(d) for d in r.shape],
                           "receptive_field": list(r.receptive_field) if r.receptive_field else None,
                           "params": r.params, "macs": format_size(r.macs), "activations": format_size(r.activations)}
                          for r in self.rows],
                "total": {"params": self.total_params, "macs": format_size(self.total_macs),
                          "activations": format_size(self.total_activations)}}


def summarize(graph: Any, receptive_fields: bool = True) -> Summary:
    """The per-node table of a graph (see the module docstring for the conventions)."""
    fields = node_receptive_fields(graph) if receptive_fields else {}
    rows = []
    for node in graph.nodes.values():
        if node.name in graph.inputs:
            rows.append(Row(node.name, "input", node.shape, None, 0, 0, sp.expand(prod(sp.sympify(d) for d in node.shape))))
            continue
        macs = node.op.macs([graph.shape_of(i) for i in node.inputs], node.shape)
        rf = fields.get(node.name)
        rows.append(Row(node.name, node.op.kind, node.shape, tuple(_rf_text(r) for r in rf) if rf else None,
                        int(node.op.params), sp.expand(macs), sp.expand(prod(sp.sympify(d) for d in node.shape))))
    return Summary(tuple(rows), sum(r.params for r in rows), sp.expand(sum(sp.sympify(r.macs) for r in rows)),
                   sp.expand(sum(r.activations for r in rows)))
