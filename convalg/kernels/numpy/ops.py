"""NumPy backend of :mod:`convalg.functional` (same names and signatures).

Arguments arrive validated by :mod:`convalg.functional` (C-contiguous float32 /
float64 arrays of matching dtype, consistent shapes); each op builds its layer
spec (cached on the argument values), takes the cached plan and runs it.

>>> import numpy as np
>>> x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
>>> conv(x, np.ones((1, 1, 2, 2)), stride=2).tolist()
[[[[10.0, 18.0], [42.0, 50.0]]]]
>>> max_pool(x, 2, return_indices=True)[1].tolist()
[[[[5, 7], [13, 15]]]]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import SpecError
from ...spec.conv import Conv, ConvTranspose
from .. import base, cache
from ..arrays import all_finite, flip_spatial
from ..base import ALGORITHMS, BackendOps, conv_layer, conv_transpose_layer, finite_algorithm
from . import fft as fftmod
from . import gemm, memory, polyphase, pool, scatter, winograd
from .conv import conv_plan, gather_layer, gather_weight, upsample
from .plan import WindowPlan, pad_input, sliding_plan, window_plan, window_view

__all__ = ["conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "max_pool",
           "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool", "unfold", "fold",
           "NumpyOps", "OPS"]


_NAMES = {np.dtype(t): np.dtype(t).name for t in (np.float16, np.float32, np.float64)}


def _dtype_name(a: np.ndarray) -> str:
    return _NAMES.get(a.dtype) or a.dtype.name


def _by_id(fn: Any, obj: Any, *rest: Any) -> Any:
    """``fn(obj, *rest)`` memoised on ``obj``'s identity (the layers come from cached constructors, so
    this skips re-hashing the layer on every call; the entry keeps ``obj`` alive, so ids are not reused)."""
    return cache.cached("by_id", _keep, fn, id(obj), obj, *rest)[1]


class _Kept(tuple):
    """``(obj, fn(obj, ...))``: keyed on ``id(obj)``, holding ``obj`` so the id is not reused while cached."""

    @property
    def nbytes(self) -> int:
        return cache.weight(self[1])


def _keep(fn: Any, _ident: int, obj: Any, *rest: Any) -> _Kept:
    return _Kept((obj, fn(obj, *rest)))


def _add_bias(y: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is not None:
        y += bias.reshape(1, -1, *[1] * (y.ndim - 2)).astype(y.dtype)
    return y


def conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: Any = 1, padding: Any = 0,
         dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False,
         algorithm: str = "auto") -> np.ndarray:
    """N-d convolution (cross-correlation unless ``flip_kernel``), PyTorch's ``conv{1,2,3}d``."""
    algorithm = OPS.check_algorithm(algorithm)
    layer = conv_layer(x.shape, weight.shape, stride, padding, dilation, groups, padding_mode)
    if flip_kernel:
        weight = flip_spatial(weight)
    plan = _finite_plan(layer, tuple(x.shape), _dtype_name(x), algorithm, x, weight)
    memory.require((x.shape[0], weight.shape[0], *plan.window.output_shape), x.dtype, "conv output")
    return _add_bias(plan(x, weight), bias)


def _finite_plan(layer: Any, shape: tuple[int, ...], dtype: str, algorithm: str, *arrays: np.ndarray) -> Any:
    """The (cached) conv plan, or the ``gemm`` plan where :func:`~convalg.kernels.base.finite_algorithm` says
    the chosen transform meets NaN / inf among ``arrays``."""
    plan = _by_id(conv_plan, layer, shape, dtype, algorithm)
    fallback = finite_algorithm(plan.algorithm, *arrays)
    return plan if fallback == plan.algorithm else conv_plan(layer, shape, dtype, fallback)


def conv_transpose(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: Any = 1,
                   padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                   algorithm: str = "auto") -> np.ndarray:
    """N-d transposed convolution (weight ``(Cin, Cout/G, *k)``) in gather form."""
    algorithm = OPS.check_algorithm(algorithm)
    layer = conv_transpose_layer(x.shape, weight.shape, stride, padding, output_padding, groups, dilation)
    strided = algorithm in ("auto", "gemm") and any(v > 1 for v in layer.stride)
    # the scatter form: the gather form multiplies inserted / padded zeros with the weight (0 * nan), and with
    # stride s it runs on s**ndim times the input (see docs/performance.md, "Cost-model measurements")
    if strided or not all_finite(weight):
        out = tuple(int(v) for v in layer.output_shape(x.shape[2:]))
        # the ConvTranspose weight (Cin, Cout/G, *k) is the transposed Conv's weight (Cout', Cin'/G, *k) as it is
        y = scatter.transposed_conv(x, weight, _scattered_window(layer, out), groups, out)
        return _add_bias(y, bias)
    return _transpose_run(x, weight, bias, layer, algorithm)


def _scattered_window(layer: ConvTranspose, out: tuple[int, ...]) -> WindowPlan:
    """The windows of the convolution whose adjoint ``layer`` is, at ``layer``'s output size ``out``:
    the plan its input is scattered through."""
    return sliding_plan(out, layer.kernel_size, layer.stride, layer.dilation, layer.padding)


def _transpose_run(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, layer: ConvTranspose,
                   algorithm: str) -> np.ndarray:
    conv_layer_, factors = _by_id(gather_layer, layer, tuple(x.shape[2:]))
    xu = upsample(x, factors)
    plan = _finite_plan(conv_layer_, tuple(xu.shape), _dtype_name(x), algorithm, x, weight)
    return _add_bias(plan(xu, gather_weight(weight, layer.groups)), bias)


def _spatial(shape: Any, ndim: int) -> tuple[int, ...]:
    shape = tuple(int(v) for v in shape)
    return shape[-ndim:]


def _grad_input(grad_out: np.ndarray, weight: np.ndarray, input_shape: tuple[int, ...], stride: Any, padding: Any,
                dilation: Any, groups: int, algorithm: str) -> np.ndarray:
    """Gradient of :func:`conv` (zero padding) w.r.t. its input: the exact transposed convolution."""
    nd = grad_out.ndim - 2
    spatial = _spatial(input_shape, nd)
    layer = conv_layer((grad_out.shape[0], weight.shape[1] * groups, *spatial), weight.shape, stride, padding,
                       dilation, groups)
    if (algorithm in ("auto", "gemm") and any(s > 1 for s in layer.stride)) or not all_finite(weight):
        # the scatter form: no inserted zeros to multiply (strided), no 0 * nan (non-finite weight)
        return _grad_input_col2im(grad_out, weight, layer, spatial)
    transposed = _by_id(_transposed, layer, spatial)
    if algorithm == "auto" and _by_id(_scatter_cheaper, transposed, tuple(grad_out.shape), _dtype_name(grad_out)):
        return _grad_input_col2im(grad_out, weight, layer, spatial)
    return _transpose_run(grad_out, weight, None, transposed, algorithm)


def _scatter_cheaper(transposed: ConvTranspose, grad_shape: tuple[int, ...], dtype: str) -> bool:
    """Stride 1, ``'auto'``: the scatter form (:func:`.scatter.transposed_conv`, BLAS reads ``W^T`` in place)
    instead of the gather form when the latter would run GEMM and its flipped, channel-swapped weight copy has
    more than twice the elements the scatter adds (``N * Cin * K * L``): below that the gather form's one GEMM
    beats the scatter form's strided per-tap adds (docs/performance.md, "Cost-model measurements")."""
    conv_layer_, factors = gather_layer(transposed, tuple(grad_shape[2:]))
    shape = (grad_shape[0], grad_shape[1], *[f * (n - 1) + 1 for f, n in zip(factors, grad_shape[2:])])
    if conv_plan(conv_layer_, shape, dtype, "auto").algorithm != "gemm":
        return False
    taps = math.prod(transposed.kernel_size)
    weight_elements = transposed.in_channels * (transposed.out_channels // transposed.groups) * taps
    fold_elements = grad_shape[0] * transposed.out_channels * taps * math.prod(grad_shape[2:])
    return weight_elements > 2 * fold_elements


def _transposed(layer: Conv, spatial: tuple[int, ...]) -> ConvTranspose:
    return layer.transpose(spatial)


def _grad_input_col2im(grad_out: np.ndarray, weight: np.ndarray, layer: Conv, spatial: tuple[int, ...]) -> np.ndarray:
    """Input gradient in scatter form, ``W_k^T @ gy`` added back per live tap (chunks of taps, bounded memory):
    no ``stride**ndim`` inserted zeros, no padded zeros multiplied by the weight."""
    return scatter.transposed_conv(grad_out, weight, window_plan(layer, spatial), layer.groups, spatial)


def _grad_weight(x: np.ndarray, grad_out: np.ndarray, weight_shape: tuple[int, ...], stride: Any, padding: Any,
                 dilation: Any, groups: int, algorithm: str) -> np.ndarray:
    """Gradient of :func:`conv` (zero padding) w.r.t. the weight: correlation of the input with the output
    gradient.

    ``'fft'`` correlates in the frequency domain (overlap-save tiles); ``'winograd'``
    uses F(r, m) (:func:`~convalg.kernels.numpy.winograd.weight_grad_winograd`); ``'gemm'``
    the chunked im2col GEMM; ``'direct'`` one GEMM per tap on shifted views when the
    stride is 1 (im2col otherwise).  ``'auto'`` follows the forward plan's choice.
    """
    layer = conv_layer(x.shape, weight_shape, stride, padding, dilation, groups)
    plan = _finite_plan(layer, tuple(x.shape), _dtype_name(x), algorithm, x, grad_out)
    return _weight_grad(plan, x, grad_out)


def _weight_grad(plan: Any, x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """The weight gradient by ``plan``'s algorithm (``x`` unpadded)."""
    window, groups = plan.window, plan.layer.groups
    if plan.inner is not None:  # dilated: the inner algorithm on the phases (batch sum over phases too)
        xs = polyphase.split(pad_input(x, window, plan.extent, slot="padded"), plan.phases)
        return _weight_grad(plan.inner, xs, polyphase.split_output(grad_out, window, plan.phases))
    if plan.algorithm == "fft":
        if plan.tiles is not None:
            return fftmod.weight_grad_fft_tiled(pad_input(x, window, plan.extent, slot="padded"), grad_out, window, groups,
                                                plan.tiles)
        return fftmod.weight_grad_fft(pad_input(x, window, slot="padded"), grad_out, window, groups)
    if plan.algorithm == "winograd":
        return winograd.weight_grad_winograd(pad_input(x, window, plan.extent, slot="padded"), grad_out, window, groups)
    one_by_one = math.prod(window.kernel) == 1
    if plan.algorithm != "gemm" and all(s == 1 for s in window.step) and not one_by_one and all_finite(x):
        # (the taps form lays gy on the padded pitch: its filler zeros would meet an inf of x as 0 * inf)
        return gemm.weight_grad_taps(pad_input(x, window, gemm.taps_extent(window), slot="padded"), grad_out, window, groups)
    return gemm.weight_grad_im2col(pad_input(x, window, slot="padded"), grad_out, window, groups)


class NumpyOps(BackendOps, name="numpy", algorithms=ALGORITHMS, window_plan=window_plan, grad_input_zeros=_grad_input,
               grad_weight_zeros=_grad_weight):
    """The NumPy backend on :class:`~convalg.kernels.base.BackendOps`: its zero-padding gradients and window
    plans; the padding modes and ``flip_kernel`` come from the base."""


#: The backend object, whose methods are this module's :func:`conv_grad_input` and :func:`conv_grad_weight`.
OPS = NumpyOps()
conv_grad_input, conv_grad_weight = OPS.conv_grad_input, OPS.conv_grad_weight


def conv_grad_bias(grad_out: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. the bias: the output gradient summed over batch and space."""
    axes = (0, *range(2, grad_out.ndim))
    wide = np.float64 if grad_out.dtype.itemsize == 8 else np.float32  # by size: '>f8' is float64 too
    return grad_out.sum(axis=axes, dtype=wide).astype(grad_out.dtype)


def max_pool(x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """N-d max pooling; indices are flat per ``(N, C)`` plane, first maximum wins, NaN propagates."""
    layer = base.max_pool_layer(x.ndim - 2, kernel_size, stride, padding, dilation, ceil_mode)
    y, idx = pool.max_pool(x, window_plan(layer, tuple(x.shape[2:])), return_indices)
    return (y, idx) if return_indices else y


def max_pool_grad(grad_out: np.ndarray, indices: np.ndarray, input_shape: Any) -> np.ndarray:
    """Gradient of max pooling w.r.t. its input (``input_shape`` = full ``(N, C, *spatial)``)."""
    return pool.max_pool_grad(grad_out, indices, tuple(int(v) for v in input_shape))


def avg_pool(x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> np.ndarray:
    """N-d average pooling (PyTorch divisor rules)."""
    layer = base.avg_pool_layer(x.ndim - 2, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return pool.avg_pool(x, window_plan(layer, tuple(x.shape[2:]), count_include_pad), divisor_override)


def avg_pool_grad(grad_out: np.ndarray, input_shape: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                  ceil_mode: bool = False, count_include_pad: bool = True,
                  divisor_override: int | None = None) -> np.ndarray:
    """Gradient of :func:`avg_pool` w.r.t. its input (the transposed window sum)."""
    nd = grad_out.ndim - 2
    layer = base.avg_pool_layer(nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    plan = window_plan(layer, _spatial(input_shape, nd), count_include_pad)
    return pool.avg_pool_grad(grad_out, plan, divisor_override)


def _adaptive_sizes(x: np.ndarray, output_size: Any, kind: str) -> tuple[int, ...]:
    """The output sizes of the adaptive pooling layer (``None`` entries keep the input's size)."""
    layer = base.adaptive_pool_layer(kind, x.ndim - 2, output_size)
    return tuple(int(v) for v in layer.output_shape(tuple(x.shape[2:])))


def adaptive_avg_pool(x: np.ndarray, output_size: Any) -> np.ndarray:
    """Adaptive average pooling (``None`` entries keep that size)."""
    return pool.adaptive_avg_pool(x, _adaptive_sizes(x, output_size, "adaptive_avg_pool"))


def adaptive_max_pool(x: np.ndarray, output_size: Any, return_indices: bool = False) -> Any:
    """Adaptive max pooling with flat per-plane indices."""
    y, idx = pool.adaptive_max_pool(x, _adaptive_sizes(x, output_size, "adaptive_max_pool"))
    return (y, idx) if return_indices else y


def unfold(x: np.ndarray, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> np.ndarray:
    """Sliding windows as columns ``(N, C*prod(k), L)`` (``torch.nn.functional.unfold``, N-d)."""
    nd = x.ndim - 2
    plan = window_plan(base.window_layer(nd, kernel_size, dilation, padding, stride), tuple(x.shape[2:]))
    length = math.prod(plan.output_shape)
    if x.shape[0] * x.shape[1] == 0:
        return np.zeros((x.shape[0], x.shape[1] * math.prod(plan.kernel), length), dtype=x.dtype)
    view = window_view(pad_input(x, plan), plan)
    order = (0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))
    return view.transpose(order).reshape(x.shape[0], -1, length)


def fold(cols: np.ndarray, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> np.ndarray:
    """Adjoint of :func:`unfold`: columns summed back into ``(N, C, *output_size)``."""
    spatial = tuple(int(v) for v in (output_size if isinstance(output_size, (tuple, list)) else (output_size,)))
    plan = window_plan(base.window_layer(len(spatial), kernel_size, dilation, padding, stride), spatial)
    n = cols.shape[0]
    ktot, length = int(np.prod(plan.kernel)), int(np.prod(plan.output_shape))
    if cols.shape[1] % ktot or cols.shape[2] != length:
        raise SpecError(f"cols: shape {tuple(cols.shape)} needs C*{ktot} rows and {length} columns "
                        f"(the windows of output_size {spatial})")
    c = cols.shape[1] // ktot
    blocks = cols.reshape(n, c, *plan.kernel, *plan.output_shape)
    out = np.zeros((n, c, *spatial), dtype=cols.dtype)
    return scatter.add_taps(out, lambda _t, k: blocks[(slice(None), slice(None), *k)], plan)
