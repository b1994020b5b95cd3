"""What each harness op means: its call, its arrays, its float64 reference and its accumulation length.

An op *family* (``conv``, ``conv_input``, ``max_pool_backward``, ...) is
written once for every number of spatial dims.  Everything is a function of
``(arrays, params)``: the arrays by role name (``x``, ``weight``, ``bias``,
``grad_output``, ``indices``) and the non-array arguments of the call, so a
printed repro can rebuild the verdict from the same two dicts.

>>> import numpy as np
>>> fam = FAMILIES["conv_input"]
>>> fam.positional, fam.keywords
(('input_size', 'weight', 'grad_output'), ('stride', 'padding', 'dilation', 'groups'))
>>> fam.reference({"weight": np.ones((1, 1, 2)), "grad_output": np.ones((1, 1, 3))}, {"input_size": (1, 1, 4)})
array([[[1., 2., 2., 1.]]])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import reference as ref
from ..reference import direct
from . import references as R

__all__ = ["Family", "FAMILIES", "params_of", "shapes_of", "autograd_targets"]

Arrays = dict[str, Any]
Params = dict[str, Any]


def _prod(v: Any) -> int:
    return int(np.prod(v)) if len(np.shape(v)) else int(v)


def _drop(p: Params, *names: str) -> Params:
    return {k: v for k, v in p.items() if k not in names}


def _bias(a: Arrays) -> int:
    return int(a.get("bias") is not None)


def _adaptive_len(n_in: Any, out: Any, inverse: bool = False) -> int:
    """Longest adaptive window (or, ``inverse``, most windows over one input) over all axes."""
    total = 1
    for n, m in zip(n_in, out):
        m = n if m is None else m
        a, b = (m, n) if inverse else (n, m)
        total *= min(max(a, 1), -(-a // b) + 1)
    return total


@dataclass(frozen=True)
class Family:
    """One op family (see the module docstring); ``k_len`` is ``None`` for exact ops."""

    name: str
    case_op: str
    positional: tuple[str, ...]
    keywords: tuple[str, ...]
    arrays: tuple[str, ...]
    reference: Callable[[Arrays, Params], Any]
    k_len: Callable[[Arrays, Params], int] | None
    derived: Callable[[Arrays, Params], Arrays] | None = None
    forward: bool = False
    signature: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    def indices_output(self, params: Params) -> bool:
        return bool(params.get("return_indices", False))


def _max_indices(a: Arrays, p: Params) -> Arrays:
    return {"indices": ref.max_pool(a["x"], p["kernel_size"], p["stride"], p["padding"], p["dilation"],
                                    p["ceil_mode"], return_indices=True)[1]}


_CONV_KW = ("stride", "padding", "dilation", "groups")
_CT_KW = ("stride", "padding", "output_padding", "groups", "dilation")

FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family("conv", "conv", ("x", "weight", "bias"), (*_CONV_KW, "padding_mode"), ("x", "weight", "bias"),
           lambda a, p: direct.conv(a["x"], a["weight"], a.get("bias"), **p),
           lambda a, p: _prod(a["weight"].shape[1:]) + _bias(a), forward=True,
           signature="f(input, weight, bias, *, stride, padding, dilation, groups[, padding_mode])"),
    Family("conv_transpose", "conv_transpose", ("x", "weight", "bias"), _CT_KW, ("x", "weight", "bias"),
           lambda a, p: direct.conv_transpose(a["x"], a["weight"], a.get("bias"), **p),
           lambda a, p: a["weight"].shape[0] // p["groups"] * _prod(a["weight"].shape[2:]) + _bias(a), forward=True,
           signature="f(input, weight, bias, *, stride, padding, output_padding, groups, dilation)"),
    Family("conv_input", "conv", ("input_size", "weight", "grad_output"), _CONV_KW, ("weight", "grad_output"),
           lambda a, p: direct.conv_grad_input(a["grad_output"], a["weight"], p["input_size"],
                                               **_drop(p, "input_size")),
           lambda a, p: a["weight"].shape[0] // p["groups"] * _prod(a["weight"].shape[2:]),
           signature="f(input_size, weight, grad_output, *, stride, padding, dilation, groups)  "
                     "(torch.nn.grad.conv{n}d_input)"),
    Family("conv_weight", "conv", ("x", "weight_size", "grad_output"), _CONV_KW, ("x", "grad_output"),
           lambda a, p: direct.conv_grad_weight(a["x"], a["grad_output"], p["weight_size"], **_drop(p, "weight_size")),
           lambda a, p: a["grad_output"].shape[0] * _prod(a["grad_output"].shape[2:]),
           signature="f(input, weight_size, grad_output, *, stride, padding, dilation, groups)  "
                     "(torch.nn.grad.conv{n}d_weight)"),
    Family("conv_transpose_input", "conv_transpose", ("input_size", "weight", "grad_output"), _CT_KW,
           ("weight", "grad_output"),
           lambda a, p: R.conv_transpose_grad_input(a["grad_output"], a["weight"], p["input_size"],
                                                    **_drop(p, "input_size")),
           lambda a, p: _prod(a["weight"].shape[1:]),
           signature="f(input_size, weight, grad_output, *, stride, padding, output_padding, groups, dilation)"),
    Family("conv_transpose_weight", "conv_transpose", ("x", "weight_size", "grad_output"), _CT_KW,
           ("x", "grad_output"),
           lambda a, p: R.conv_transpose_grad_weight(a["x"], p["weight_size"], a["grad_output"],
                                                     **_drop(p, "weight_size")),
           lambda a, p: a["x"].shape[0] * _prod(a["x"].shape[2:]),
           signature="f(input, weight_size, grad_output, *, stride, padding, output_padding, groups, dilation)"),
    Family("bias_grad", "conv", ("grad_output",), (), ("grad_output",),
           lambda a, p: ref.conv_grad_bias(a["grad_output"]),
           lambda a, p: a["grad_output"].shape[0] * _prod(a["grad_output"].shape[2:])),
    Family("max_pool", "max_pool", ("x",),
           ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"), ("x",),
           lambda a, p: ref.max_pool(a["x"], **p), None, forward=True,
           signature="f(input, *, kernel_size, stride, padding, dilation, ceil_mode, return_indices)"),
    Family("avg_pool", "avg_pool", ("x",),
           ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"), ("x",),
           lambda a, p: ref.avg_pool(a["x"], **p), lambda a, p: _prod(p["kernel_size"]) + 1, forward=True,
           signature="f(input, *, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)"),
    Family("max_pool_backward", "max_pool", ("grad_output", "x"),
           ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "indices"), ("grad_output", "x"),
           lambda a, p: ref.max_pool_grad(a["grad_output"], a["indices"], a["x"].shape),
           lambda a, p: _prod(p["kernel_size"]), derived=_max_indices,
           signature="f(grad_output, input, *, kernel_size, stride, padding, dilation, ceil_mode, indices)  "
                     "(aten max_pool{2,3}d_with_indices_backward order)"),
    Family("avg_pool_backward", "avg_pool", ("grad_output", "x"),
           ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
           ("grad_output", "x"),
           lambda a, p: ref.avg_pool_grad(a["grad_output"], a["x"].shape, **p),
           lambda a, p: _prod(p["kernel_size"]) + 1,
           signature="f(grad_output, input, *, kernel_size, stride, padding, ceil_mode, count_include_pad, "
                     "divisor_override)  (aten avg_pool{2,3}d_backward order)"),
    Family("index_grad", "max_pool", ("grad_output",), ("input_size",), ("grad_output",),
           lambda a, p: ref.max_pool_grad(a["grad_output"], a["indices"], p["input_size"]),
           lambda a, p: _prod(a["grad_output"].shape[2:])),
    Family("adaptive_avg_pool", "adaptive_avg_pool", ("x",), ("output_size",), ("x",),
           lambda a, p: ref.adaptive_avg_pool(a["x"], p["output_size"]),
           lambda a, p: _adaptive_len(a["x"].shape[2:], p["output_size"]) + 1, forward=True,
           signature="f(input, *, output_size)"),
    Family("adaptive_avg_pool_grad", "adaptive_avg_pool", ("grad_output",), ("input_size", "output_size"),
           ("grad_output",),
           lambda a, p: R.adaptive_avg_pool_grad(a["grad_output"], p["input_size"], p["output_size"]),
           lambda a, p: _adaptive_len(p["input_size"][2:], p["output_size"], inverse=True) + 1),
    Family("adaptive_max_pool", "adaptive_max_pool", ("x",), ("output_size", "return_indices"), ("x",),
           lambda a, p: ref.adaptive_max_pool(a["x"], **p), None, forward=True,
           signature="f(input, *, output_size, return_indices)"),
    Family("unfold", "unfold", ("x",), ("kernel_size", "dilation", "padding", "stride"), ("x",),
           lambda a, p: R.unfold(a["x"], **p), None, forward=True,
           signature="f(input, *, kernel_size, dilation, padding, stride)  (F.unfold, 2 spatial dims)"),
    Family("fold", "fold", ("x",), ("output_size", "kernel_size", "dilation", "padding", "stride"), ("x",),
           lambda a, p: R.fold(a["x"], **p), lambda a, p: _prod(p["kernel_size"]), forward=True,
           signature="f(input, *, output_size, kernel_size, dilation, padding, stride)  (F.fold)"),
]}


def params_of(family: str, case: Any) -> Params:
    """The non-array arguments of ``family``'s call for a drawn :class:`~convalg.testing.strategies.Case`."""
    L, kw = case.layer, (case.kwargs() if case.op in ("conv", "conv_transpose", "max_pool", "avg_pool") else {})
    if family in ("conv", "conv_transpose", "max_pool", "avg_pool"):
        return kw
    if family in ("conv_input", "conv_transpose_input"):
        return {"input_size": case.input_shape, **kw}
    if family in ("conv_weight", "conv_transpose_weight"):
        return {"weight_size": tuple(L.weight_shape), **kw}
    if family in ("max_pool_backward", "avg_pool_backward"):
        return {**{k: v for k, v in kw.items() if k != "return_indices"}, "stride": L.stride}
    if family in ("adaptive_avg_pool", "adaptive_max_pool"):
        out = {"output_size": case.extras["output_size"]}
        return {**out, "return_indices": case.extras["return_indices"]} if family == "adaptive_max_pool" else out
    geometry = {"kernel_size": L.kernel_size, "dilation": L.dilation, "padding": case.padding_arg,
                "stride": L.stride}
    return {"output_size": case.spatial, **geometry} if family == "fold" else geometry


def shapes_of(family: str, case: Any) -> dict[str, tuple[int, ...]]:
    """Shapes of the drawn arrays of ``family`` for ``case``."""
    if family == "fold":
        taps, L = _prod(case.layer.kernel_size), _prod(case.layer.output_shape(case.spatial))
        return {"x": (case.batch, case.channels * taps, L)}
    known = {"x": case.input_shape, "grad_output": case.output_shape}
    if case.op in ("conv", "conv_transpose"):
        known["weight"] = tuple(case.layer.weight_shape)
        if case.layer.bias:
            known["bias"] = (case.layer.out_channels,)
    return {r: known[r] for r in FAMILIES[family].arrays if r in known}


def autograd_targets(family: str, a: Arrays, p: Params) -> dict[str, tuple[str, Arrays, Params]]:
    """For a forward family: ``role -> (gradient family, its arrays, its params)`` given ``a['grad_output']``."""
    g, x = a["grad_output"], a["x"]
    if family in ("conv", "conv_transpose"):
        pre = "conv" if family == "conv" else "conv_transpose"
        out = {"x": (f"{pre}_input", {"weight": a["weight"], "grad_output": g}, {"input_size": x.shape, **p}),
               "weight": (f"{pre}_weight", {"x": x, "grad_output": g}, {"weight_size": a["weight"].shape, **p})}
        if a.get("bias") is not None:
            out["bias"] = ("bias_grad", {"grad_output": g}, {})
        return out
    if family == "max_pool":
        idx = ref.max_pool(x, **{**p, "return_indices": True})[1]
        return {"x": ("index_grad", {"grad_output": g, "indices": idx}, {"input_size": x.shape})}
    if family == "avg_pool":
        return {"x": ("avg_pool_backward", {"grad_output": g, "x": x}, p)}
    if family == "adaptive_avg_pool":
        return {"x": ("adaptive_avg_pool_grad", {"grad_output": g}, {"input_size": x.shape, **p})}
    if family == "adaptive_max_pool":
        idx = ref.adaptive_max_pool(x, p["output_size"], return_indices=True)[1]
        return {"x": ("index_grad", {"grad_output": g, "indices": idx}, {"input_size": x.shape})}
    if family == "unfold":
        return {"x": ("fold", {"x": g}, {"output_size": x.shape[2:], **p})}
    if family == "fold":
        return {"x": ("unfold", {"x": g}, _drop(p, "output_size"))}
    raise ValueError(f"{family}: no autograd check for this op")
