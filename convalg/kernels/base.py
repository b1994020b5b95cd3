"""The layer both kernel backends stand on: the ops they provide, their vocabulary, their shared rules.

=========================  ==================================================================
name                       what
=========================  ==================================================================
``ConvOps``                the 13 ops a backend module provides (:mod:`convalg.functional`'s
                           signatures); ``convalg.kernels.numpy.ops`` and
                           ``convalg.kernels.cuda.ops`` satisfy it
``BackendOps``             the base both backends inherit: the padding-mode (and
                           ``flip_kernel``) gradients around the backend's zero-padding ones
``ALGORITHMS``             ``auto``, ``direct``, ``gemm``, ``fft``, ``winograd``; each backend
                           declares the ones it runs (:func:`check_algorithm`)
``CONV_PASSES``            ``fwd``, ``bwd_data``, ``bwd_weight``: the passes of a convolution
``finite_algorithm``       the non-finite rule: a transform (``fft``, ``winograd``) would
                           spread a NaN / inf over a plane or a tile, so such input runs
                           ``gemm`` (PyTorch keeps them element-wise)
``conv_layer``,            a torch-style call -> :class:`~convalg.Conv` /
``conv_transpose_layer``   :class:`~convalg.ConvTranspose` (shapes checked, cached)
``max_pool_layer``,        a pooling call -> :class:`~convalg.MaxPool` / :class:`~convalg.AvgPool` /
``avg_pool_layer``,        :class:`~convalg.AdaptiveAvgPool` / :class:`~convalg.AdaptiveMaxPool`
``adaptive_pool_layer``    (cached on the frozen arguments)
``window_layer``           the windows of ``unfold`` / ``fold``: a bias-free :class:`~convalg.Conv`
``conv_flops``             multiply-adds x 2 of one pass, for both cost models
=========================  ==================================================================

>>> check_algorithm("winograd", "cuda", ("auto", "direct", "gemm", "fft"))
Traceback (most recent call last):
...
convalg.errors.SpecError: algorithm='winograd': the cuda backend has no winograd kernels; it runs 'auto', 'direct', 'gemm', 'fft'
>>> import numpy as np
>>> conv_layer((1, 4, 8, 8), (6, 2, 3, 3), padding=1, groups=2)
Conv(kernel_size=(3, 3), padding=(1, 1), groups=2, bias=False, in_channels=4, out_channels=6, ndim=2)
>>> max_pool_layer(2, [3, 3], stride=2) is max_pool_layer(2, (3, 3), stride=np.int64(2))  # frozen keys: one layer
True
>>> conv_flops(1, 4, 6, 2, (3, 3), (8, 8))          # 2 N Co (C/G) K O
13824
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from ..checks import check_int
from ..errors import SpecError
from ..spec.conv import Conv, ConvTranspose
from ..spec.pooling import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, MaxPool
from . import cache
from .arrays import all_finite, flip_spatial
from .padding import Frame, pad_frame, unpad_adjoint
from .params import freeze

__all__ = ["ALGORITHMS", "CONV_PASSES", "TRANSFORMS", "NONFINITE_FALLBACK", "check_algorithm", "finite_algorithm",
           "conv_flops", "check_conv_shapes", "conv_layer", "conv_transpose_layer", "max_pool_layer", "avg_pool_layer",
           "adaptive_pool_layer", "window_layer", "ConvOps", "BackendOps"]

#: Every convolution algorithm name a backend may run (``'auto'``: the backend's cost model picks).
ALGORITHMS = ("auto", "direct", "gemm", "fft", "winograd")
#: The passes of a convolution: forward, input gradient (also the transposed convolution), weight gradient.
CONV_PASSES = ("fwd", "bwd_data", "bwd_weight")
#: Algorithms that transform whole planes or tiles (a NaN / inf would spread).
TRANSFORMS = ("fft", "winograd")
#: What a transform falls back to on non-finite input.
NONFINITE_FALLBACK = "gemm"


def check_algorithm(algorithm: Any, backend: str, supported: Sequence[str]) -> str:
    """``algorithm`` if ``backend`` runs it (``supported``), else :class:`SpecError` naming both."""
    if algorithm not in ALGORITHMS:
        raise SpecError(f"algorithm={algorithm!r}: must be one of {', '.join(map(repr, ALGORITHMS))}")
    if algorithm not in supported:
        raise SpecError(f"algorithm={algorithm!r}: the {backend} backend has no {algorithm} kernels; it runs "
                        f"{', '.join(map(repr, supported))}")
    return str(algorithm)


def finite_algorithm(algorithm: str, *arrays: Any) -> str:
    """``algorithm``, or :data:`NONFINITE_FALLBACK` for a transform when some of ``arrays`` holds NaN / inf.

    >>> import numpy as np
    >>> finite_algorithm("fft", np.ones(2), np.array([np.nan])), finite_algorithm("direct", np.array([np.nan]))
    ('gemm', 'direct')
    """
    if algorithm in TRANSFORMS and not all_finite(*arrays):
        return NONFINITE_FALLBACK
    return algorithm


def conv_flops(n_batch: int, c_in: int, c_out: int, groups: int, kernel: Sequence[int], output: Sequence[int]) -> int:
    """Multiply-adds x 2 of one convolution pass, ``2 N Co (C/G) K O`` (the three passes count the same)."""
    return 2 * n_batch * c_out * (c_in // max(groups, 1)) * math.prod(kernel) * math.prod(output)


def check_conv_shapes(x_shape: Sequence[int], w_shape: Sequence[int], groups: Any, bias_shape: Sequence[int] | None = None,
                      transposed: bool = False) -> None:
    """The channel and rank rules of a (transposed) convolution call, checked on shapes alone.

    >>> check_conv_shapes((1, 2, 5), (3, 1, 3), 1)
    Traceback (most recent call last):
    ...
    convalg.errors.SpecError: weight: shape (3, 1, 3) needs x with 1*groups = 1 channels (dim 1 is C_in/groups), got x.shape[1] = 2
    """
    groups = check_int("groups", groups, minimum=1)
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(w_shape) != len(x_shape):
        layout = "(C_in, C_out/groups, *k)" if transposed else "(C_out, C_in/groups, *k)"
        raise SpecError(f"weight: expected {len(x_shape)} dims like x {layout}, got shape {w_shape} "
                        f"({len(w_shape) - 2} spatial dims, x has {len(x_shape) - 2})")
    c = x_shape[1]
    if transposed:
        if w_shape[0] != c:
            raise SpecError(f"weight: shape {w_shape} needs x with {w_shape[0]} channels "
                            f"(ConvTranspose weight is (C_in, C_out/groups, *k)), got x.shape[1] = {c}")
        if c % groups:
            raise SpecError(f"groups={groups}: must divide the input channels {c}")
        cout = w_shape[1] * groups
    else:
        if w_shape[1] * groups != c:
            raise SpecError(f"weight: shape {w_shape} needs x with {w_shape[1]}*groups = {w_shape[1] * groups} "
                            f"channels (dim 1 is C_in/groups), got x.shape[1] = {c}")
        if w_shape[0] % groups:
            raise SpecError(f"weight: {w_shape[0]} output channels are not divisible by groups={groups}")
        cout = w_shape[0]
    if bias_shape is not None and tuple(bias_shape) != (cout,):
        raise SpecError(f"bias: expected shape ({cout},), got {tuple(bias_shape)}")


def conv_layer(x_shape: Sequence[int], w_shape: Sequence[int], stride: Any = 1, padding: Any = 0, dilation: Any = 1,
               groups: int = 1, padding_mode: str = "zeros", bias_shape: Sequence[int] | None = None,
               flip_kernel: bool = False) -> Conv:
    """The :class:`~convalg.Conv` of a call ``conv(x, weight, bias, ...)`` with these shapes (its ``bias`` is
    whether a bias was passed); shapes checked by :func:`check_conv_shapes`, parameters by the layer."""
    check_conv_shapes(x_shape, w_shape, groups, bias_shape)
    key = (len(w_shape) - 2, tuple(int(v) for v in w_shape[2:]), freeze("stride", stride),
           freeze("padding", padding), freeze("dilation", dilation), int(groups), bias_shape is not None,
           padding_mode, int(x_shape[1]), int(w_shape[0]), bool(flip_kernel))
    return cache.cached("conv_layer", _make_conv, *key)


def _make_conv(ndim: int, kernel: tuple[int, ...], stride: Any, padding: Any, dilation: Any, groups: int,
               bias: bool, padding_mode: str, cin: int, cout: int, flip_kernel: bool) -> Conv:
    return Conv(kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias,
                padding_mode=padding_mode, in_channels=cin, out_channels=cout, flip_kernel=flip_kernel, ndim=ndim)


def conv_transpose_layer(x_shape: Sequence[int], w_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                         output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                         bias_shape: Sequence[int] | None = None, flip_kernel: bool = False) -> ConvTranspose:
    """The :class:`~convalg.ConvTranspose` of a call ``conv_transpose(x, weight, bias, ...)`` with these shapes."""
    check_conv_shapes(x_shape, w_shape, groups, bias_shape, transposed=True)
    key = (len(w_shape) - 2, tuple(int(v) for v in w_shape[2:]), freeze("stride", stride),
           freeze("padding", padding), freeze("output_padding", output_padding), int(groups),
           freeze("dilation", dilation), bias_shape is not None, int(x_shape[1]), int(w_shape[1]) * int(groups),
           bool(flip_kernel))
    return cache.cached("conv_transpose_layer", _make_conv_transpose, *key)


def _make_conv_transpose(ndim: int, kernel: tuple[int, ...], stride: Any, padding: Any, output_padding: Any,
                         groups: int, dilation: Any, bias: bool, cin: int, cout: int,
                         flip_kernel: bool) -> ConvTranspose:
    return ConvTranspose(kernel, stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                         bias=bias, dilation=dilation, in_channels=cin, out_channels=cout, flip_kernel=flip_kernel,
                         ndim=ndim)


def max_pool_layer(ndim: int, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                   ceil_mode: bool = False) -> MaxPool:
    """The :class:`~convalg.MaxPool` of a call ``max_pool(x, ...)`` on ``ndim`` spatial dims (cached)."""
    return cache.cached("max_pool_layer", _make_max_pool, int(ndim), freeze("kernel_size", kernel_size),
                        freeze("stride", stride), freeze("padding", padding), freeze("dilation", dilation), ceil_mode)


def _make_max_pool(ndim: int, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> MaxPool:
    return MaxPool(kernel, stride, padding, dilation, ceil_mode, ndim=ndim)


def avg_pool_layer(ndim: int, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                   count_include_pad: bool = True, divisor_override: int | None = None) -> AvgPool:
    """The :class:`~convalg.AvgPool` of a call ``avg_pool(x, ...)`` on ``ndim`` spatial dims (cached)."""
    return cache.cached("avg_pool_layer", _make_avg_pool, int(ndim), freeze("kernel_size", kernel_size),
                        freeze("stride", stride), freeze("padding", padding), ceil_mode, count_include_pad,
                        freeze("divisor_override", divisor_override))


def _make_avg_pool(ndim: int, kernel: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool,
                   divisor_override: Any) -> AvgPool:
    return AvgPool(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, ndim=ndim)


#: The adaptive pooling layer class of each kind.
_ADAPTIVE = {cls.kind: cls for cls in (AdaptiveAvgPool, AdaptiveMaxPool)}


def adaptive_pool_layer(kind: str, ndim: int, output_size: Any) -> AdaptiveAvgPool | AdaptiveMaxPool:
    """The ``'adaptive_avg_pool'`` / ``'adaptive_max_pool'`` layer of a call with ``output_size`` (cached).

    >>> adaptive_pool_layer("adaptive_max_pool", 2, (3, None))
    AdaptiveMaxPool(output_size=(3, None), ndim=2)
    """
    if kind not in _ADAPTIVE:
        raise SpecError(f"kind={kind!r}: must be one of {', '.join(map(repr, _ADAPTIVE))}")
    return cache.cached("adaptive_pool_layer", _make_adaptive, kind, int(ndim), freeze("output_size", output_size))


def _make_adaptive(kind: str, ndim: int, output_size: Any) -> AdaptiveAvgPool | AdaptiveMaxPool:
    return _ADAPTIVE[kind](output_size, ndim=ndim)


def window_layer(ndim: int, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Conv:
    """The windows of ``unfold`` / ``fold`` (same argument order): a bias-free :class:`~convalg.Conv` (cached).

    >>> window_layer(1, 3, padding=1)
    Conv(kernel_size=3, padding=1, bias=False, ndim=1)
    """
    return cache.cached("window_layer", _make_window, int(ndim), freeze("kernel_size", kernel_size),
                        freeze("dilation", dilation), freeze("padding", padding), freeze("stride", stride))


def _make_window(ndim: int, kernel: Any, dilation: Any, padding: Any, stride: Any) -> Conv:
    return Conv(kernel, stride=stride, padding=padding, dilation=dilation, bias=False, ndim=ndim)


@runtime_checkable
class ConvOps(Protocol):
    """The ops of a backend module (arguments already validated by :mod:`convalg.functional`)."""

    def conv(self, x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
             groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False,
             algorithm: str = "auto") -> Any: ...

    def conv_transpose(self, x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                       output_padding: Any = 0, groups: int = 1, dilation: Any = 1, algorithm: str = "auto") -> Any: ...

    def conv_grad_input(self, grad_out: Any, weight: Any, input_shape: Sequence[int], stride: Any = 1,
                        padding: Any = 0, dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                        flip_kernel: bool = False, algorithm: str = "auto") -> Any: ...

    def conv_grad_weight(self, x: Any, grad_out: Any, weight_shape: Sequence[int], stride: Any = 1,
                         padding: Any = 0, dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                         flip_kernel: bool = False, algorithm: str = "auto") -> Any: ...

    def conv_grad_bias(self, grad_out: Any) -> Any: ...

    def max_pool(self, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False, return_indices: bool = False) -> Any: ...

    def max_pool_grad(self, grad_out: Any, indices: Any, input_shape: Sequence[int]) -> Any: ...

    def avg_pool(self, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> Any: ...

    def avg_pool_grad(self, grad_out: Any, input_shape: Sequence[int], kernel_size: Any, stride: Any = None,
                      padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                      divisor_override: int | None = None) -> Any: ...

    def adaptive_avg_pool(self, x: Any, output_size: Any) -> Any: ...

    def adaptive_max_pool(self, x: Any, output_size: Any, return_indices: bool = False) -> Any: ...

    def unfold(self, x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any: ...

    def fold(self, cols: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
             stride: Any = 1) -> Any: ...


class BackendOps(abc.ABC):
    """What both backends inherit: the convolution gradients for every ``padding_mode`` and ``flip_kernel``.

    A backend supplies the zero-padding gradients (:meth:`grad_input_zeros`, :meth:`grad_weight_zeros`) and
    its window plans; a ``'reflect'`` / ``'replicate'`` / ``'circular'`` layer is then the zero-padding layer
    (padding 0) on the padded frame (:mod:`convalg.kernels.padding`), its input gradient folded back by the
    frame's adjoint.
    """

    #: The backend's name in error messages, and the algorithms it runs (a subset of :data:`ALGORITHMS`).
    name: ClassVar[str]
    algorithms: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, name: str = "", algorithms: tuple[str, ...] = (), **hooks: Any) -> None:
        """``class NumpyOps(BackendOps, name=..., algorithms=..., window_plan=f, grad_input_zeros=g, ...)``:
        the hooks given as plain functions of the backend module."""
        super().__init_subclass__()
        unknown = set(hooks) - {"window_plan", "grad_input_zeros", "grad_weight_zeros"}
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown BackendOps hooks {sorted(unknown)}")
        cls.name, cls.algorithms = name or cls.__name__, algorithms or ALGORITHMS
        for hook, fn in hooks.items():
            setattr(cls, hook, staticmethod(fn))

    def check_algorithm(self, algorithm: Any) -> str:
        """``algorithm`` if this backend runs it (:func:`check_algorithm`)."""
        return check_algorithm(algorithm, self.name, self.algorithms)

    @abc.abstractmethod
    def window_plan(self, layer: Conv, spatial: tuple[int, ...]) -> Frame:
        """The window plan of ``layer`` at ``spatial`` (its ``extent``, ``inside`` and ``pad_index``)."""

    @abc.abstractmethod
    def grad_input_zeros(self, grad_out: Any, weight: Any, input_shape: tuple[int, ...], stride: Any, padding: Any,
                         dilation: Any, groups: int, algorithm: str) -> Any:
        """The input gradient of the zero-padding convolution."""

    @abc.abstractmethod
    def grad_weight_zeros(self, x: Any, grad_out: Any, weight_shape: tuple[int, ...], stride: Any, padding: Any,
                          dilation: Any, groups: int, algorithm: str) -> Any:
        """The weight gradient of the zero-padding convolution."""

    def padded_frame(self, x_shape: Sequence[int], w_shape: Sequence[int], stride: Any, padding: Any, dilation: Any,
                     groups: int, padding_mode: str) -> Frame:
        """The window plan of the padded layer: ``extent`` (the frame its windows read), ``pad_index``."""
        layer = conv_layer(x_shape, w_shape, stride, padding, dilation, groups, padding_mode)
        spatial = tuple(int(v) for v in x_shape[2:])
        layer.output_shape(spatial)  # SpecError for a padding the mode cannot make (reflect: pad < n)
        return self.window_plan(layer, spatial)

    def conv_grad_input(self, grad_out: Any, weight: Any, input_shape: Sequence[int], stride: Any = 1,
                        padding: Any = 0, dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                        flip_kernel: bool = False, algorithm: str = "auto") -> Any:
        """Gradient of ``conv`` w.r.t. its input of shape ``input_shape`` (``P^T`` of the frame's gradient for a
        non-zero ``padding_mode``)."""
        algorithm = self.check_algorithm(algorithm)
        shape = tuple(int(v) for v in input_shape)
        if flip_kernel:
            weight = flip_spatial(weight)
        if padding_mode == "zeros":
            return self.grad_input_zeros(grad_out, weight, shape, stride, padding, dilation, groups, algorithm)
        frame = self.padded_frame(shape, weight.shape, stride, padding, dilation, groups, padding_mode)
        grad_frame = self.grad_input_zeros(grad_out, weight, (*shape[:2], *frame.extent), stride, 0, dilation, groups,
                                           algorithm)
        return unpad_adjoint(grad_frame, frame)

    def conv_grad_weight(self, x: Any, grad_out: Any, weight_shape: Sequence[int], stride: Any = 1,
                         padding: Any = 0, dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                         flip_kernel: bool = False, algorithm: str = "auto") -> Any:
        """Gradient of ``conv`` w.r.t. a weight of shape ``weight_shape`` (the correlation of the padded frame
        with ``grad_out``; flipped for ``flip_kernel``)."""
        algorithm = self.check_algorithm(algorithm)
        shape = tuple(int(v) for v in weight_shape)
        if padding_mode == "zeros":
            dw = self.grad_weight_zeros(x, grad_out, shape, stride, padding, dilation, groups, algorithm)
        else:
            frame = self.padded_frame(x.shape, shape, stride, padding, dilation, groups, padding_mode)
            dw = self.grad_weight_zeros(pad_frame(x, frame), grad_out, shape, stride, 0, dilation, groups, algorithm)
        return flip_spatial(dw) if flip_kernel else dw
