"""Shape rules of ONNX ops (opset >= 11), on traced tensors and on small integer values computed from shapes.

One rule per op type, in two tables: :data:`VALUE_RULES` compute small integer
values from shapes (``Shape -> Gather -> Concat``), :data:`TENSOR_RULES` add a
node to the graph.  :func:`convert` picks the rule of one node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

import sympy as sp

from ..spec import AvgPool, Conv, ConvTranspose, GlobalAvgPool, GlobalMaxPool, MaxPool
from ..spec.padding import INPUT_SIZE
from .core import Graph
from .onnx_values import ConstTensor, Value, attribute_text, value_or_const, window_padding
from .ops import (
    BroadcastOp,
    ConcatOp,
    FlattenOp,
    LayerOp,
    LinearOp,
    MatMulOp,
    PadOp,
    PermuteOp,
    PointwiseOp,
    ReduceOp,
    ReshapeOp,
    ResizeOp,
    SliceOp,
)
from .traced import Tensor

__all__ = ["NoRule", "convert", "POINTWISE", "VALUE_RULES", "TENSOR_RULES"]

POINTWISE = frozenset({"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "Identity", "Clip",
                       "HardSwish", "HardSigmoid", "Elu", "Selu", "Gelu", "Erf", "Exp", "Log", "Sqrt", "Neg", "Abs",
                       "Softplus", "Mish", "PRelu", "InstanceNormalization", "Floor", "Ceil"})
_BIG = 2**62


class NoRule(Exception):
    """No shape rule for this ONNX node (the message names what is missing)."""


def _is_value(v: Any) -> bool:
    return isinstance(v, Value)


def _shape(graph: Graph, v: Any) -> tuple[Any, ...]:
    if isinstance(v, Tensor):
        return graph.shape_of(v.name)
    return tuple(v.shape)


def _ints(v: Any, what: str) -> list[Any]:
    if v is None:
        return []
    if not _is_value(v):
        raise NoRule(f"{what} must be a constant or computed from shapes (data-dependent otherwise)")
    return list(v.values)


def _input(ins: list[Any], i: int) -> Any:
    """Input ``i`` of a node, ``None`` when it is absent (optional inputs may be left out or empty)."""
    return ins[i] if len(ins) > i else None


def convert(graph: Graph, label: str, op_type: str, ins: list[Any], a: dict[str, Any], consts: dict[str, Any]) -> list[Any]:
    """The outputs of one ONNX node: traced tensors or computed values."""
    computed = _values_op(op_type, ins, a)
    if computed is not None:
        return computed
    x = ins[0] if ins else None
    value_rule = VALUE_RULES.get(op_type)
    computed = value_rule(graph, ins, a) if value_rule is not None else None
    if computed is not None:
        return computed
    if op_type in ("Identity", "Cast") and x is not None and not isinstance(x, Tensor):
        return [x]
    if not isinstance(x, Tensor):
        raise NoRule(f"{op_type} on a constant or value input has no rule")
    rule = TENSOR_RULES.get(op_type) or (_pointwise if op_type in POINTWISE else None)
    if rule is None:
        raise NoRule(f"no shape rule for ONNX op {op_type}")
    return rule(_Node(graph, label, op_type, x, ins, a))


def _values_op(op_type: str, ins: list[Any], a: dict[str, Any]) -> list[Any] | None:
    """Arithmetic on shape values (Shape -> Gather -> Concat -> Reshape chains)."""
    vals = [v for v in ins if v is not None]
    if not vals or not all(_is_value(v) for v in vals):
        return None
    if op_type in ("Add", "Sub", "Mul", "Div", "Mod"):
        x, y = vals[0].values, vals[1].values
        n = max(len(x), len(y))
        x, y = (x * n if len(x) == 1 else x), (y * n if len(y) == 1 else y)
        f = {"Add": lambda p, q: p + q, "Sub": lambda p, q: p - q, "Mul": lambda p, q: p * q,
             "Div": lambda p, q: sp.floor(sp.sympify(p) / q), "Mod": lambda p, q: sp.Mod(p, q)}[op_type]
        shape = vals[0].shape if len(vals[0].values) >= len(vals[1].values) else vals[1].shape
        return [Value([f(p, q) for p, q in zip(x, y)], shape)]
    if op_type in ("Cast", "Identity", "Floor", "Ceil"):
        return [vals[0]]
    if op_type == "Neg":
        return [Value([-v for v in vals[0].values], vals[0].shape)]
    return None


# --- rules on values: each returns the outputs, or None when its inputs are not values -----------------------------

ValueRule = Callable[[Graph, list[Any], dict[str, Any]], "list[Any] | None"]


def _constant(graph: Graph, ins: list[Any], a: dict[str, Any]) -> list[Any]:
    import onnx

    return [value_or_const(onnx.numpy_helper.to_array(a["value"]))]


def _shape_of(graph: Graph, ins: list[Any], a: dict[str, Any]) -> list[Any]:
    shape = _shape(graph, ins[0] if ins else None)
    start, end = a.get("start", 0), a.get("end", len(shape))
    part = list(shape[start:end])
    return [Value(part, (len(part),))]


def _gather_values(graph: Graph, ins: list[Any], a: dict[str, Any]) -> list[Any] | None:
    x = ins[0] if ins else None
    if not _is_value(x):
        return None
    idx = _ints(ins[1], "Gather indices")
    return [Value([x.values[int(i)] for i in idx], tuple(ins[1].shape))]


def _flat_values(graph: Graph, ins: list[Any], a: dict[str, Any]) -> list[Any] | None:
    x = ins[0] if ins else None
    return [Value(x.values, (len(x.values),))] if _is_value(x) else None


def _concat_values(graph: Graph, ins: list[Any], a: dict[str, Any]) -> list[Any] | None:
    if not all(_is_value(v) for v in ins):
        return None
    flat = [v for item in ins for v in item.values]
    return [Value(flat, (len(flat),))]


def _slice_values(graph: Graph, ins: list[Any], a: dict[str, Any]) -> list[Any] | None:
    x = ins[0] if ins else None
    if not _is_value(x):
        return None
    starts, ends = _ints(ins[1], "starts"), _ints(ins[2], "ends")
    return [Value(x.values[int(starts[0]):min(int(ends[0]), _BIG)], (0,))]


#: op type -> rule computing small integer values at import time
VALUE_RULES: dict[str, ValueRule] = {
    "Constant": _constant, "Shape": _shape_of, "Gather": _gather_values, "Unsqueeze": _flat_values,
    "Squeeze": _flat_values, "Reshape": _flat_values, "Flatten": _flat_values, "Concat": _concat_values,
    "Slice": _slice_values,
}


# --- rules on traced tensors: each adds the node to the graph -------------------------------------------------------

@dataclass
class _Node:
    """One ONNX node whose first input is a traced tensor ``x``."""

    graph: Graph
    label: str
    op_type: str
    x: Tensor
    ins: list[Any]
    a: dict[str, Any]

    @property
    def rank(self) -> int:
        return len(_shape(self.graph, self.x))

    @property
    def nd(self) -> int:
        return self.rank - 2

    def shape(self, i: int) -> tuple[Any, ...]:
        return _shape(self.graph, self.ins[i])

    def add(self, op: Any, *tensors: Any) -> list[Any]:
        """Add the node with ``op`` on ``tensors`` (default: ``x``)."""
        return [Tensor(self.graph.add(self.label, op, [t.name for t in tensors or (self.x,)]))]

    def window(self, kernel: tuple[int, ...]) -> tuple[Any, Any, Any, Any]:
        s = tuple(self.a.get("strides", (1,) * self.nd))
        d = tuple(self.a.get("dilations", (1,) * self.nd))
        return kernel, s, d, window_padding(self.a, kernel, s, d)


TensorRule = Callable[[_Node], "list[Any]"]


def _pointwise(n: _Node) -> list[Any]:
    return n.add(PointwiseOp(n.op_type))


def _batch_norm(n: _Node) -> list[Any]:
    return n.add(PointwiseOp(n.op_type, n.shape(1)[0], 4 * n.shape(1)[0]))


def _conv(n: _Node) -> list[Any]:
    w = n.shape(1)
    groups = n.a.get("group", 1)
    k, s, d, pads = n.window(tuple(n.a.get("kernel_shape", w[2:])))
    has_bias = _input(n.ins, 2) is not None
    params = int(prod(w)) + (int(n.shape(2)[0]) if has_bias else 0)
    if n.op_type == "Conv":
        layer = Conv(k, stride=s, padding=pads, dilation=d, groups=groups, in_channels=w[1] * groups,
                     out_channels=w[0], bias=len(n.ins) > 2, ndim=n.nd)
        return n.add(LayerOp(layer, params))
    out_pad = tuple(n.a.get("output_padding", (0,) * n.nd))
    if "output_shape" in n.a:
        pads = _output_shape_pads(n.a, k, s, d, out_pad, tuple(n.a["output_shape"])[-n.nd:])
    layer = ConvTranspose(k, stride=s, padding=pads, dilation=d, groups=groups,
                          output_padding=out_pad, in_channels=w[0],
                          out_channels=w[1] * groups, bias=len(n.ins) > 2, ndim=n.nd)
    return n.add(LayerOp(layer, params))


def _output_shape_pads(a: dict[str, Any], k: Any, s: Any, d: Any, out_pad: Any, want: Any) -> tuple[Any, ...]:
    """The spec's pads of a ConvTranspose given ``output_shape``:
    total = s*(n-1) + output_padding + d*(k-1) + 1 - output_shape, split as ``auto_pad`` says."""
    upper = attribute_text(a, "auto_pad", "NOTSET") == "SAME_UPPER"
    pads = []
    for ka, sa, da, oa, wa in zip(k, s, d, out_pad, want):
        total = sa * (INPUT_SIZE - 1) + oa + da * (ka - 1) + 1 - wa
        small, big = sp.floor(total / 2), total - sp.floor(total / 2)
        pads.append((small, big) if upper else (big, small))
    return tuple(pads)


def _pool(n: _Node) -> list[Any]:
    k, s, d, pads = n.window(tuple(n.a["kernel_shape"]))
    ceil = bool(n.a.get("ceil_mode", 0))
    if n.op_type == "MaxPool":
        layer = MaxPool(k, stride=s, padding=pads, dilation=d, ceil_mode=ceil, ndim=n.nd)
    else:
        layer = AvgPool(k, stride=s, padding=pads, ceil_mode=ceil,
                        count_include_pad=bool(n.a.get("count_include_pad", 0)), ndim=n.nd)
    return n.add(LayerOp(layer))


def _global_pool(n: _Node) -> list[Any]:
    cls = GlobalAvgPool if n.op_type == "GlobalAveragePool" else GlobalMaxPool
    return n.add(LayerOp(cls(ndim=n.nd)))


def _broadcast(n: _Node) -> list[Any]:
    return n.add(BroadcastOp(n.op_type.lower()), *[v for v in n.ins if isinstance(v, Tensor)])


def _concat(n: _Node) -> list[Any]:
    return n.add(ConcatOp(int(n.a["axis"])), *n.ins)


def _flatten(n: _Node) -> list[Any]:
    rank = n.rank
    axis = int(n.a.get("axis", 1)) % max(rank, 1)
    if axis == 0:
        flat = Tensor(n.graph.add(n.label + "_prefix", PermuteOp((None, *range(rank))), [n.x.name]))
        return n.add(FlattenOp(1, -1), flat)
    first = Tensor(n.graph.add(n.label + "_lead", FlattenOp(0, axis - 1), [n.x.name])) if axis > 1 else n.x
    return n.add(FlattenOp(1, -1), first)


def _gemm(n: _Node) -> list[Any]:
    b = n.shape(1)
    out_f, in_f = (b[0], b[1]) if n.a.get("transB", 0) else (b[1], b[0])
    if n.a.get("transA", 0):
        raise NoRule("Gemm with transA=1 has no rule")
    params = int(prod(b)) + (int(prod(n.shape(2))) if _input(n.ins, 2) is not None else 0)
    return n.add(LinearOp(int(in_f), int(out_f), params))


def _matmul(n: _Node) -> list[Any]:
    other = n.ins[1]
    if not isinstance(other, Tensor):
        return n.add(LinearOp(int(other.shape[0]), int(other.shape[1]), int(prod(other.shape))))
    return n.add(MatMulOp(), n.x, other)


def _reshape(n: _Node) -> list[Any]:
    target = _ints(n.ins[1], "Reshape shape")
    shape = _shape(n.graph, n.x)
    allowzero = n.a.get("allowzero", 0)
    target = [shape[i] if (v == 0 and not allowzero) else v for i, v in enumerate(target)]
    return n.add(ReshapeOp(tuple(target)))


def _resize(n: _Node) -> list[Any]:
    mode = attribute_text(n.a, "mode", "nearest")
    scales_in = n.ins[1] if n.op_type == "Upsample" else _input(n.ins, 2)
    sizes_in = _input(n.ins, 3) if n.op_type == "Resize" else None
    if sizes_in is not None and _is_value(sizes_in) and sizes_in.values:
        return n.add(ResizeOp(size=tuple(sizes_in.values[2:]), mode=mode))
    if isinstance(scales_in, ConstTensor):
        scales = [sp.Rational(float(f)) for f in scales_in.array.reshape(-1)]
        if scales[:2] != [1, 1]:
            raise NoRule("Resize of the batch or channel dims has no rule")
        return n.add(ResizeOp(scale=tuple(scales[2:]), mode=mode))
    raise NoRule("Resize: scales / sizes must be constants or computed from shapes")


def _pad(n: _Node) -> list[Any]:
    given = _input(n.ins, 1)
    pads = _ints(given, "Pad pads") if given is not None else list(n.a.get("pads", []))
    mode = attribute_text(n.a, "mode", "constant")
    mode = {"edge": "replicate", "wrap": "circular"}.get(mode, mode)
    if _input(n.ins, 3) is not None:
        raise NoRule("Pad with axes has no rule")
    h = len(pads) // 2
    return n.add(PadOp(tuple(zip(pads[:h], pads[h:])), mode))


def _slice(n: _Node) -> list[Any]:
    starts, ends = _ints(n.ins[1], "Slice starts"), _ints(n.ins[2], "Slice ends")
    given_axes, given_steps = _input(n.ins, 3), _input(n.ins, 4)
    axes = _ints(given_axes, "Slice axes") if given_axes is not None else list(range(len(starts)))
    steps = _ints(given_steps, "Slice steps") if given_steps is not None else [1] * len(starts)
    rank = n.rank
    index: list[Any] = [slice(None)] * rank
    for s0, e0, ax, st in zip(starts, ends, axes, steps):
        if not (isinstance(st, int) and st >= 1):
            raise NoRule(f"Slice step {st}: only positive constant steps have a rule")
        e0 = None if isinstance(e0, int) and e0 >= _BIG else e0
        s0 = 0 if isinstance(s0, int) and s0 <= -_BIG else s0
        index[int(ax) % rank] = slice(s0, e0, st)
    return n.add(SliceOp(tuple(index)))


def _reduce(n: _Node) -> list[Any]:
    axes = n.a.get("axes")
    if axes is None and _input(n.ins, 1) is not None:
        axes = _ints(n.ins[1], "axes")
    return n.add(ReduceOp(None if axes is None else tuple(int(v) for v in axes), bool(n.a.get("keepdims", 1)),
                          n.op_type))


def _transpose(n: _Node) -> list[Any]:
    return n.add(PermuteOp(tuple(n.a.get("perm", tuple(reversed(range(n.rank)))))))


def _data_dependent(n: _Node) -> list[Any]:
    raise NoRule("data-dependent shape: the output size depends on tensor values")


#: op type -> rule adding the node on traced tensors (the ops of :data:`POINTWISE` keep their input's shape)
TENSOR_RULES: dict[str, TensorRule] = {
    "Cast": _pointwise, "BatchNormalization": _batch_norm, "Conv": _conv, "ConvTranspose": _conv,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    **dict.fromkeys(("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where"), _broadcast),
    "Concat": _concat, "Flatten": _flatten, "Gemm": _gemm, "MatMul": _matmul, "Reshape": _reshape,
    "Resize": _resize, "Upsample": _resize, "Pad": _pad, "Slice": _slice,
    **dict.fromkeys(("ReduceMean", "ReduceSum", "ReduceMax"), _reduce), "Transpose": _transpose,
    **dict.fromkeys(("NonZero", "NonMaxSuppression", "Unique", "TopK", "Compress"), _data_dependent),
}
