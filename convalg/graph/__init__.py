"""Whole models: DAGs of shape ops with exact symbolic shapes, constraints and accepted input sizes.

``from_torch`` (torch.fx) and ``from_onnx`` (the ``onnx`` package) import
models; both are optional and imported on first use.

>>> import sympy as sp
>>> from convalg.graph import Graph
>>> from convalg.graph.ops import LinearOp, FlattenOp, LayerOp
>>> from convalg import MaxPool
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> g = Graph({"x": (1, 2, H, 8)})
>>> p = g.add("pool", LayerOp(MaxPool(4)), ["x"])
>>> f = g.add("flat", FlattenOp(1), [p])
>>> _ = g.add("fc", LinearOp(12, 10), [f])
>>> str(g.accepted_sizes(H))     # 2 * floor(H/4) * 2 == 12
'H in {12..15}'
"""

from __future__ import annotations

import importlib
from typing import Any

from .accepted import AcceptedSizes, solve_axis
from .core import Graph, Node, Unsupported, size_symbol
from .ops import Constraint

__all__ = ["Graph", "Node", "Constraint", "Unsupported", "AcceptedSizes", "solve_axis", "size_symbol",
           "from_torch", "from_onnx"]

_LAZY = {"from_torch": ".torch_import", "from_onnx": ".onnx_import"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
