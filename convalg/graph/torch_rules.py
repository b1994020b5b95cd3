"""Shape rules for torch.fx nodes: ``torch`` / ``F`` / ``operator`` functions and tensor methods
(``nn`` modules: :mod:`.torch_modules`).

Each rule adds one node to the graph (or computes a size on SymPy values) and
returns the traced value.  A call without a rule raises :class:`NoShapeRule`,
which the importer turns into an unsupported node.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any

import sympy as sp

from ..spec import Conv
from ..spec.conventions import torch_pad_tuple
from .core import Graph
from .ops import (
    BroadcastOp,
    ConcatOp,
    FlattenOp,
    LayerOp,
    LinearOp,
    MatMulOp,
    PadOp,
    PermuteOp,
    PixelShuffleOp,
    PointwiseOp,
    ReduceOp,
    ReshapeOp,
    SliceOp,
)
from .torch_layers import NoShapeRule, adaptive_pool, add_node, as_sympy, is_tensor, node_shape, pool_layer, resize_op
from .torch_modules import call_module

__all__ = ["NoShapeRule", "call_module", "call_function", "call_method", "POINTWISE_NAMES"]


#: Functions and methods that keep the shape of their first tensor argument.
POINTWISE_NAMES = frozenset({
    "relu", "relu_", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "elu",
    "selu", "celu", "mish", "softplus", "softmax", "log_softmax", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "contiguous", "clone", "detach", "float", "double", "half", "to", "type_as", "abs", "exp", "log",
    "sqrt", "rsqrt", "neg", "clamp", "clamp_min", "clamp_max", "hardtanh", "batch_norm", "instance_norm",
    "group_norm", "layer_norm", "normalize", "sign", "square", "erf", "cpu", "cuda", "requires_grad_",
})

_BINARY = {operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.truediv: "div",
           operator.iadd: "add", operator.imul: "mul"}


def _scalar(fn: Any, args: tuple[Any, ...]) -> Any:
    a = [as_sympy(x) for x in args]
    if fn in (operator.floordiv,):
        return sp.floor(a[0] / a[1])
    if fn is operator.mod:
        return sp.Mod(a[0], a[1])
    if fn is operator.truediv:
        return a[0] / a[1]
    if fn is operator.neg:
        return -a[0]
    if fn in (operator.add, operator.sub, operator.mul, operator.iadd, operator.imul):
        value = fn(a[0], a[1])
        return int(value) if isinstance(value, sp.Integer) else value
    raise NoShapeRule(getattr(fn, "__name__", str(fn)), "no rule for this operation on sizes")


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], i: int, key: str, default: Any = None) -> Any:
    return args[i] if len(args) > i else kwargs.get(key, default)


def _dims_arg(v: Any) -> tuple[int, ...] | None:
    return None if v is None else tuple(v) if isinstance(v, (list, tuple)) else (v,)


def _getitem(graph: Graph, name: str, x: Any, index: Any) -> Any:
    if not is_tensor(x):
        if isinstance(index, slice):
            return x[index]
        i = int(index) if isinstance(index, (int, sp.Integer)) else None
        if i is None:
            raise NoShapeRule("getitem", f"index {index} of a size tuple must be a concrete int")
        return x[i]
    items = index if isinstance(index, tuple) else (index,)
    for it in items:
        if is_tensor(it):
            raise NoShapeRule("getitem", "indexing with a tensor: the shape depends on the data")
    return add_node(graph, name, SliceOp(tuple(slice(as_sympy(i.start) if i.start is not None else None,
                                                 as_sympy(i.stop) if i.stop is not None else None, i.step)
                                           if isinstance(i, slice) else i for i in items)), x)


def _reduce(graph: Graph, name: str, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    dims = _dims_arg(_arg(args, kwargs, 1, "dim"))
    return add_node(graph, name, ReduceOp(dims, bool(_arg(args, kwargs, 2, "keepdim", False)), kind), args[0])


def _reshape(graph: Graph, name: str, x: Any, shape: tuple[Any, ...]) -> Any:
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    return add_node(graph, name, ReshapeOp(tuple(as_sympy(s) if not isinstance(s, int) else s for s in shape)), x)


def _permute(graph: Graph, name: str, x: Any, order: list[int | None]) -> Any:
    return add_node(graph, name, PermuteOp(tuple(order)), x)


def _common(graph: Graph, name: str, fname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Rules shared by functions (``torch.flatten(x)``) and methods (``x.flatten()``)."""
    x = args[0]
    if fname in POINTWISE_NAMES:
        return add_node(graph, name, PointwiseOp(fname), x)
    if fname in ("add", "sub", "mul", "div", "add_", "mul_", "maximum", "minimum", "where"):
        return add_node(graph, name, BroadcastOp(fname.rstrip("_")), *[a for a in args if is_tensor(a)])
    if fname == "flatten":
        return add_node(graph, name, FlattenOp(_arg(args, kwargs, 1, "start_dim", 0), _arg(args, kwargs, 2, "end_dim", -1)),
                    x)
    if fname in ("mean", "sum", "amax", "amin"):
        return _reduce(graph, name, fname, args, kwargs)
    if fname in ("reshape", "view"):
        return _reshape(graph, name, x, tuple(args[1:]) or tuple(kwargs.get("shape", ())))
    if fname == "matmul":
        return add_node(graph, name, MatMulOp(), x, args[1])
    if fname in ("transpose", "swapaxes"):
        rank = len(node_shape(graph, x))
        a, b = (int(v) % rank for v in args[1:3])
        order: list[int | None] = list(range(rank))
        order[a], order[b] = order[b], order[a]
        return _permute(graph, name, x, order)
    if fname == "permute":
        dims = args[1:] if not isinstance(args[1], (list, tuple)) else args[1]
        rank = len(node_shape(graph, x))
        return _permute(graph, name, x, [int(d) % rank for d in dims])
    if fname == "unsqueeze":
        rank = len(node_shape(graph, x)) + 1
        d = int(_arg(args, kwargs, 1, "dim")) % rank
        order = list(range(rank - 1))
        return _permute(graph, name, x, order[:d] + [None] + order[d:])
    if fname in ("nonzero", "masked_select", "unique", "item", "tolist", "argwhere"):
        raise NoShapeRule(fname, "data-dependent shape: the output size depends on tensor values")
    if fname == "pixel_shuffle":
        return add_node(graph, name, PixelShuffleOp(int(args[1])), x)
    if fname == "pixel_unshuffle":
        return add_node(graph, name, PixelShuffleOp(int(args[1]), True), x)
    raise NoShapeRule(fname, f"no shape rule for {fname}")


def call_method(graph: Graph, name: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Add the node of one ``call_method`` (``x.view(...)``), or compute a size (``x.size(2)``)."""
    x = args[0]
    if not is_tensor(x):
        raise NoShapeRule(method, f"method {method} on a non-tensor value {x!r}")
    if method == "size":
        shape = node_shape(graph, x)
        d = _arg(args, kwargs, 1, "dim")
        return tuple(shape) if d is None else shape[int(d)]
    if method == "dim":
        return len(node_shape(graph, x))
    if method == "numel":
        return sp.prod([sp.sympify(n) for n in node_shape(graph, x)])
    if method == "expand_as" or method == "view_as" or method == "reshape_as":
        return add_node(graph, name, ReshapeOp(node_shape(graph, args[1])), x) if method != "expand_as" else \
            add_node(graph, name, BroadcastOp("expand"), x, args[1])
    return _common(graph, name, method, args, kwargs)


def call_function(graph: Graph, name: str, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Add the node of one ``call_function`` (``torch.cat``, ``F.interpolate``, ``operator.add``...)."""
    fname = getattr(fn, "__name__", str(fn))
    for rules in (_python_function, _torch_function, _window_function):
        value = rules(graph, name, fn, fname, args, kwargs)
        if value is not _NO_RULE:
            return value
    if fname in ("dropout", "relu", "gelu", "sigmoid", "tanh", "silu") or fname in POINTWISE_NAMES:
        return add_node(graph, name, PointwiseOp(fname), args[0])
    if is_tensor(args[0]) if args else False:
        return _common(graph, name, fname, args, kwargs)
    raise NoShapeRule(fname, f"no shape rule for function {fname}")


#: returned by a group of function rules that has no rule for the call (``None`` can be a traced value)
_NO_RULE = object()


def _python_function(graph: Graph, name: str, fn: Any, fname: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    """``getattr``, ``operator`` and ``math`` calls: on tensors, or on sizes (computed on SymPy values)."""
    if fn is builtins.getattr:
        if args[1] in ("shape",) and is_tensor(args[0]):
            return tuple(node_shape(graph, args[0]))
        raise NoShapeRule("getattr", f"attribute {args[1]!r} of a traced value")
    if fn is operator.getitem:
        return _getitem(graph, name, args[0], args[1])
    if fn in _BINARY or fn in (operator.floordiv, operator.mod, operator.neg):
        tensors = [a for a in args if is_tensor(a)]
        if not tensors:
            return _scalar(fn, args)
        if fn in _BINARY:
            return add_node(graph, name, BroadcastOp(_BINARY[fn]), *tensors)
        raise NoShapeRule(fname, f"{fname} on tensors has no rule")
    if fn is operator.matmul:
        return add_node(graph, name, MatMulOp(), args[0], args[1])
    if fn in (math.floor, math.ceil, int) and not is_tensor(args[0]):
        return sp.floor(as_sympy(args[0])) if fn is not math.ceil else sp.ceiling(as_sympy(args[0]))
    return _NO_RULE


def _torch_function(graph: Graph, name: str, fn: Any, fname: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
    """``torch`` / ``torch.nn.functional`` calls matched by identity: cat, interpolate, pad, linear, mm."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    if fn in (torch.cat, torch.concat, getattr(torch, "concatenate", torch.cat)):
        tensors = list(args[0])
        return add_node(graph, name, ConcatOp(int(_arg(args, kwargs, 1, "dim", 0))), *tensors)
    if fn is F.interpolate or fn is getattr(F, "upsample", None):
        op = resize_op(_arg(args, kwargs, 1, "size"), _arg(args, kwargs, 2, "scale_factor"),
                     _arg(args, kwargs, 3, "mode", "nearest"))
        return add_node(graph, name, op, args[0])
    if fn is F.pad:
        pad = tuple(_arg(args, kwargs, 1, "pad"))
        return add_node(graph, name, PadOp(torch_pad_tuple(pad), _arg(args, kwargs, 2, "mode", "constant")), args[0])
    if fn is F.linear:
        w = node_shape(graph, args[1])
        return add_node(graph, name, LinearOp(int(w[1]), int(w[0])), args[0])
    if fn in (torch.bmm, torch.mm):
        return add_node(graph, name, MatMulOp(), args[0], args[1])
    return _NO_RULE


def _window_function(graph: Graph, name: str, fn: Any, fname: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    """``F.max_pool2d``, ``F.adaptive_avg_pool1d``, ``F.conv3d``...: windowed layers, matched by name."""
    if fname in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"):
        return add_node(graph, name, LayerOp(_pool_call(fname, args, kwargs)), args[0])
    if fname.startswith("adaptive_") and fname[-2:] in ("1d", "2d", "3d"):
        kind = "max" if "max" in fname else "avg"
        return add_node(graph, name, LayerOp(adaptive_pool(kind, int(fname[-2]), _arg(args, kwargs, 1, "output_size"))),
                    args[0])
    if fname in ("conv1d", "conv2d", "conv3d"):
        w = node_shape(graph, _arg(args, kwargs, 1, "weight"))
        groups = int(_arg(args, kwargs, 6, "groups", 1))
        layer = Conv(tuple(w[2:]), stride=_arg(args, kwargs, 3, "stride", 1), padding=_arg(args, kwargs, 4, "padding", 0),
                     dilation=_arg(args, kwargs, 5, "dilation", 1), groups=groups, in_channels=w[1] * groups,
                     out_channels=w[0], ndim=int(fname[-2]))
        return add_node(graph, name, LayerOp(layer), args[0])
    return _NO_RULE


def _pool_call(fname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The layer of ``F.max_poolNd`` / ``F.avg_poolNd`` called with torch's positional or keyword arguments."""
    kind = "max" if fname.startswith("max") else "avg"
    keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode") if kind == "max" else \
        ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
    values = {k: _arg(args, kwargs, i + 1, k) for i, k in enumerate(keys)}
    values = {k: v for k, v in values.items() if v is not None}
    if values.get("return_indices") or kwargs.get("return_indices"):
        raise NoShapeRule(fname, "return_indices=True gives a tuple; not supported")
    kernel = values.pop("kernel_size")
    return pool_layer(kind, int(fname[-2]), kernel, **values)
