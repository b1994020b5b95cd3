"""Shape rules for torch.fx nodes: ``nn`` modules, ``torch`` / ``F`` / ``operator`` functions, tensor methods.

Each rule adds one node to the graph (or computes a size on SymPy values) and
returns the traced value.  A call without a rule raises :class:`NoShapeRule`,
which the importer turns into an unsupported node.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import SpecError
from ..spec import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, Conv, ConvTranspose, MaxPool
from ..spec.conventions import torch_pad_tuple
from .core import Graph
from .ops import (
    BroadcastOp,
    ConcatOp,
    FlattenOp,
    LayerNormOp,
    LayerOp,
    LinearOp,
    MatMulOp,
    Op,
    PadOp,
    PermuteOp,
    PixelShuffleOp,
    PointwiseOp,
    ReduceOp,
    ReshapeOp,
    ResizeOp,
    SliceOp,
)
from .traced import Tensor, UnknownOp

__all__ = ["NoShapeRule", "call_module", "call_function", "call_method", "POINTWISE_NAMES"]


class NoShapeRule(Exception):
    """No shape rule for this call (``op`` names it, ``reason`` says what is missing)."""

    def __init__(self, op: str, reason: str) -> None:
        super().__init__(reason)
        self.op, self.reason = op, reason


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


def _is_tensor(v: Any) -> bool:
    return isinstance(v, Tensor)


def _add(graph: Graph, name: str, op: Op, *tensors: Any) -> Any:
    return Tensor(graph.add(name, op, [t.name for t in tensors]))


def _shape(graph: Graph, t: Any) -> tuple[Any, ...]:
    return graph.shape_of(t.name)


def _sym(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return sp.Integer(int(v))
    if isinstance(v, float):
        return sp.Rational(v)
    return sp.sympify(v) if not isinstance(v, (int, sp.Basic)) else v


def _scalar(fn: Any, args: tuple[Any, ...]) -> Any:
    a = [_sym(x) for x in args]
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


def _ndim_of(cls_name: str) -> int | None:
    for d in (1, 2, 3):
        if cls_name.endswith(f"{d}d"):
            return d
    return None


def _params(m: Any) -> int:
    return int(sum(p.numel() for p in m.parameters()))


def _conv_layer(m: Any) -> Any:
    nd = len(m.kernel_size)
    pad = m.padding if isinstance(m.padding, str) else tuple(m.padding)
    common = dict(stride=tuple(m.stride), padding=pad, dilation=tuple(m.dilation), groups=m.groups,
                  bias=m.bias is not None, in_channels=m.in_channels, out_channels=m.out_channels, ndim=nd)
    if type(m).__name__.startswith("ConvTranspose"):
        return ConvTranspose(tuple(m.kernel_size), output_padding=tuple(m.output_padding), **common)
    return Conv(tuple(m.kernel_size), padding_mode=m.padding_mode, **common)


def _pool_layer(kind: str, nd: int, kernel: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Any = None) -> Any:
    if stride is None or (isinstance(stride, (list, tuple)) and not stride):
        stride = kernel
    if kind == "max":
        return MaxPool(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, ndim=nd)
    return AvgPool(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                   divisor_override=divisor_override, ndim=nd)


def _adaptive(kind: str, nd: int, size: Any) -> Any:
    cls = AdaptiveMaxPool if kind == "max" else AdaptiveAvgPool
    return cls(tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd, ndim=nd)


def _resize(size: Any, scale: Any, mode: str = "nearest") -> ResizeOp:
    if size is not None:
        return ResizeOp(size=tuple(size) if isinstance(size, (list, tuple)) else (size,), mode=mode)
    if scale is None:
        raise SpecError("interpolate: either size or scale_factor must be given")
    scales = tuple(scale) if isinstance(scale, (list, tuple)) else (scale,)
    return ResizeOp(scale=tuple(_sym(float(f)) for f in scales), mode=mode)


def call_module(graph: Graph, name: str, m: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                rule: Callable[..., Any] | None = None, qualname: str | None = None) -> Any:
    """Add the node of one ``call_module`` (``qualname``: the submodule's name in the model)."""
    x = args[0] if args else next(iter(kwargs.values()))
    call = _ModuleCall(m, type(m).__name__, _params(m), len(args) > 1 or bool(kwargs))
    if rule is not None:
        shape = tuple(rule(_shape(graph, x)))
        return _add(graph, name, _RuleOp(call.cls, shape, call.params) if shape else UnknownOp(call.cls, 1, name), x)
    tables = _module_rules()
    module_rule = _rule_of(m, tables[0])
    if module_rule is None and call.cls.startswith(_PAD_MODES):
        module_rule = _pad_module
    module_rule = module_rule or _rule_of(m, tables[1])
    if module_rule is None:
        raise NoShapeRule(call.cls, f"no shape rule for module type {call.cls}; give one with "
                                    f"leaf_rules={{'{qualname or name}': lambda shape: ...}}")
    return _add(graph, name, module_rule(call), x)


@dataclass(frozen=True)
class _ModuleCall:
    """One call of an ``nn`` module: the module, its class name, its parameter count, whether the call
    passed more than the input."""

    m: Any
    cls: str
    params: int
    more_args: bool

    @property
    def nd(self) -> int | None:
        return _ndim_of(self.cls)


ModuleRule = Callable[[_ModuleCall], Op]


def _rule_of(m: Any, table: dict[type, ModuleRule]) -> ModuleRule | None:
    """The rule of the first class of ``m``'s MRO in ``table`` (so subclasses of torch's modules match too)."""
    return next((table[c] for c in type(m).__mro__ if c in table), None)


def _conv_module(c: _ModuleCall) -> Op:
    if c.more_args:
        raise NoShapeRule(c.cls, "ConvTranspose with output_size= has no rule (pass output_padding instead)")
    return LayerOp(_conv_layer(c.m), c.params)


def _max_pool_module(c: _ModuleCall) -> Op:
    m = c.m
    if m.return_indices:
        raise NoShapeRule(c.cls, "return_indices=True gives a tuple; not supported")
    return LayerOp(_pool_layer("max", c.nd, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode))


def _avg_pool_module(c: _ModuleCall) -> Op:
    m = c.m
    return LayerOp(_pool_layer("avg", c.nd, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode, m.count_include_pad,
                               getattr(m, "divisor_override", None)))


def _adaptive_module(c: _ModuleCall) -> Op:
    return LayerOp(_adaptive("max" if "Max" in c.cls else "avg", c.nd, c.m.output_size))


def _pixel_shuffle_module(c: _ModuleCall) -> Op:
    from torch import nn

    unshuffle = isinstance(c.m, nn.PixelUnshuffle)
    return PixelShuffleOp(c.m.downscale_factor if unshuffle else c.m.upscale_factor, unshuffle)


_PAD_MODES = ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")


def _pad_module(c: _ModuleCall) -> Op:
    mode = {"Zer": "constant", "Con": "constant", "Ref": "reflect", "Rep": "replicate", "Cir": "circular"}[c.cls[:3]]
    return PadOp(torch_pad_tuple(tuple(c.m.padding)), mode)


@functools.cache
def _module_rules() -> tuple[dict[type, ModuleRule], dict[type, ModuleRule]]:
    """The rules by ``nn`` module class: the shape-changing ones, and the shape-keeping ones (looked up after
    the padding modules, which are matched by name)."""
    from torch import nn

    groups: list[tuple[tuple[type, ...], ModuleRule]] = [
        ((nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), _conv_module),
        ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d), _max_pool_module),
        ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), _avg_pool_module),
        ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
          nn.AdaptiveMaxPool3d), _adaptive_module),
        ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d),
         lambda c: PointwiseOp(c.cls, c.m.num_features, c.params)),
        ((nn.GroupNorm,), lambda c: PointwiseOp(c.cls, c.m.num_channels, c.params)),
        ((nn.LayerNorm,), lambda c: LayerNormOp(tuple(c.m.normalized_shape), c.params)),
        ((nn.Linear,), lambda c: LinearOp(c.m.in_features, c.m.out_features, c.params)),
        ((nn.Flatten,), lambda c: FlattenOp(c.m.start_dim, c.m.end_dim)),
        ((nn.Upsample,), lambda c: _resize(c.m.size, c.m.scale_factor, c.m.mode)),
        ((nn.PixelShuffle, nn.PixelUnshuffle), _pixel_shuffle_module),
    ]
    keeping = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid,
               nn.ELU, nn.SELU, nn.PReLU, nn.Softmax, nn.LogSoftmax, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
               nn.Dropout3d, nn.Identity, nn.Mish, nn.Hardtanh, nn.Softplus)
    changing = {t: rule for types, rule in groups for t in types}
    return changing, dict.fromkeys(keeping, lambda c: PointwiseOp(c.cls, None, c.params))


class _RuleOp(Op):
    spatial = "mixing"

    def __init__(self, kind: str, shape: tuple[Any, ...], params: int) -> None:
        self.kind, self.shape, self.params = kind, shape, params  # type: ignore[misc]

    def infer(self, ctx: Any, *inputs: Any) -> tuple[Any, ...]:
        return self.shape


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], i: int, key: str, default: Any = None) -> Any:
    return args[i] if len(args) > i else kwargs.get(key, default)


def _dims_arg(v: Any) -> tuple[int, ...] | None:
    return None if v is None else tuple(v) if isinstance(v, (list, tuple)) else (v,)


def _getitem(graph: Graph, name: str, x: Any, index: Any) -> Any:
    if not _is_tensor(x):
        if isinstance(index, slice):
            return x[index]
        i = int(index) if isinstance(index, (int, sp.Integer)) else None
        if i is None:
            raise NoShapeRule("getitem", f"index {index} of a size tuple must be a concrete int")
        return x[i]
    items = index if isinstance(index, tuple) else (index,)
    for it in items:
        if _is_tensor(it):
            raise NoShapeRule("getitem", "indexing with a tensor: the shape depends on the data")
    return _add(graph, name, SliceOp(tuple(slice(_sym(i.start) if i.start is not None else None,
                                                 _sym(i.stop) if i.stop is not None else None, i.step)
                                           if isinstance(i, slice) else i for i in items)), x)


def _reduce(graph: Graph, name: str, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    dims = _dims_arg(_arg(args, kwargs, 1, "dim"))
    return _add(graph, name, ReduceOp(dims, bool(_arg(args, kwargs, 2, "keepdim", False)), kind), args[0])


def _reshape(graph: Graph, name: str, x: Any, shape: tuple[Any, ...]) -> Any:
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    return _add(graph, name, ReshapeOp(tuple(_sym(s) if not isinstance(s, int) else s for s in shape)), x)


def _permute(graph: Graph, name: str, x: Any, order: list[int | None]) -> Any:
    return _add(graph, name, PermuteOp(tuple(order)), x)


def _common(graph: Graph, name: str, fname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Rules shared by functions (``torch.flatten(x)``) and methods (``x.flatten()``)."""
    x = args[0]
    if fname in POINTWISE_NAMES:
        return _add(graph, name, PointwiseOp(fname), x)
    if fname in ("add", "sub", "mul", "div", "add_", "mul_", "maximum", "minimum", "where"):
        return _add(graph, name, BroadcastOp(fname.rstrip("_")), *[a for a in args if _is_tensor(a)])
    if fname == "flatten":
        return _add(graph, name, FlattenOp(_arg(args, kwargs, 1, "start_dim", 0), _arg(args, kwargs, 2, "end_dim", -1)),
                    x)
    if fname in ("mean", "sum", "amax", "amin"):
        return _reduce(graph, name, fname, args, kwargs)
    if fname in ("reshape", "view"):
        return _reshape(graph, name, x, tuple(args[1:]) or tuple(kwargs.get("shape", ())))
    if fname == "matmul":
        return _add(graph, name, MatMulOp(), x, args[1])
    if fname in ("transpose", "swapaxes"):
        rank = len(_shape(graph, x))
        a, b = (int(v) % rank for v in args[1:3])
        order: list[int | None] = list(range(rank))
        order[a], order[b] = order[b], order[a]
        return _permute(graph, name, x, order)
    if fname == "permute":
        dims = args[1:] if not isinstance(args[1], (list, tuple)) else args[1]
        rank = len(_shape(graph, x))
        return _permute(graph, name, x, [int(d) % rank for d in dims])
    if fname == "unsqueeze":
        rank = len(_shape(graph, x)) + 1
        d = int(_arg(args, kwargs, 1, "dim")) % rank
        order = list(range(rank - 1))
        return _permute(graph, name, x, order[:d] + [None] + order[d:])
    if fname in ("nonzero", "masked_select", "unique", "item", "tolist", "argwhere"):
        raise NoShapeRule(fname, "data-dependent shape: the output size depends on tensor values")
    if fname == "pixel_shuffle":
        return _add(graph, name, PixelShuffleOp(int(args[1])), x)
    if fname == "pixel_unshuffle":
        return _add(graph, name, PixelShuffleOp(int(args[1]), True), x)
    raise NoShapeRule(fname, f"no shape rule for {fname}")


def call_method(graph: Graph, name: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Add the node of one ``call_method`` (``x.view(...)``), or compute a size (``x.size(2)``)."""
    x = args[0]
    if not _is_tensor(x):
        raise NoShapeRule(method, f"method {method} on a non-tensor value {x!r}")
    if method == "size":
        shape = _shape(graph, x)
        d = _arg(args, kwargs, 1, "dim")
        return tuple(shape) if d is None else shape[int(d)]
    if method == "dim":
        return len(_shape(graph, x))
    if method == "numel":
        return sp.prod([sp.sympify(n) for n in _shape(graph, x)])
    if method == "expand_as" or method == "view_as" or method == "reshape_as":
        return _add(graph, name, ReshapeOp(_shape(graph, args[1])), x) if method != "expand_as" else \
            _add(graph, name, BroadcastOp("expand"), x, args[1])
    return _common(graph, name, method, args, kwargs)


def call_function(graph: Graph, name: str, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Add the node of one ``call_function`` (``torch.cat``, ``F.interpolate``, ``operator.add``...)."""
    fname = getattr(fn, "__name__", str(fn))
    for rules in (_python_function, _torch_function, _window_function):
        value = rules(graph, name, fn, fname, args, kwargs)
        if value is not _NO_RULE:
            return value
    if fname in ("dropout", "relu", "gelu", "sigmoid", "tanh", "silu") or fname in POINTWISE_NAMES:
        return _add(graph, name, PointwiseOp(fname), args[0])
    if _is_tensor(args[0]) if args else False:
        return _common(graph, name, fname, args, kwargs)
    raise NoShapeRule(fname, f"no shape rule for function {fname}")


#: returned by a group of function rules that has no rule for the call (``None`` can be a traced value)
_NO_RULE = object()


def _python_function(graph: Graph, name: str, fn: Any, fname: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    """``getattr``, ``operator`` and ``math`` calls: on tensors, or on sizes (computed on SymPy values)."""
    if fn is builtins.getattr:
        if args[1] in ("shape",) and _is_tensor(args[0]):
            return tuple(_shape(graph, args[0]))
        raise NoShapeRule("getattr", f"attribute {args[1]!r} of a traced value")
    if fn is operator.getitem:
        return _getitem(graph, name, args[0], args[1])
    if fn in _BINARY or fn in (operator.floordiv, operator.mod, operator.neg):
        tensors = [a for a in args if _is_tensor(a)]
        if not tensors:
            return _scalar(fn, args)
        if fn in _BINARY:
            return _add(graph, name, BroadcastOp(_BINARY[fn]), *tensors)
        raise NoShapeRule(fname, f"{fname} on tensors has no rule")
    if fn is operator.matmul:
        return _add(graph, name, MatMulOp(), args[0], args[1])
    if fn in (math.floor, math.ceil, int) and not _is_tensor(args[0]):
        return sp.floor(_sym(args[0])) if fn is not math.ceil else sp.ceiling(_sym(args[0]))
    return _NO_RULE


def _torch_function(graph: Graph, name: str, fn: Any, fname: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
    """``torch`` / ``torch.nn.functional`` calls matched by identity: cat, interpolate, pad, linear, mm."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    if fn in (torch.cat, torch.concat, getattr(torch, "concatenate", torch.cat)):
        tensors = list(args[0])
        return _add(graph, name, ConcatOp(int(_arg(args, kwargs, 1, "dim", 0))), *tensors)
    if fn is F.interpolate or fn is getattr(F, "upsample", None):
        op = _resize(_arg(args, kwargs, 1, "size"), _arg(args, kwargs, 2, "scale_factor"),
                     _arg(args, kwargs, 3, "mode", "nearest"))
        return _add(graph, name, op, args[0])
    if fn is F.pad:
        pad = tuple(_arg(args, kwargs, 1, "pad"))
        return _add(graph, name, PadOp(torch_pad_tuple(pad), _arg(args, kwargs, 2, "mode", "constant")), args[0])
    if fn is F.linear:
        w = _shape(graph, args[1])
        return _add(graph, name, LinearOp(int(w[1]), int(w[0])), args[0])
    if fn in (torch.bmm, torch.mm):
        return _add(graph, name, MatMulOp(), args[0], args[1])
    return _NO_RULE


def _window_function(graph: Graph, name: str, fn: Any, fname: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    """``F.max_pool2d``, ``F.adaptive_avg_pool1d``, ``F.conv3d``...: windowed layers, matched by name."""
    if fname in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"):
        return _add(graph, name, LayerOp(_pool_call(fname, args, kwargs)), args[0])
    if fname.startswith("adaptive_") and fname[-2:] in ("1d", "2d", "3d"):
        kind = "max" if "max" in fname else "avg"
        return _add(graph, name, LayerOp(_adaptive(kind, int(fname[-2]), _arg(args, kwargs, 1, "output_size"))),
                    args[0])
    if fname in ("conv1d", "conv2d", "conv3d"):
        w = _shape(graph, _arg(args, kwargs, 1, "weight"))
        groups = int(_arg(args, kwargs, 6, "groups", 1))
        layer = Conv(tuple(w[2:]), stride=_arg(args, kwargs, 3, "stride", 1), padding=_arg(args, kwargs, 4, "padding", 0),
                     dilation=_arg(args, kwargs, 5, "dilation", 1), groups=groups, in_channels=w[1] * groups,
                     out_channels=w[0], ndim=int(fname[-2]))
        return _add(graph, name, LayerOp(layer), args[0])
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
    return _pool_layer(kind, int(fname[-2]), kernel, **values)
