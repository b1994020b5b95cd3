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

The pooling, unfold and fold ops live in :mod:`.pool_ops` and are importable from here (the
module is the backend :mod:`convalg.functional` dispatches to).

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
from typing import Any

import numpy as np

from ...errors import SpecError
from ...spec import Conv
from .. import base, cache
from ..base import BackendOps, conv_transpose_layer
from ..numpy.plan import window_plan
from . import cost, direct, fft, igemm, runtime
from .fft import fft_conv, fft_conv_grad_input, fft_conv_grad_weight, nonfinite_flag, quiet_fp
from .launching import CudaPlan, array_module, check_float32, check_x, contiguous, launch
from .pool_ops import (
    adaptive_avg_pool,
    adaptive_max_pool,
    avg_pool,
    avg_pool_grad,
    fold,
    max_pool,
    max_pool_grad,
    unfold,
)

__all__ = ["clear_caches", "conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "max_pool",
           "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool", "unfold", "fold",
           "conv_layer", "ALGORITHMS", "CudaOps", "OPS", "CudaPlan"]

#: The algorithms of :data:`convalg.kernels.base.ALGORITHMS` this backend runs (no Winograd kernels).
ALGORITHMS = ("auto", "direct", "gemm", "fft")


def conv_layer(x_shape: Sequence[int], w_shape: Sequence[int], has_bias: bool, stride: Any, padding: Any,
               dilation: Any, groups: int, padding_mode: str = "zeros", flip_kernel: bool = False) -> Conv:
    """The :class:`convalg.Conv` of a PyTorch-style call (:func:`convalg.kernels.base.conv_layer`)."""
    return base.conv_layer(x_shape, w_shape, stride, padding, dilation, groups, padding_mode,
                           (int(w_shape[0]),) if has_bias else None, flip_kernel)


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
    cp = array_module()
    if bias is None:
        return cp.zeros(1, dtype=np.float32)
    check_float32("bias", bias)
    if bias.shape != (channels,):
        raise SpecError(f"bias.shape={bias.shape}: must be ({channels},)")
    return contiguous(bias)


def conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
         groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False, algorithm: str = "auto") -> Any:
    """Forward convolution (cross-correlation unless ``flip_kernel``), PyTorch semantics."""
    check_x("x", x)
    check_x("weight", weight, x.ndim)
    layer = conv_layer(x.shape, weight.shape, bias is not None, stride, padding, dilation, groups, padding_mode,
                       flip_kernel)
    p = _conv_plan(layer, tuple(x.shape[2:]), "fwd", x.shape[0], algorithm)
    out_shape = (x.shape[0], weight.shape[0], *p.imap.output_shape)
    return _run_pass(p, x, weight, bias, out_shape, lambda: fft_conv(array_module(), x, weight, bias, p.imap,
                                                                     layer.groups))


def _run_bwd_data(layer: Any, spatial: tuple[int, ...], dy: Any, weight: Any, bias: Any, out_shape: tuple[int, ...],
                  algorithm: str) -> Any:
    p = _conv_plan(layer, spatial, "bwd_data", dy.shape[0], algorithm)

    def transform() -> Any:
        out = fft_conv_grad_input(array_module(), dy, weight, p.imap, layer.groups, out_shape).astype(np.float32,
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
        _launch_pass(p, inp, weight, b, out, nonfinite_flag(array_module(), inp, weight))
        return out
    out = array_module().empty(out_shape, dtype=np.float32)
    _launch_pass(p, inp, weight, b, out)
    return out


def _launch_pass(p: CudaPlan, inp: Any, weight: Any, b: Any, out: Any, *guard: Any) -> None:
    """``p``'s kernel over the batch of ``inp`` (the implicit GEMM reads the weight first, the direct kernels the
    input)."""
    first, second = (inp, weight) if p.algorithm == "direct" else (weight, inp)
    launch(p.kernel, inp.shape[0], contiguous(first), contiguous(second), b, out, *guard)


def conv_transpose(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, groups: int = 1, dilation: Any = 1, algorithm: str = "auto") -> Any:
    """Transposed convolution (weight ``(C_in, C_out/G, *k)``), the gather form of the map read backwards."""
    check_x("x", x)
    check_x("weight", weight, x.ndim)
    layer = conv_transpose_layer(x.shape, weight.shape, stride, padding, output_padding, groups, dilation,
                                 None if bias is None else (weight.shape[1] * groups,))
    spatial = tuple(x.shape[2:])
    out = layer.output_shape(spatial)
    return _run_bwd_data(layer, spatial, x, weight, bias, (x.shape[0], layer.out_channels, *out), algorithm)


def _grad_input(grad_out: Any, weight: Any, input_shape: tuple[int, ...], stride: Any, padding: Any, dilation: Any,
                groups: int, algorithm: str) -> Any:
    """Input gradient of :func:`conv` (zero padding; gather form: ``gather_output`` under ``gather_condition``)."""
    check_x("grad_out", grad_out)
    check_x("weight", weight, grad_out.ndim)
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
    check_x("x", x)
    check_x("grad_out", grad_out, x.ndim)
    layer = conv_layer(x.shape, weight_shape, False, stride, padding, dilation, groups)
    spatial = tuple(x.shape[2:])
    expect = (x.shape[0], weight_shape[0], *layer.output_shape(spatial))
    if tuple(grad_out.shape) != expect:
        raise SpecError(f"grad_out.shape={grad_out.shape}: the forward output shape is {expect}")
    cp = array_module()
    p = _conv_plan(layer, spatial, "bwd_weight", x.shape[0], algorithm)
    if p[0] == "direct":
        dw = cp.empty(weight_shape, dtype=np.float32)
        launch(p[2], x.shape[0], contiguous(x), contiguous(grad_out), dw)
        return dw
    guard = (nonfinite_flag(array_module(), x, grad_out),) if p[0] == "fft" else ()  # fft: guarded gemm after it
    if guard:
        with quiet_fp():
            dw = fft_conv_grad_weight(cp, x, grad_out, p[1], layer.groups, weight_shape).astype(np.float32,
                                                                                                 copy=False)
    else:
        dw = cp.empty(weight_shape, dtype=np.float32)
    splits = p[3]
    part = cp.empty((splits, *weight_shape), dtype=np.float32)
    launch(p[2], x.shape[0], contiguous(grad_out), contiguous(x), cp.zeros(1, dtype=np.float32), part, *guard)
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
    check_x("grad_out", grad_out)
    return grad_out.sum(axis=(0, *range(2, grad_out.ndim)))


def clear_caches() -> None:
    """Drop the CUDA plans and pool kernels (the kernels' shared cache), the FFT frames and the compiled
    kernels (rebuilt on the next call).

    Called by :func:`convalg.kernels.clear_caches` when this module has been loaded.
    """
    cache.clear()
    for fn in (fft.slab_geometry, fft._frame):
        fn.cache_clear()
    runtime.clear_functions()
