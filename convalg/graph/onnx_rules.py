"""Shape rules of ONNX ops (opset >= 11), on traced tensors and on small integer values computed from shapes."""

from __future__ import annotations

from math import prod
from typing import Any

import sympy as sp

from ..spec import AvgPool, Conv, ConvTranspose, GlobalAvgPool, GlobalMaxPool, MaxPool
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
    PointwiseOp,
    ReduceOp,
    ReshapeOp,
    ResizeOp,
    SliceOp,
)
from .torch_import import Tensor

__all__ = ["NoRule", "convert", "POINTWISE"]

POINTWISE = frozenset({"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "Identity", "Clip",
                       "HardSwish", "HardSigmoid", "Elu", "Selu", "Gelu", "Erf", "Exp", "Log", "Sqrt", "Neg", "Abs",
                       "Softplus", "Mish", "PRelu", "InstanceNormalization", "Floor", "Ceil"})
_BIG = 2**62


class NoRule(Exception):
    """No shape rule for this ONNX node (the message names what is missing)."""


def _value_cls() -> Any:
    from .onnx_import import Value

    return Value


def _is_value(v: Any) -> bool:
    return isinstance(v, _value_cls())


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


def _add(graph: Graph, label: str, op: Any, *tensors: Any) -> list[Any]:
    return [Tensor(graph.add(label, op, [t.name for t in tensors]))]


def _window(a: dict[str, Any], nd: int, kernel: tuple[int, ...]) -> tuple[Any, Any, Any, Any]:
    from .onnx_import import _window_padding

    s = tuple(a.get("strides", (1,) * nd))
    d = tuple(a.get("dilations", (1,) * nd))
    return kernel, s, d, _window_padding(a, kernel, s, d)


def _values_op(op_type: str, ins: list[Any], a: dict[str, Any]) -> list[Any] | None:
    """Arithmetic on shape values (Shape -> Gather -> Concat -> Reshape chains)."""
    value = _value_cls()
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
        return [value([f(p, q) for p, q in zip(x, y)], shape)]
    if op_type in ("Cast", "Identity", "Floor", "Ceil"):
        return [vals[0]]
    if op_type == "Neg":
        return [value([-v for v in vals[0].values], vals[0].shape)]
    return None


def convert(graph: Graph, label: str, op_type: str, ins: list[Any], a: dict[str, Any], consts: dict[str, Any]) -> list[Any]:
    """The outputs of one ONNX node: traced tensors or computed values."""
    value = _value_cls()
    computed = _values_op(op_type, ins, a)
    if computed is not None:
        return computed
    x = ins[0] if ins else None
    if op_type == "Constant":
        import onnx

        arr = onnx.numpy_helper.to_array(a["value"])
        from .onnx_import import _ConstTensor

        return [value(arr.reshape(-1).tolist(), tuple(arr.shape)) if arr.dtype.kind in "iu" and arr.size <= 64
                else _ConstTensor(arr)]
    if op_type == "Shape":
        shape = _shape(graph, x)
        start, end = a.get("start", 0), a.get("end", len(shape))
        part = list(shape[start:end])
        return [value(part, (len(part),))]
    if op_type == "Gather" and _is_value(x):
        idx = _ints(ins[1], "Gather indices")
        picked = [x.values[int(i)] for i in idx]
        return [value(picked, tuple(ins[1].shape))]
    if op_type in ("Unsqueeze", "Squeeze", "Reshape", "Flatten") and _is_value(x):
        return [value(x.values, (len(x.values),))]
    if op_type == "Concat" and all(_is_value(v) for v in ins):
        flat = [v for item in ins for v in item.values]
        return [value(flat, (len(flat),))]
    if op_type == "Slice" and _is_value(x):
        starts, ends = _ints(ins[1], "starts"), _ints(ins[2], "ends")
        return [value(x.values[int(starts[0]):min(int(ends[0]), _BIG)], (0,))]
    if op_type in ("Identity", "Cast") and x is not None and not isinstance(x, Tensor):
        return [x]
    if not isinstance(x, Tensor):
        raise NoRule(f"{op_type} on a constant or value input has no rule")
    rank = len(_shape(graph, x))
    nd = rank - 2
    if op_type in POINTWISE or op_type == "Cast":
        return _add(graph, label, PointwiseOp(op_type), x)
    if op_type == "BatchNormalization":
        return _add(graph, label, PointwiseOp(op_type, _shape(graph, ins[1])[0], 4 * _shape(graph, ins[1])[0]), x)
    if op_type == "Conv" or op_type == "ConvTranspose":
        w = _shape(graph, ins[1])
        groups = a.get("group", 1)
        k, s, d, pads = _window(a, nd, tuple(a.get("kernel_shape", w[2:])))
        params = int(prod(w)) + (int(_shape(graph, ins[2])[0]) if len(ins) > 2 and ins[2] is not None else 0)
        if op_type == "Conv":
            layer = Conv(k, stride=s, padding=pads, dilation=d, groups=groups, in_channels=w[1] * groups,
                         out_channels=w[0], bias=len(ins) > 2, ndim=nd)
            return _add(graph, label, LayerOp(layer, params), x)
        out_pad = tuple(a.get("output_padding", (0,) * nd))
        if "output_shape" in a:  # the spec's pads: total = s*(n-1) + output_padding + d*(k-1) + 1 - output_shape
            from ..spec.padding import INPUT_SIZE

            auto = a.get("auto_pad", b"NOTSET")
            upper = (auto.decode() if isinstance(auto, bytes) else auto) == "SAME_UPPER"
            pads = []
            for ka, sa, da, oa, want in zip(k, s, d, out_pad, tuple(a["output_shape"])[-nd:]):
                total = sa * (INPUT_SIZE - 1) + oa + da * (ka - 1) + 1 - want
                small, big = sp.floor(total / 2), total - sp.floor(total / 2)
                pads.append((small, big) if upper else (big, small))
            pads = tuple(pads)
        layer = ConvTranspose(k, stride=s, padding=pads, dilation=d, groups=groups,
                              output_padding=out_pad, in_channels=w[0],
                              out_channels=w[1] * groups, bias=len(ins) > 2, ndim=nd)
        return _add(graph, label, LayerOp(layer, params), x)
    if op_type in ("MaxPool", "AveragePool"):
        k, s, d, pads = _window(a, nd, tuple(a["kernel_shape"]))
        ceil = bool(a.get("ceil_mode", 0))
        if op_type == "MaxPool":
            layer = MaxPool(k, stride=s, padding=pads, dilation=d, ceil_mode=ceil, ndim=nd)
        else:
            layer = AvgPool(k, stride=s, padding=pads, ceil_mode=ceil,
                            count_include_pad=bool(a.get("count_include_pad", 0)), ndim=nd)
        return _add(graph, label, LayerOp(layer), x)
    if op_type in ("GlobalAveragePool", "GlobalMaxPool"):
        cls = GlobalAvgPool if op_type == "GlobalAveragePool" else GlobalMaxPool
        return _add(graph, label, LayerOp(cls(ndim=nd)), x)
    if op_type in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where"):
        tensors = [v for v in ins if isinstance(v, Tensor)]
        return _add(graph, label, BroadcastOp(op_type.lower()), *tensors)
    if op_type == "Concat":
        return _add(graph, label, ConcatOp(int(a["axis"])), *ins)
    if op_type == "Flatten":
        axis = int(a.get("axis", 1)) % max(rank, 1)
        if axis == 0:
            flat = Tensor(graph.add(label + "_prefix", PermuteOp((None, *range(rank))), [x.name]))
            return _add(graph, label, FlattenOp(1, -1), flat)
        first = Tensor(graph.add(label + "_lead", FlattenOp(0, axis - 1), [x.name])) if axis > 1 else x
        return _add(graph, label, FlattenOp(1, -1), first)
    if op_type == "Gemm":
        b = _shape(graph, ins[1])
        out_f, in_f = (b[0], b[1]) if a.get("transB", 0) else (b[1], b[0])
        if a.get("transA", 0):
            raise NoRule("Gemm with transA=1 has no rule")
        params = int(prod(b)) + (int(prod(_shape(graph, ins[2]))) if len(ins) > 2 and ins[2] is not None else 0)
        return _add(graph, label, LinearOp(int(in_f), int(out_f), params), x)
    if op_type == "MatMul":
        other = ins[1]
        if not isinstance(other, Tensor):
            return _add(graph, label, LinearOp(int(other.shape[0]), int(other.shape[1]), int(prod(other.shape))), x)
        return _add(graph, label, MatMulOp(), x, other)
    if op_type == "Reshape":
        target = _ints(ins[1], "Reshape shape")
        shape = _shape(graph, x)
        allowzero = a.get("allowzero", 0)
        target = [shape[i] if (v == 0 and not allowzero) else v for i, v in enumerate(target)]
        return _add(graph, label, ReshapeOp(tuple(target)), x)
    if op_type in ("Resize", "Upsample"):
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        scales_in = ins[1] if op_type == "Upsample" else (ins[2] if len(ins) > 2 else None)
        sizes_in = ins[3] if op_type == "Resize" and len(ins) > 3 else None
        if sizes_in is not None and _is_value(sizes_in) and sizes_in.values:
            return _add(graph, label, ResizeOp(size=tuple(sizes_in.values[2:]), mode=mode), x)
        from .onnx_import import _ConstTensor

        if isinstance(scales_in, _ConstTensor):
            scales = [sp.Rational(float(f)) for f in scales_in.array.reshape(-1)]
            if scales[:2] != [1, 1]:
                raise NoRule("Resize of the batch or channel dims has no rule")
            return _add(graph, label, ResizeOp(scale=tuple(scales[2:]), mode=mode), x)
        raise NoRule("Resize: scales / sizes must be constants or computed from shapes")
    if op_type == "Pad":
        pads = _ints(ins[1], "Pad pads") if len(ins) > 1 and ins[1] is not None else list(a.get("pads", []))
        mode = a.get("mode", b"constant")
        mode = {"edge": "replicate", "wrap": "circular"}.get(mode.decode() if isinstance(mode, bytes) else mode,
                                                             mode.decode() if isinstance(mode, bytes) else mode)
        if len(ins) > 3 and ins[3] is not None:
            raise NoRule("Pad with axes has no rule")
        h = len(pads) // 2
        return _add(graph, label, PadOp(tuple(zip(pads[:h], pads[h:])), mode), x)
    if op_type == "Slice":
        starts, ends = _ints(ins[1], "Slice starts"), _ints(ins[2], "Slice ends")
        axes = _ints(ins[3], "Slice axes") if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _ints(ins[4], "Slice steps") if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        index: list[Any] = [slice(None)] * rank
        for s0, e0, ax, st in zip(starts, ends, axes, steps):
            if not (isinstance(st, int) and st >= 1):
                raise NoRule(f"Slice step {st}: only positive constant steps have a rule")
            e0 = None if isinstance(e0, int) and e0 >= _BIG else e0
            s0 = 0 if isinstance(s0, int) and s0 <= -_BIG else s0
            index[int(ax) % rank] = slice(s0, e0, st)
        return _add(graph, label, SliceOp(tuple(index)), x)
    if op_type in ("ReduceMean", "ReduceSum", "ReduceMax"):
        axes = a.get("axes")
        if axes is None and len(ins) > 1 and ins[1] is not None:
            axes = _ints(ins[1], "axes")
        return _add(graph, label, ReduceOp(None if axes is None else tuple(int(v) for v in axes),
                                           bool(a.get("keepdims", 1)), op_type), x)
    if op_type == "Transpose":
        perm = tuple(a.get("perm", tuple(reversed(range(rank)))))
        return _add(graph, label, PermuteOp(perm), x)
    if op_type in ("NonZero", "NonMaxSuppression", "Unique", "TopK", "Compress"):
        raise NoRule("data-dependent shape: the output size depends on tensor values")
    raise NoRule(f"no shape rule for ONNX op {op_type}")


