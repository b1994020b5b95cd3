"""The harness's ops: names, families, the support switches each one accepts, and its problem strategy.

=================================  =======================================================================
op                                 the target is called as
=================================  =======================================================================
``conv{1,2,3}d``                   ``f(x, weight, bias, stride=, padding=, dilation=, groups=
                                   [, padding_mode=])``
``conv_transpose{1,2,3}d``         ``f(x, weight, bias, stride=, padding=, output_padding=, groups=,
                                   dilation=)``
``conv{1,2,3}d_input``             ``f(input_size, weight, grad_output, stride=, padding=, dilation=,
                                   groups=)`` (``torch.nn.grad.conv{n}d_input``)
``conv{1,2,3}d_weight``            ``f(input, weight_size, grad_output, stride=, padding=, dilation=,
                                   groups=)`` (``torch.nn.grad.conv{n}d_weight``)
``conv_transpose{1,2,3}d_input``   ``f(input_size, weight, grad_output, stride=, padding=,
                                   output_padding=, groups=, dilation=)``
``conv_transpose{1,2,3}d_weight``  ``f(input, weight_size, grad_output, stride=, padding=,
                                   output_padding=, groups=, dilation=)``
``max_pool{1,2,3}d``               ``f(x, kernel_size=, stride=, padding=, dilation=, ceil_mode=,
                                   return_indices=)`` -> ``y`` or ``(y, indices)``
``avg_pool{1,2,3}d``               ``f(x, kernel_size=, stride=, padding=, ceil_mode=,
                                   count_include_pad=, divisor_override=)``
``max_pool{1,2,3}d_backward``      ``f(grad_output, x, kernel_size=, stride=, padding=, dilation=,
                                   ceil_mode=, indices=)`` (aten's ``max_pool2d_with_indices_backward``
                                   order; ``indices`` are PyTorch's flat per-plane argmax positions)
``avg_pool{1,2,3}d_backward``      ``f(grad_output, x, kernel_size=, stride=, padding=, ceil_mode=,
                                   count_include_pad=, divisor_override=)`` (aten's
                                   ``avg_pool2d_backward`` order; ``stride`` always explicit)
``adaptive_avg_pool{1,2,3}d``      ``f(x, output_size=)``
``adaptive_max_pool{1,2,3}d``      ``f(x, output_size=, return_indices=)``
``unfold``                         ``f(x, kernel_size=, dilation=, padding=, stride=)`` (``F.unfold``,
                                   ``(N, C, H, W) -> (N, C*kh*kw, L)``)
``fold``                           ``f(x, output_size=, kernel_size=, dilation=, padding=, stride=)``
=================================  =======================================================================

Arrays are passed positionally, everything else by keyword (the names of
``torch.nn.functional``, ``torch.nn.grad`` and aten), so a repro is the same call.

>>> OPS["conv2d_input"].family, OPS["unfold"].ndim
('conv_input', 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import strategies as S
from .families import FAMILIES
from .op_cases import adaptive_pool_cases, unfold_cases
from .op_names import OP_TABLE, SIZE_BOUNDS, SWITCHES, applicable

__all__ = ["OpSpec", "OPS", "SIZE_BOUNDS", "SWITCHES", "applicable", "case_strategy"]


@dataclass(frozen=True)
class OpSpec:
    """A harness op: its family (:mod:`.families`) and number of spatial dims."""

    name: str
    family: str
    ndim: int

    @property
    def forward(self) -> bool:
        return FAMILIES[self.family].forward


OPS: dict[str, OpSpec] = {name: OpSpec(name, fam, nd) for name, (fam, nd) in OP_TABLE.items()}


def case_strategy(op: str, sup: Any, autograd: bool = False) -> Any:
    """The Hypothesis strategy of problems for ``op`` inside the support ``sup`` (a :class:`Support`)."""
    spec = OPS[op]
    fam, nd = FAMILIES[spec.family], spec.ndim
    side = sup.max_side if sup.max_side is not None else SIZE_BOUNDS["max_side"][nd]  # type: ignore[index]
    sizes = dict(max_batch=sup.max_batch, max_channels=sup.max_channels, max_side=side)
    kind = fam.case_op
    forward = spec.family in ("conv", "conv_transpose")
    if kind == "conv":
        return S.conv_cases(ndim=nd, **sizes, max_kernel=sup.max_kernel, max_stride=sup.max_stride,
                            max_dilation=sup.max_dilation, max_padding=sup.max_padding, groups=sup.groups,
                            dilation=sup.dilation, stride=sup.stride,
                            asymmetric_padding=sup.asymmetric_padding and forward,
                            same_padding=sup.same_padding and forward,
                            padding_modes=sup.padding_modes if forward else ("zeros",), string_padding=forward,
                            bias=(None if sup.bias else False) if forward else False)
    if kind == "conv_transpose":  # the strategy halves max_side (its outputs grow with the stride): undo that
        return S.conv_transpose_cases(ndim=nd, **{**sizes, "max_side": 2 * side}, max_kernel=sup.max_kernel,
                                      max_stride=sup.max_stride, max_dilation=sup.max_dilation, max_padding=sup.max_padding,
                                      groups=sup.groups, dilation=sup.dilation, stride=sup.stride,
                                      asymmetric_padding=sup.asymmetric_padding and forward,
                                      output_padding=sup.output_padding,
                                      bias=(None if sup.bias else False) if forward else False)
    if kind in ("max_pool", "avg_pool"):
        backward = spec.family.endswith("_backward")
        return S.pool_cases(kind.split("_")[0], ndim=nd, **sizes, max_kernel=sup.max_kernel,
                            max_stride=sup.max_stride if sup.stride else 1, max_dilation=sup.max_dilation,
                            dilation=sup.dilation, asymmetric_padding=sup.asymmetric_padding and not backward,
                            ceil_mode=sup.ceil_mode, count_include_pad=sup.count_include_pad,
                            divisor_override=sup.divisor_override, default_stride=not backward,
                            return_indices=sup.return_indices and not backward and not autograd,
                            input_smaller_than_kernel=sup.input_smaller_than_kernel)
    if kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        return adaptive_pool_cases(kind.split("_")[1], ndim=nd, **sizes,
                                   return_indices=sup.return_indices and not autograd)
    return unfold_cases(kind, **sizes, max_kernel=sup.max_kernel, max_stride=sup.max_stride if sup.stride else 1,
                        max_dilation=sup.max_dilation, max_padding=sup.max_padding, dilation=sup.dilation)
