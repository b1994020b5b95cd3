"""Pooling specifications: max, average, adaptive and global (PyTorch semantics, N-d)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

from ..checks import check_bool, check_int, check_ndim, infer_ndim, is_sequence, per_axis
from ..errors import SpecError
from ..shapes.formulas import Size, pool_output_size
from .base import AxisSpec, Layer, check_spatial
from .padding import PaddingArg, normalize_padding, pad_at

__all__ = ["MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "GlobalAvgPool", "GlobalMaxPool"]


def _check_pool_pad(axis: int, side: str, pad: int, kernel: int, where: str = "") -> None:
    if pad < 0:
        raise SpecError(f"padding[{axis}] {side}={pad}{where}: pooling padding must be >= 0")
    if pad > kernel // 2:
        raise SpecError(
            f"padding[{axis}] {side}={pad}{where}: pooling padding must be <= kernel_size // 2 = {kernel // 2} "
            "(PyTorch checks the raw kernel size, whatever the dilation)"
        )


class _WindowPool(Layer):
    _axis_fields = ("kernel_size", "stride", "dilation", "padding")
    _stride_defaults_to_kernel = True
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[Any, Any], ...]
    ceil_mode: bool

    def _init_window(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any,
                     ndim: Any) -> None:
        if stride is None or (is_sequence(stride) and len(stride) == 0):
            stride = kernel_size
        ndim = infer_ndim(ndim, kernel_size=kernel_size, stride=stride, dilation=dilation,
                          padding=padding if not isinstance(padding, str) else 0)
        k = per_axis("kernel_size", kernel_size, ndim, minimum=1)
        s = per_axis("stride", stride, ndim, minimum=1)
        d = per_axis("dilation", dilation, ndim, minimum=1)
        if isinstance(padding, str) and padding == "same":
            raise SpecError("padding='same': not supported for pooling (as PyTorch); give explicit padding")
        pads = normalize_padding(padding, ndim, kernel=k, dilation=d, stride=s, allow_same=False)
        for a, ((lo, hi), ka) in enumerate(zip(pads, k)):
            for side, p in (("lo", lo), ("hi", hi)):
                if isinstance(p, int):  # size-dependent pads (TF 'SAME') are checked when evaluated
                    _check_pool_pad(a, side, p, ka)
        self._set(kernel_size=k, stride=s, dilation=d, padding=pads,
                  ceil_mode=check_bool("ceil_mode", ceil_mode), ndim=ndim)

    def _axis_spec(self, axis: int, n: Size) -> AxisSpec:
        lo, hi = (pad_at(p, n) for p in self.padding[axis])
        for side, p in (("lo", lo), ("hi", hi)):
            if isinstance(p, int) and p not in self.padding[axis]:
                _check_pool_pad(axis, side, p, self.kernel_size[axis], f" at input size {n}")
        return AxisSpec(self.kernel_size[axis], self.stride[axis], self.dilation[axis], lo, hi)

    def _output_size(self, axis: int, spec: AxisSpec, n: Size) -> Size:
        return pool_output_size(n, spec.kernel, spec.stride, spec.dilation, spec.lo, spec.hi, self.ceil_mode)


class MaxPool(_WindowPool):
    """N-d max pooling (PyTorch ``MaxPool{1,2,3}d``).

    Window ``o`` reads taps ``s*o - lo + d*k``; taps outside the input are
    ignored (padding acts as ``-inf``); ties go to the first maximum in
    row-major window order; NaN propagates.  ``stride`` defaults to
    ``kernel_size``; padding must be ``<= kernel_size // 2``.

    >>> MaxPool(2).output_shape((7, 8))
    (3, 4)
    >>> MaxPool(3, stride=2, ceil_mode=True).output_shape((8,))
    (4,)
    """

    kind: ClassVar[str] = "max_pool"
    _defaults: ClassVar[dict[str, Any]] = {"ceil_mode": False}

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: PaddingArg = 0,
        dilation: int | Sequence[int] = 1,
        ceil_mode: bool = False,
        *,
        ndim: int | None = None,
    ) -> None:
        self._init_window(kernel_size, stride, padding, dilation, ceil_mode, ndim)

    def _params(self) -> dict[str, Any]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    dilation=self.dilation, ceil_mode=self.ceil_mode, ndim=self.ndim)


class AvgPool(_WindowPool):
    """N-d average pooling (PyTorch ``AvgPool{1,2,3}d``).

    The divisor is ``divisor_override`` when given; else, with
    ``count_include_pad``, the window size clipped to ``[-lo, n + hi)`` (the
    ceil-mode overhang beyond the right padding never counts); else the number
    of taps inside the input.

    One PyTorch quirk is not copied: ``AvgPool3d`` (3-D only) also rejects an
    *unpadded* input smaller than the kernel; convalg applies the N-d rule of
    ``AvgPool1d/2d`` (the padded input must hold one window).

    >>> AvgPool(3, stride=2, padding=1, ceil_mode=True).output_shape((6, 7))
    (4, 4)
    """

    kind: ClassVar[str] = "avg_pool"
    _defaults: ClassVar[dict[str, Any]] = {"ceil_mode": False, "count_include_pad": True}
    count_include_pad: bool
    divisor_override: int | None

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: PaddingArg = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        ndim: int | None = None,
    ) -> None:
        self._init_window(kernel_size, stride, padding, 1, ceil_mode, ndim)
        if divisor_override is not None:
            divisor_override = check_int("divisor_override", divisor_override)
            if divisor_override == 0:
                raise SpecError("divisor_override=0: must be non-zero")
        self._set(count_include_pad=check_bool("count_include_pad", count_include_pad),
                  divisor_override=divisor_override)

    def _params(self) -> dict[str, Any]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
                    divisor_override=self.divisor_override, ndim=self.ndim)


class _AdaptivePool(Layer):
    """Adaptive pooling: output ``i`` reads the window ``[floor(i*n/o), ceil((i+1)*n/o))``."""

    _axis_fields = ("output_size",)
    output_size: tuple[int | None, ...]

    def __init__(self, output_size: int | Sequence[int | None], *, ndim: int | None = None) -> None:
        ndim = infer_ndim(ndim, output_size=output_size)
        count = 1 if ndim is None else ndim
        if is_sequence(output_size):
            sizes = tuple(None if v is None else check_int(f"output_size[{i}]", v, minimum=1)
                          for i, v in enumerate(output_size))
        else:
            sizes = (check_int("output_size", output_size, minimum=1),) * count
        self._set(output_size=sizes, ndim=ndim)

    def _params(self) -> dict[str, Any]:
        return dict(output_size=self.output_size, ndim=self.ndim)

    def _axis_spec(self, axis: int, n: Size) -> AxisSpec:
        o = self.output_size[axis]
        return AxisSpec(0, 0, 1, 0, 0) if o is not None else AxisSpec(1, 1, 1, 0, 0)

    def _output_size(self, axis: int, spec: AxisSpec, n: Size) -> Size:
        o = self.output_size[axis]
        return n if o is None else o

    def target_shape(self, spatial: Sequence[Size]) -> tuple[Size, ...]:
        """Output sizes with ``None`` entries resolved against ``spatial``."""
        return self.output_shape(check_spatial(spatial, self.ndim))


class AdaptiveAvgPool(_AdaptivePool):
    """N-d adaptive average pooling (PyTorch ``AdaptiveAvgPool{1,2,3}d``).

    Output ``i`` averages the input window ``[floor(i*n/o), ceil((i+1)*n/o))``.
    ``output_size`` entries may be ``None`` (keep that input size).

    >>> AdaptiveAvgPool((1, None)).output_shape((7, 9))
    (1, 9)
    """

    kind: ClassVar[str] = "adaptive_avg_pool"


class AdaptiveMaxPool(_AdaptivePool):
    """N-d adaptive max pooling (PyTorch ``AdaptiveMaxPool{1,2,3}d``); windows as :class:`AdaptiveAvgPool`.

    >>> AdaptiveMaxPool(3, ndim=1).output_shape((10,))
    (3,)
    """

    kind: ClassVar[str] = "adaptive_max_pool"


class _Global(_AdaptivePool):
    """Adaptive pooling to size 1 on every axis."""

    def __init__(self, *, ndim: int | None = None, output_size: Any = 1) -> None:
        entries = list(output_size) if is_sequence(output_size) else [output_size]
        if not entries or any(isinstance(e, bool) or not isinstance(e, numbers.Integral) or e != 1 for e in entries):
            raise SpecError(f"output_size={output_size!r}: global pooling always has output size 1")
        if ndim is not None:
            ndim = check_ndim(ndim)
        super().__init__(1 if ndim is None else (1,) * ndim, ndim=ndim)

    def _params(self) -> dict[str, Any]:
        return dict(ndim=self.ndim)

    def _with_ndim(self, ndim: int) -> Layer:
        return type(self)(ndim=ndim)


class GlobalAvgPool(_Global, AdaptiveAvgPool):
    """Global average pooling: adaptive average pooling to size 1 on every axis.

    >>> GlobalAvgPool().output_shape((7, 7))
    (1, 1)
    """


class GlobalMaxPool(_Global, AdaptiveMaxPool):
    """Global max pooling: adaptive max pooling to size 1 on every axis.

    >>> GlobalMaxPool(ndim=3).output_shape((4, 5, 6))
    (1, 1, 1)
    """
