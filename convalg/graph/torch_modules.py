"""Shape rules for ``nn`` module calls in torch.fx graphs: one rule per module class, looked up along the MRO.

A module without a rule raises :class:`~.torch_layers.NoShapeRule` (the
importer marks it unsupported) unless the caller gives a ``leaf_rules`` entry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..spec import Conv, ConvTranspose
from ..spec.conventions import torch_pad_tuple
from .core import Graph
from .ops import FlattenOp, LayerNormOp, LayerOp, LinearOp, Op, PadOp, PixelShuffleOp, PointwiseOp
from .torch_layers import NoShapeRule, adaptive_pool, add_node, node_shape, pool_layer, resize_op
from .traced import UnknownOp

__all__ = ["call_module"]


def call_module(graph: Graph, name: str, m: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                rule: Callable[..., Any] | None = None, qualname: str | None = None) -> Any:
    """Add the node of one ``call_module`` (``qualname``: the submodule's name in the model)."""
    x = args[0] if args else next(iter(kwargs.values()))
    call = _ModuleCall(m, type(m).__name__, _params(m), len(args) > 1 or bool(kwargs))
    if rule is not None:
        shape = tuple(rule(node_shape(graph, x)))
        return add_node(graph, name, _RuleOp(call.cls, shape, call.params) if shape else UnknownOp(call.cls, 1, name), x)
    tables = _module_rules()
    module_rule = _rule_of(m, tables[0])
    if module_rule is None and call.cls.startswith(_PAD_MODES):
        module_rule = _pad_module
    module_rule = module_rule or _rule_of(m, tables[1])
    if module_rule is None:
        raise NoShapeRule(call.cls, f"no shape rule for module type {call.cls}; give one with "
                                    f"leaf_rules={{'{qualname or name}': lambda shape: ...}}")
    return add_node(graph, name, module_rule(call), x)


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
    return LayerOp(pool_layer("max", c.nd, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode))


def _avg_pool_module(c: _ModuleCall) -> Op:
    m = c.m
    return LayerOp(pool_layer("avg", c.nd, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode, m.count_include_pad,
                               getattr(m, "divisor_override", None)))


def _adaptive_module(c: _ModuleCall) -> Op:
    return LayerOp(adaptive_pool("max" if "Max" in c.cls else "avg", c.nd, c.m.output_size))


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
        ((nn.Upsample,), lambda c: resize_op(c.m.size, c.m.scale_factor, c.m.mode)),
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
