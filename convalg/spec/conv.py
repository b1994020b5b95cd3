"""Convolution and transposed-convolution specifications (PyTorch semantics, N-d)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sympy as sp

from ..checks import check_bool, check_choice, check_int, infer_ndim, per_axis
from ..errors import SpecError
from ..operators import weight_symbols as conv_weight_symbols
from ..shapes.formulas import Size, as_size, conv_output_size, conv_transpose_output_size, effective_kernel
from ..vocabulary import PADDING_MODES
from .base import AxisSpec, Layer, check_spatial
from .padding import PaddingArg, normalize_padding, pad_at

__all__ = ["Conv", "ConvTranspose", "PADDING_MODES"]


def _channels(name: str, value: Any) -> int | None:
    return None if value is None else check_int(name, value, minimum=1)


def _check_groups(groups: int, in_channels: int | None, out_channels: int | None) -> None:
    for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
        if c is not None and c % groups:
            raise SpecError(f"{name}={c}: must be divisible by groups={groups}")


class _ConvBase(Layer):
    _axis_fields = ("kernel_size", "stride", "dilation", "padding")

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[Any, Any], ...]
    groups: int
    bias: bool
    in_channels: int | None
    out_channels: int | None
    flip_kernel: bool

    def output_channels(self, in_channels: int | None) -> int | None:
        if in_channels is not None and self.in_channels is not None and in_channels != self.in_channels:
            raise SpecError(f"in_channels={in_channels}: the layer expects in_channels={self.in_channels}")
        if in_channels is not None and in_channels % self.groups:
            raise SpecError(f"in_channels={in_channels}: must be divisible by groups={self.groups}")
        return self.out_channels

    def _axis_spec(self, axis: int, n: Size) -> AxisSpec:
        lo, hi = self.padding[axis]
        return AxisSpec(
            self.kernel_size[axis], self.stride[axis], self.dilation[axis], pad_at(lo, n), pad_at(hi, n),
            self._output_padding(axis),
        )

    def _output_padding(self, axis: int) -> int:
        return 0

    @property
    def weight_symbols(self) -> Any:
        """SymPy symbols shaped like the PyTorch weight (see :func:`convalg.operators.weight_symbols`)."""
        return conv_weight_symbols(self)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """PyTorch weight shape (needs ``in_channels`` and ``out_channels``)."""
        if self.in_channels is None or self.out_channels is None or self.ndim is None:
            raise SpecError(
                f"{type(self).__name__}: weight_shape needs in_channels, out_channels and ndim "
                f"(got in_channels={self.in_channels}, out_channels={self.out_channels}, ndim={self.ndim})"
            )
        a, b = self._weight_channels()
        return (a, b // self.groups, *self.kernel_size)


class Conv(_ConvBase):
    """An N-d convolution layer with PyTorch's ``Conv{1,2,3}d`` semantics.

    ``out[n, co, o] = b[co] + sum_{ci, k} w[co, ci, k] * xpad[n, g*Cin/G + ci, s*o - lo + d*k]``
    (cross-correlation, the neural-network convention); ``flip_kernel=True``
    uses ``w[co, ci, K-1-k]`` instead, i.e. true convolution.

    ==========================  ===========================================
    parameter                   rule
    ==========================  ===========================================
    ``kernel_size``             int or tuple, >= 1
    ``stride``, ``dilation``    int or tuple, >= 1
    ``padding``                 int, tuple, ``'same'`` (stride 1 only),
                                ``'valid'``, or ``(lo, hi)`` pairs
    ``groups``                  divides ``in_channels`` and ``out_channels``
    ``padding_mode``            ``'zeros' | 'reflect' | 'replicate' | 'circular'``
    ==========================  ===========================================

    ``ndim`` is inferred from tuple arguments; with only scalars and no
    ``ndim`` the layer applies to any number of spatial dims.

    >>> import sympy as sp
    >>> H, W = sp.symbols("H W", integer=True, positive=True)
    >>> Conv(3, stride=2, padding=1).output_shape((H, 224))
    (floor(H/2 - 1/2) + 1, 112)
    >>> Conv(4, padding="same", ndim=1).padding
    ((1, 2),)
    """

    kind: ClassVar[str] = "conv"
    _defaults: ClassVar[dict[str, Any]] = {
        "groups": 1, "bias": True, "padding_mode": "zeros", "flip_kernel": False,
    }

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: PaddingArg = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        in_channels: int | None = None,
        out_channels: int | None = None,
        flip_kernel: bool = False,
        ndim: int | None = None,
    ) -> None:
        ndim = infer_ndim(ndim, kernel_size=kernel_size, stride=stride, dilation=dilation,
                          padding=padding if not isinstance(padding, str) else 0)
        k = per_axis("kernel_size", kernel_size, ndim, minimum=1)
        s = per_axis("stride", stride, ndim, minimum=1)
        d = per_axis("dilation", dilation, ndim, minimum=1)
        groups = check_int("groups", groups, minimum=1)
        cin, cout = _channels("in_channels", in_channels), _channels("out_channels", out_channels)
        _check_groups(groups, cin, cout)
        mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        pads = normalize_padding(padding, ndim, kernel=k, dilation=d, stride=s,
                                 allow_negative_pairs=(mode == "zeros"))
        self._set(kernel_size=k, stride=s, dilation=d, padding=pads, groups=groups,
                  bias=check_bool("bias", bias), padding_mode=mode, in_channels=cin, out_channels=cout,
                  flip_kernel=check_bool("flip_kernel", flip_kernel), ndim=ndim)

    def _params(self) -> dict[str, Any]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    dilation=self.dilation, groups=self.groups, bias=self.bias, padding_mode=self.padding_mode,
                    in_channels=self.in_channels, out_channels=self.out_channels,
                    flip_kernel=self.flip_kernel, ndim=self.ndim)

    def _weight_channels(self) -> tuple[int, int]:
        return self.out_channels, self.in_channels  # type: ignore[return-value]

    def _output_size(self, axis: int, spec: AxisSpec, n: Size) -> Size:
        if isinstance(n, int) and self.padding_mode != "zeros":
            for side, p in (("lo", spec.lo), ("hi", spec.hi)):
                if not isinstance(p, int):
                    continue
                if self.padding_mode == "reflect" and p >= n:
                    raise SpecError(f"padding[{axis}] {side}={p}: reflect padding must be < the input size {n}")
                if self.padding_mode == "circular" and p > n:
                    raise SpecError(f"padding[{axis}] {side}={p}: circular padding must be <= the input size {n}")
        return conv_output_size(n, spec.kernel, spec.stride, spec.dilation, spec.lo, spec.hi)

    def transpose(self, spatial: Sequence[int]) -> ConvTranspose:
        """The ConvTranspose whose operator is the exact transpose of this one at input sizes ``spatial``.

        ``output_padding`` is the remainder the stride drops,
        ``(n + lo + hi - d*(k-1) - 1) mod s``, so the transposed layer maps
        the output size back to ``spatial``.

        >>> Conv(3, stride=2, padding=1, ndim=1).transpose((8,)).output_padding
        (1,)
        """
        if self.padding_mode != "zeros":
            raise SpecError(
                f"padding_mode={self.padding_mode!r}: only a zero-padded Conv transposes to a ConvTranspose; "
                "compose the transpose of the padding operator explicitly"
            )
        spatial = check_spatial(spatial, self.ndim)
        layer = self.bind(len(spatial))
        specs = layer.axis_specs(spatial)
        layer.output_shape(spatial)
        pads, ops = [], []
        for spec, n in zip(specs, spatial):
            if not isinstance(n, int) or not isinstance(spec.lo, int) or not isinstance(spec.hi, int):
                raise SpecError(f"input={tuple(spatial)}: transpose() needs concrete sizes")
            pads.append((spec.lo, spec.hi))
            ops.append((n + spec.lo + spec.hi - effective_kernel(spec.kernel, spec.dilation)) % spec.stride)
        return ConvTranspose(layer.kernel_size, stride=layer.stride, padding=tuple(pads), output_padding=tuple(ops),
                             groups=self.groups, bias=self.bias, dilation=layer.dilation,
                             in_channels=self.out_channels, out_channels=self.in_channels,
                             flip_kernel=self.flip_kernel, ndim=layer.ndim)


class ConvTranspose(_ConvBase):
    """An N-d transposed convolution with PyTorch's ``ConvTranspose{1,2,3}d`` semantics.

    The adjoint of :class:`Conv` with the same parameters:
    ``y[s*i - lo + d*k] += x[i] * w[ci, co, k]`` cropped to ``[0, out)``, with
    out size ``(n-1)*s - lo - hi + d*(k-1) + output_padding + 1``.
    ``output_padding`` (per axis) must be < stride or < dilation.
    Weight shape ``(C_in, C_out/groups, *k)``.

    >>> ConvTranspose(3, stride=2, padding=1, output_padding=1, ndim=2).output_shape((4, 5))
    (8, 10)
    >>> ConvTranspose(3, stride=2, padding=1, ndim=1).output_padding_for((4,), (8,))
    (1,)
    """

    kind: ClassVar[str] = "conv_transpose"
    _axis_fields = _ConvBase._axis_fields + ("output_padding",)
    _defaults: ClassVar[dict[str, Any]] = {"groups": 1, "bias": True, "flip_kernel": False,
                                            "padding_mode": "zeros"}
    output_padding: tuple[int, ...]

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: PaddingArg = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        *,
        in_channels: int | None = None,
        out_channels: int | None = None,
        flip_kernel: bool = False,
        ndim: int | None = None,
    ) -> None:
        ndim = infer_ndim(ndim, kernel_size=kernel_size, stride=stride, dilation=dilation,
                          output_padding=output_padding, padding=padding if not isinstance(padding, str) else 0)
        k = per_axis("kernel_size", kernel_size, ndim, minimum=1)
        s = per_axis("stride", stride, ndim, minimum=1)
        d = per_axis("dilation", dilation, ndim, minimum=1)
        op = per_axis("output_padding", output_padding, ndim, minimum=0)
        for a, (o, si, di) in enumerate(zip(op, s, d)):
            if not (o < si or o < di):
                raise SpecError(
                    f"output_padding[{a}]={o}: must be smaller than either stride ({si}) or dilation ({di})"
                )
        if not isinstance(padding_mode, str) or padding_mode != "zeros":
            raise SpecError(f"padding_mode={padding_mode!r}: ConvTranspose supports only 'zeros' (as PyTorch)")
        if isinstance(padding, str) and padding == "same":
            raise SpecError("padding='same': not supported for ConvTranspose (as PyTorch); use output_size "
                            "with output_padding_for() or explicit padding")
        groups = check_int("groups", groups, minimum=1)
        cin, cout = _channels("in_channels", in_channels), _channels("out_channels", out_channels)
        _check_groups(groups, cin, cout)
        # negative (lo, hi) pairs: the transpose of a cropping Conv (its output grows instead of shrinking)
        pads = normalize_padding(padding, ndim, kernel=k, dilation=d, stride=s, allow_same=False,
                                 allow_negative_pairs=True)
        self._set(kernel_size=k, stride=s, dilation=d, padding=pads, output_padding=op, groups=groups,
                  bias=check_bool("bias", bias), padding_mode="zeros", in_channels=cin, out_channels=cout,
                  flip_kernel=check_bool("flip_kernel", flip_kernel), ndim=ndim)

    def _params(self) -> dict[str, Any]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    output_padding=self.output_padding, groups=self.groups, bias=self.bias,
                    dilation=self.dilation, padding_mode="zeros", in_channels=self.in_channels,
                    out_channels=self.out_channels, flip_kernel=self.flip_kernel, ndim=self.ndim)

    def _weight_channels(self) -> tuple[int, int]:
        return self.in_channels, self.out_channels  # type: ignore[return-value]

    def _output_padding(self, axis: int) -> int:
        return self.output_padding[axis]

    def _output_size(self, axis: int, spec: AxisSpec, n: Size) -> Size:
        return conv_transpose_output_size(n, spec.kernel, spec.stride, spec.dilation, spec.lo, spec.hi,
                                          spec.output_padding)

    def _too_small(self, spec: AxisSpec, n: Size) -> str:
        return (f"the padding ({spec.lo} + {spec.hi}) crops more than the scattered extent "
                f"(({n} - 1)*{spec.stride} + {spec.dilation}*({spec.kernel} - 1) + 1 + output_padding "
                f"{spec.output_padding})")

    def output_padding_for(self, spatial: Sequence[Size], output_size: Sequence[Size]) -> tuple[Size, ...]:
        """Solve for the ``output_padding`` that gives ``output_size`` (PyTorch's ``output_size=`` argument).

        Valid sizes are ``[min, min + stride - 1]`` with ``min`` the size at
        ``output_padding=0``; symbolic sizes give symbolic paddings.
        """
        spatial = check_spatial(spatial, self.ndim)
        output_size = check_spatial(output_size, len(spatial), name="output_size")
        layer = self.replace(output_padding=0).bind(len(spatial))
        result: list[Size] = []
        for a, (spec, n, want) in enumerate(zip(layer.axis_specs(spatial), spatial, output_size)):
            lowest = layer._output_size(a, spec, n)
            op = as_size(sp.sympify(want) - lowest)
            # True / False, or None when SymPy cannot decide a symbolic bound
            low, high = _decide(op >= 0), _decide(op <= spec.stride - 1)
            if not (low and high):
                unproved = "" if False in (low, high) else (
                    f" (output_padding {op} is not provably in [0, {spec.stride - 1}] for every size; pass numbers)")
                raise SpecError(
                    f"output_size[{a}]={want}: must lie in [{lowest}, {lowest + spec.stride - 1}] for input size {n}"
                    + unproved
                )
            result.append(op)
        return tuple(result)

    def with_output_size(self, spatial: Sequence[int], output_size: Sequence[int]) -> ConvTranspose:
        """A copy whose ``output_padding`` gives ``output_size`` at input sizes ``spatial``."""
        ops = self.output_padding_for(spatial, output_size)
        return self.bind(len(ops)).replace(output_padding=ops)  # type: ignore[return-value]

    def transpose(self) -> Conv:
        """The Conv whose operator is the transpose of this one (valid when ``output_padding < stride``)."""
        for a, (o, s) in enumerate(zip(self.output_padding, self.stride)):
            if o >= s:
                raise SpecError(
                    f"output_padding[{a}]={o}: >= stride {s}, the transposed Conv would produce extra outputs"
                )
        return Conv(self.kernel_size, stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, bias=self.bias, in_channels=self.out_channels,
                    out_channels=self.in_channels, flip_kernel=self.flip_kernel, ndim=self.ndim)


def _decide(claim: Any) -> bool | None:
    """Decide a symbolic inequality: True / False, or None when SymPy cannot.

    Each ``Mod(x, m)`` (``m`` a positive integer) lies in ``[0, m - 1]``: the claim is
    also tried with the ``Mod`` replaced by ``r`` and by ``m - 1 - r`` (``r >= 0``
    integer), two supersets of its range, so a proof for either is a proof.
    """
    if isinstance(claim, bool):
        return claim
    claim = sp.sympify(claim)
    if claim in (sp.true, sp.false):
        return bool(claim)
    mods = [m for m in claim.atoms(sp.Mod) if m.args[1].is_Integer and m.args[1] > 0]
    for side in ("low", "high"):
        fresh = {m: (r if side == "low" else m.args[1] - 1 - r)
                 for m, r in zip(mods, sp.symbols(f"r:{len(mods)}", integer=True, nonnegative=True))}
        if mods and sp.sympify(claim.xreplace(fresh)) is sp.true:
            return True
    return None
