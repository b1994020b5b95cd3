"""What the torch.fx shape rules share: :class:`NoShapeRule`, adding a node, and the layers torch's arguments name.

Both rule modules (:mod:`.torch_modules` for ``nn`` modules, :mod:`.torch_rules`
for functions and methods) stand on this one.

>>> pool_layer("max", 2, 3).stride  # torch's default: the kernel
(3, 3)
>>> as_sympy(2.0), as_sympy(0.5)
(2, 1/2)
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..errors import SpecError
from ..spec import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, MaxPool
from .core import Graph
from .op_base import Op
from .ops import ResizeOp
from .traced import Tensor

__all__ = ["NoShapeRule", "is_tensor", "add_node", "node_shape", "as_sympy", "pool_layer", "adaptive_pool",
           "resize_op"]


class NoShapeRule(Exception):
    """No shape rule for this call (``op`` names it, ``reason`` says what is missing)."""

    def __init__(self, op: str, reason: str) -> None:
        super().__init__(reason)
        self.op, self.reason = op, reason


def is_tensor(v: Any) -> bool:
    """Whether ``v`` is a traced tensor (else a size, a tuple of sizes, a Python value)."""
    return isinstance(v, Tensor)


def add_node(graph: Graph, name: str, op: Op, *tensors: Any) -> Any:
    """Add node ``name`` computing ``op`` on ``tensors``; the traced tensor it gives."""
    return Tensor(graph.add(name, op, [t.name for t in tensors]))


def node_shape(graph: Graph, t: Any) -> tuple[Any, ...]:
    """The shape of traced tensor ``t``."""
    return graph.shape_of(t.name)


def as_sympy(v: Any) -> Any:
    """A Python number or size as SymPy (floats exact: ``0.5`` -> ``1/2``); ints and SymPy values unchanged."""
    if isinstance(v, float) and v.is_integer():
        return sp.Integer(int(v))
    if isinstance(v, float):
        return sp.Rational(v)
    return sp.sympify(v) if not isinstance(v, (int, sp.Basic)) else v


def pool_layer(kind: str, nd: int, kernel: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Any = None) -> Any:
    """The MaxPool (``kind='max'``) or AvgPool torch's arguments describe (``stride`` defaults to the kernel)."""
    if stride is None or (isinstance(stride, (list, tuple)) and not stride):
        stride = kernel
    if kind == "max":
        return MaxPool(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, ndim=nd)
    return AvgPool(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                   divisor_override=divisor_override, ndim=nd)


def adaptive_pool(kind: str, nd: int, size: Any) -> Any:
    """The adaptive pool of output ``size`` (one int: every axis)."""
    cls = AdaptiveMaxPool if kind == "max" else AdaptiveAvgPool
    return cls(tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd, ndim=nd)


def resize_op(size: Any, scale: Any, mode: str = "nearest") -> ResizeOp:
    """``interpolate`` / ``Upsample`` to ``size``, or by ``scale``."""
    if size is not None:
        return ResizeOp(size=tuple(size) if isinstance(size, (list, tuple)) else (size,), mode=mode)
    if scale is None:
        raise SpecError("interpolate: either size or scale_factor must be given")
    scales = tuple(scale) if isinstance(scale, (list, tuple)) else (scale,)
    return ResizeOp(scale=tuple(as_sympy(float(f)) for f in scales), mode=mode)
