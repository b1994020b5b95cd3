"""CuPy implementations of the ``convalg.functional`` operators, through generated CUDA kernels.

Same names and signatures as :mod:`convalg.reference` (plus ``algorithm=`` on the
convolution passes and ``unfold``/``fold``).  Arrays: ``cupy.ndarray``, float32,
batched channels-first ``(N, C, *spatial)``; outputs are new C-contiguous arrays.

==================  ===========================================================================
``algorithm``       kernel
==================  ===========================================================================
``'auto'``          :func:`convalg.kernels.cuda.cost.choose` (uncalibrated cost model)
``'gemm'``          tiled implicit GEMM (tile from the cost model)
``'direct'``        fwd: per-output direct kernel (depthwise/grouped/dilated/padding modes);
                    bwd_data: gather kernel; bwd_weight: one block per weight element
``'fft'``           ``padding_mode='zeros'``: cupy.fft, channel (or batch) sum per frequency;
                    with NaN / inf input a guarded ``'gemm'`` kernel redoes the pass (the rule
                    of :func:`convalg.kernels.base.finite_algorithm`, decided on the device, no
                    host sync; kept element-wise, as PyTorch)
``'winograd'``      none: :class:`~convalg.SpecError` naming the algorithm and the backend
==================  ===========================================================================

Determinism: every pass is gather-form or a fixed-order reduction (no atomics), so
repeated calls give bitwise-equal results.

Plans (index map -> generated source -> compiled function) are cached on the layer
spec (hashable), the input sizes, the batch size and the pass, in the kernels' byte-bounded
cache (:mod:`convalg.kernels.cache`, shared with the NumPy plans).  Layers come from the
one call -> layer builder, :func:`convalg.kernels.base.conv_layer`; the padding modes and
``flip_kernel`` of the gradients from :class:`convalg.kernels.base.BackendOps`.

>>> layer = conv_layer((2, 8, 9, 9), (16, 4, 3, 3), True, 1, 1, 1, 2)
>>> layer.groups, layer.output_shape((9, 9))
(2, (9, 9))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ...errors import SpecError
from ...index_map import IndexMap
from ...spec import Conv
from .. import base, cache
from ..base import BackendOps, conv_transpose_layer
from ..numpy.plan import window_plan
from ..numpy.pool import check_windows
from . import cost, direct, fft, igemm, pool, runtime
from .fft import fft_conv, fft_conv_grad_input, fft_conv_grad_weight, nonfinite_flag, quiet_fp
from .runtime import backend

__all__ = ["clear_caches", "conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "max_pool",
           "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool", "unfold", "fold",
           "conv_layer", "ALGORITHMS", "CudaOps", "OPS", "CudaPlan"]

#: The algorithms of :data:`convalg.kernels.base.ALGORITHMS` this backend runs (no Winograd kernels).
ALGORITHMS = ("auto", "direct", "gemm", "fft")


def _xp() -> Any:
    """The array module of the active backend (CuPy, or NumPy under the host shim)."""
    return backend().xp


def launch(ks: Any, count: int, *arrays: Any) -> None:
    backend().launch(ks, count, *arrays)


def _check_x(name: str, a: Any, rank: int | None = None) -> None:
    cp = _xp()
    if not isinstance(a, cp.ndarray):
        raise TypeError(f"{name}: expected a {cp.__name__}.ndarray, got {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{name}: dtype {a.dtype}; the CUDA kernels take float32")
    if a.ndim < 3 or (rank is not None and a.ndim != rank):
        raise SpecError(f"{name}.shape={a.shape}: must be (N, C, *spatial)"
                        + (f" with {rank - 2} spatial dims" if rank else ""))


def _c(a: Any) -> Any:
    return _xp().ascontiguousarray(a)


def conv_layer(x_shape: Sequence[int], w_shape: Sequence[int], has_bias: bool, stride: Any, padding: Any,
               dilation: Any, groups: int, padding_mode: str = "zeros", flip_kernel: bool = False) -> Conv:
    """The :class:`convalg.Conv` of a PyTorch-style call (:func:`convalg.kernels.base.conv_layer`)."""
    return base.conv_layer(x_shape, w_shape, stride, padding, dilation, groups, padding_mode,
                           (int(w_shape[0]),) if has_bias else None, flip_kernel)


class CudaPlan(NamedTuple):
    """A pass ready to launch: ``algorithm`` (for a pool kernel: its generator), the index map, the generated
    kernel (for ``'fft'``: the guarded implicit GEMM that redoes the pass on non-finite input), split-K slices.
    Its weight in the kernels' cache (``nbytes``) is the generated source and a bound for the index map."""

    algorithm: str
    imap: IndexMap
    kernel: Any
    splits: int = 1

    nbytes = property(lambda self: len(getattr(self.kernel, "code", "")) + 8192)


def _conv_plan(layer: Any, spatial: tuple[int, ...], conv_pass: str, n_batch: int, algorithm: str) -> CudaPlan:
    """The plan of ``conv_pass`` (``fwd``, ``bwd_data``, ``bwd_weight``) of ``layer`` at ``spatial`` (a
    ConvTranspose runs as the ``bwd_data`` pass of its conv)."""
    base.check_algorithm(algorithm, "cuda", ALGORITHMS)
    return cache.cached("cuda_conv_plan", _make_conv_plan, layer, tuple(spatial), conv_pass, n_batch, algorithm)


def _make_conv_plan(layer: Any, spatial: tuple[int, ...], conv_pass: str, n_batch: int, algorithm: str) -> CudaPlan:
    imap = layer.index_map(spatial)
    transposed = imap.transposed
    c_in, c_out = (layer.out_channels, layer.in_channels) if transposed else (layer.in_channels, layer.out_channels)
    choice = cost.choose(imap, c_in, c_out, layer.groups, n_batch, conv_pass, gemm_only=algorithm == "gemm")
    algo = choice.algorithm if algorithm == "auto" else algorithm
    if algo == "fft" and imap.padding_mode != "zeros":
        raise SpecError(f"algorithm='fft': padding_mode='zeros' only (got {imap.padding_mode!r})")
    tile, splits = choice.tile, choice.splits
    has_bias = (conv_pass == "fwd" or transposed) and layer.bias
    if algo in base.TRANSFORMS:
        # with the kernel of base.NONFINITE_FALLBACK ('gemm'), which redoes the pass when an input is not finite
        # (base.finite_algorithm's rule, decided on the device: no host sync)
        fb = cost.choose(imap, c_in, c_out, layer.groups, n_batch, conv_pass, gemm_only=True)
        return CudaPlan(algo, imap, igemm.igemm(imap, conv_pass, c_in, c_out, layer.groups, has_bias, fb.tile,
                                                fb.splits, guarded=True), fb.splits)
    if algo == "gemm":
        return CudaPlan("gemm", imap, igemm.igemm(imap, conv_pass, c_in, c_out, layer.groups, has_bias, tile, splits),
                        splits)
    if conv_pass == "fwd":
        return CudaPlan("direct", imap, direct.direct_conv(imap, c_in, c_out, layer.groups, has_bias))
    if conv_pass == "bwd_data":
        return CudaPlan("direct", imap, direct.gather_conv(imap, c_out, c_in, layer.groups, has_bias))
    return CudaPlan("direct", imap, direct.wgrad_direct(imap, c_in, c_out, layer.groups))


def _bias_arg(bias: Any, channels: int) -> Any:
    cp = _xp()
    if bias is None:
        return cp.zeros(1, dtype=np.float32)
    _check_x_like("bias", bias)
    if bias.shape != (channels,):
        raise SpecError(f"bias.shape={bias.shape}: must be ({channels},)")
    return _c(bias)


def _check_x_like(name: str, a: Any) -> None:
    cp = _xp()
    if not isinstance(a, cp.ndarray) or a.dtype != np.float32:
        raise TypeError(f"{name}: expected a float32 {cp.__name__}.ndarray")


def conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
         groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False, algorithm: str = "auto") -> Any:
    """Forward convolution (cross-correlation unless ``flip_kernel``), PyTorch semantics."""
    _check_x("x", x)
    _check_x("weight", weight, x.ndim)
    layer = conv_layer(x.shape, weight.shape, bias is not None, stride, padding, dilation, groups, padding_mode,
                       flip_kernel)
    p = _conv_plan(layer, tuple(x.shape[2:]), "fwd", x.shape[0], algorithm)
    out_shape = (x.shape[0], weight.shape[0], *p.imap.output_shape)
    return _run_pass(p, x, weight, bias, out_shape, lambda: fft_conv(_xp(), x, weight, bias, p.imap,
                                                                     layer.groups))


def _run_bwd_data(layer: Any, spatial: tuple[int, ...], dy: Any, weight: Any, bias: Any, out_shape: tuple[int, ...],
                  algorithm: str) -> Any:
    p = _conv_plan(layer, spatial, "bwd_data", dy.shape[0], algorithm)

    def transform() -> Any:
        out = fft_conv_grad_input(_xp(), dy, weight, p.imap, layer.groups, out_shape).astype(np.float32,
                                                                                                   copy=False)
        if bias is not None:
            out += bias.reshape((1, out_shape[1]) + (1,) * (len(out_shape) - 2))
        return out

    return _run_pass(p, dy, weight, bias, out_shape, transform)


def _run_pass(p: CudaPlan, inp: Any, weight: Any, bias: Any, out_shape: tuple[int, ...], transform: Any) -> Any:
    """A ``fwd`` / ``bwd_data`` pass into a new output; for ``'fft'`` the output of ``transform()``, which the
    guarded implicit GEMM redoes on the device where an input is not finite."""
    b = _bias_arg(bias, out_shape[1])
    if p.algorithm == "fft":
        with quiet_fp():  # NaN / inf input (replaced by the guarded kernel): the host shim's NumPy FFT would warn
            out = transform()
        _launch_pass(p, inp, weight, b, out, nonfinite_flag(_xp(), inp, weight))
        return out
    out = _xp().empty(out_shape, dtype=np.float32)
    _launch_pass(p, inp, weight, b, out)
    return out


def _launch_pass(p: CudaPlan, inp: Any, weight: Any, b: Any, out: Any, *guard: Any) -> None:
    """``p``'s kernel over the batch of ``inp`` (the implicit GEMM reads the weight first, the direct kernels the
    input)."""
    first, second = (inp, weight) if p.algorithm == "direct" else (weight, inp)
    launch(p.kernel, inp.shape[0], _c(first), _c(second), b, out, *guard)


def conv_transpose(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, groups: int = 1, dilation: Any = 1, algorithm: str = "auto") -> Any:
    """Transposed convolution (weight ``(C_in, C_out/G, *k)``), the gather form of the map read backwards."""
    _check_x("x", x)
    _check_x("weight", weight, x.ndim)
    layer = conv_transpose_layer(x.shape, weight.shape, stride, padding, output_padding, groups, dilation,
                                 None if bias is None else (weight.shape[1] * groups,))
    spatial = tuple(x.shape[2:])
    out = layer.output_shape(spatial)
    return _run_bwd_data(layer, spatial, x, weight, bias, (x.shape[0], layer.out_channels, *out), algorithm)


def _grad_input(grad_out: Any, weight: Any, input_shape: tuple[int, ...], stride: Any, padding: Any, dilation: Any,
                groups: int, algorithm: str) -> Any:
    """Input gradient of :func:`conv` (zero padding; gather form: ``gather_output`` under ``gather_condition``)."""
    _check_x("grad_out", grad_out)
    _check_x("weight", weight, grad_out.ndim)
    layer = conv_layer(input_shape, weight.shape, False, stride, padding, dilation, groups)
    spatial = input_shape[2:]
    expect = (input_shape[0], weight.shape[0], *layer.output_shape(spatial))
    if tuple(grad_out.shape) != expect:
        raise SpecError(f"grad_out.shape={grad_out.shape}: the forward output shape is {expect}")
    return _run_bwd_data(layer, spatial, grad_out, weight, None, input_shape, algorithm)


def _grad_weight(x: Any, grad_out: Any, weight_shape: tuple[int, ...], stride: Any, padding: Any, dilation: Any,
                 groups: int, algorithm: str) -> Any:
    """Weight gradient of :func:`conv` (zero padding), a correlation of ``x`` with ``grad_out``.

    Reduction over (batch, output positions): ``gemm`` splits it into fixed slices
    (partial sums in a buffer, then summed in slice order); ``direct`` reduces in
    one block per weight element.  Both deterministic, no atomics.
    """
    _check_x("x", x)
    _check_x("grad_out", grad_out, x.ndim)
    layer = conv_layer(x.shape, weight_shape, False, stride, padding, dilation, groups)
    spatial = tuple(x.shape[2:])
    expect = (x.shape[0], weight_shape[0], *layer.output_shape(spatial))
    if tuple(grad_out.shape) != expect:
        raise SpecError(f"grad_out.shape={grad_out.shape}: the forward output shape is {expect}")
    cp = _xp()
    p = _conv_plan(layer, spatial, "bwd_weight", x.shape[0], algorithm)
    if p[0] == "direct":
        dw = cp.empty(weight_shape, dtype=np.float32)
        launch(p[2], x.shape[0], _c(x), _c(grad_out), dw)
        return dw
    guard = (nonfinite_flag(_xp(), x, grad_out),) if p[0] == "fft" else ()  # fft: guarded gemm after it
    if guard:
        with quiet_fp():
            dw = fft_conv_grad_weight(cp, x, grad_out, p[1], layer.groups, weight_shape).astype(np.float32,
                                                                                                 copy=False)
    else:
        dw = cp.empty(weight_shape, dtype=np.float32)
    splits = p[3]
    part = cp.empty((splits, *weight_shape), dtype=np.float32)
    launch(p[2], x.shape[0], _c(grad_out), _c(x), cp.zeros(1, dtype=np.float32), part, *guard)
    launch(igemm.splitk_sum(math.prod(weight_shape), splits, guarded=bool(guard)), 1, part, dw, *guard)
    return dw


class CudaOps(BackendOps, name="cuda", algorithms=ALGORITHMS, window_plan=window_plan, grad_input_zeros=_grad_input,
              grad_weight_zeros=_grad_weight):
    """The CUDA backend on :class:`~convalg.kernels.base.BackendOps`: its zero-padding gradients and window
    plans; the padding modes and ``flip_kernel`` come from the base."""


#: The backend object, whose methods are this module's :func:`conv_grad_input` and :func:`conv_grad_weight`.
OPS = CudaOps()
conv_grad_input, conv_grad_weight = OPS.conv_grad_input, OPS.conv_grad_weight


def conv_grad_bias(grad_out: Any) -> Any:
    """Bias gradient: the sum over batch and spatial axes (CuPy's fixed-order reduction)."""
    _check_x("grad_out", grad_out)
    return grad_out.sum(axis=(0, *range(2, grad_out.ndim)))


def _planes(x: Any) -> tuple[int, int]:
    return x.shape[0] * x.shape[1], x.ndim - 2


def _pool_kernel(layer: Any, spatial: tuple[int, ...], which: str, *extra: Any) -> tuple[IndexMap, Any]:
    """The index map and the generated kernel ``pool.<which>`` of ``layer`` at ``spatial`` (cached by bytes)."""
    p = cache.cached("cuda_pool_kernel", _make_pool_kernel, layer, tuple(spatial), which, *extra)
    return p.imap, p.kernel


def _make_pool_kernel(layer: Any, spatial: tuple[int, ...], which: str, *extra: Any) -> CudaPlan:
    imap = layer.index_map(spatial)
    return CudaPlan(which, imap, getattr(pool, which)(imap, *extra))


def max_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max pooling; first maximum wins ties, NaN propagates; int64 indices per (N, C) plane."""
    _check_x("x", x)
    cp = _xp()
    planes, nd = _planes(x)
    layer = base.max_pool_layer(nd, kernel_size, stride, padding, dilation, ceil_mode)
    check_windows(window_plan(layer, tuple(x.shape[2:])))  # a window with no input has no maximum
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "max_pool")
    y = cp.empty((*x.shape[:2], *imap.output_shape), dtype=np.float32)
    idx = cp.empty(y.shape, dtype=np.int64)
    launch(ks, planes, _c(x), y, idx)
    return (y, idx) if return_indices else y


def max_pool_grad(grad_out: Any, indices: Any, input_shape: Sequence[int], kernel_size: Any = None,
                  stride: Any = None, padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> Any:
    """Max-pool gradient: ``dx[idx] += dy``, deterministic.

    With the window geometry (``kernel_size`` ...) it is a generated gather kernel;
    without it, the indices are sorted (stable) and each input sums its segment in order.
    """
    _check_x("grad_out", grad_out)
    cp = _xp()
    input_shape = tuple(int(s) for s in input_shape)
    if not isinstance(indices, cp.ndarray) or indices.shape != grad_out.shape:
        raise SpecError(f"indices: must be an integer array shaped like grad_out {grad_out.shape}")
    indices = _c(indices.astype(np.int64, copy=False))
    planes = input_shape[0] * input_shape[1]
    dx = cp.empty(input_shape, dtype=np.float32)
    if kernel_size is not None:
        layer = base.max_pool_layer(len(input_shape) - 2, kernel_size, stride, padding, dilation, ceil_mode)
        imap, ks = _pool_kernel(layer, input_shape[2:], "max_pool_grad")
        if tuple(grad_out.shape[2:]) != tuple(imap.output_shape):
            raise SpecError(f"grad_out.shape={grad_out.shape}: the pooling output is {imap.output_shape}")
        launch(ks, planes, _c(grad_out), indices, dx)
        return dx
    items = math.prod(input_shape[2:])
    per_plane = math.prod(grad_out.shape[2:])
    target = (cp.arange(planes, dtype=np.int64)[:, None] * items + indices.reshape(planes, per_plane)).ravel()
    # unique keys (target, position): the segment order is fixed whatever the sort's stability
    n_out = target.size
    order = cp.argsort(target * n_out + cp.arange(n_out, dtype=np.int64)).astype(np.int64)
    start = cp.searchsorted(target[order], cp.arange(planes * items + 1, dtype=np.int64)).astype(np.int64)
    launch(pool.segment_sum(items), planes, _c(grad_out), order, start, dx)
    return dx


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> Any:
    """Average pooling (PyTorch divisor rule, from ``AxisMap.window_size``)."""
    _check_x("x", x)
    planes, nd = _planes(x)
    layer = base.avg_pool_layer(nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "avg_pool", count_include_pad, divisor_override)
    y = _xp().empty((*x.shape[:2], *imap.output_shape), dtype=np.float32)
    launch(ks, planes, _c(x), y)
    return y


def avg_pool_grad(grad_out: Any, input_shape: Sequence[int], kernel_size: Any, stride: Any = None, padding: Any = 0,
                  ceil_mode: bool = False, count_include_pad: bool = True,
                  divisor_override: int | None = None) -> Any:
    """Average-pool gradient in gather form."""
    _check_x("grad_out", grad_out)
    input_shape = tuple(int(s) for s in input_shape)
    layer = base.avg_pool_layer(len(input_shape) - 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)
    imap, ks = _pool_kernel(layer, input_shape[2:], "avg_pool_grad", count_include_pad, divisor_override)
    if tuple(grad_out.shape) != (*input_shape[:2], *imap.output_shape):
        raise SpecError(f"grad_out.shape={grad_out.shape}: the pooling output is {(*input_shape[:2], *imap.output_shape)}")
    dx = _xp().empty(input_shape, dtype=np.float32)
    launch(ks, input_shape[0] * input_shape[1], _c(grad_out), dx)
    return dx


def _adaptive(x: Any, layer: Any, with_indices: bool) -> Any:
    cp = _xp()
    planes, _ = _planes(x)
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "adaptive_pool")
    y = cp.empty((*x.shape[:2], *imap.output_shape), dtype=np.float32)
    if with_indices:
        idx = cp.empty(y.shape, dtype=np.int64)
        launch(ks, planes, _c(x), y, idx)
        return y, idx
    launch(ks, planes, _c(x), y)
    return y


def adaptive_avg_pool(x: Any, output_size: Any) -> Any:
    """Adaptive average pooling (windows ``[floor(o n/m), ceil((o+1) n/m))``)."""
    _check_x("x", x)
    return _adaptive(x, base.adaptive_pool_layer("adaptive_avg_pool", x.ndim - 2, output_size), False)


def adaptive_max_pool(x: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Adaptive max pooling with the max-pool tie and NaN rules."""
    _check_x("x", x)
    y, idx = _adaptive(x, base.adaptive_pool_layer("adaptive_max_pool", x.ndim - 2, output_size), True)
    return (y, idx) if return_indices else y


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any:
    """im2col: ``(N, C, *n) -> (N, C * prod(k), L)`` (PyTorch ``F.unfold``, any number of spatial dims)."""
    _check_x("x", x)
    layer = base.window_layer(x.ndim - 2, kernel_size, dilation, padding, stride)
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "unfold", x.shape[1])
    k, L = math.prod(imap.kernel_size), math.prod(imap.output_shape)
    y = _xp().empty((x.shape[0], x.shape[1] * k, L), dtype=np.float32)
    launch(ks, x.shape[0], _c(x), y)
    return y


def fold(cols: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any:
    """col2im (sums overlaps), gather form: ``(N, C * prod(k), L) -> (N, C, *output_size)``."""
    _check_x_like("cols", cols)
    if cols.ndim != 3:
        raise SpecError(f"cols.shape={cols.shape}: must be (N, C * prod(kernel_size), L)")
    out = tuple(int(s) for s in (output_size if isinstance(output_size, (tuple, list)) else (output_size,)))
    layer = base.window_layer(len(out), kernel_size, dilation, padding, stride)
    imap = layer.index_map(out)
    k, L = math.prod(imap.kernel_size), math.prod(imap.output_shape)
    if cols.shape[1] % k or cols.shape[2] != L:
        raise SpecError(f"cols.shape={cols.shape}: needs dim 1 divisible by prod(kernel_size)={k} and dim 2 = L = {L}")
    channels = cols.shape[1] // k
    _, ks = _pool_kernel(layer, out, "fold", channels)
    y = _xp().empty((cols.shape[0], channels, *out), dtype=np.float32)
    launch(ks, cols.shape[0], _c(cols), y)
    return y


def clear_caches() -> None:
    """Drop the CUDA plans and pool kernels (the kernels' shared cache), the FFT frames and the compiled
    kernels (rebuilt on the next call).

    Called by :func:`convalg.kernels.clear_caches` when this module has been loaded.
    """
    cache.clear()
    for fn in (fft.slab_geometry, fft._frame):
        fn.cache_clear()
    runtime.clear_functions()
