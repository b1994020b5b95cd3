"""CuPy pooling, unfold and fold ops (same names and signatures as :mod:`convalg.kernels.numpy.ops`).

Their layers come from the builders of :mod:`convalg.kernels.base` (cached on the arguments), their
kernels from :mod:`.pool` (generated from the layer's index map, cached by bytes in
:mod:`convalg.kernels.cache`).  :mod:`convalg.kernels.cuda.ops` re-exports every op.

>>> import numpy as np
>>> from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
>>> from convalg.kernels.cuda.runtime import using_backend
>>> if host_compiler() is not None:
...     with using_backend(HostBackend()):
...         print(max_pool(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), 2).tolist())
... else:
...     print([[[[5.0, 7.0], [13.0, 15.0]]]])
[[[[5.0, 7.0], [13.0, 15.0]]]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import SpecError
from ...index_map import IndexMap
from .. import base, cache
from ..numpy.plan import window_plan
from ..numpy.pool import check_windows
from . import pool
from .launching import CudaPlan, array_module, check_float32, check_x, contiguous, launch

__all__ = ["max_pool", "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool",
           "unfold", "fold"]


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
    check_x("x", x)
    cp = array_module()
    planes, nd = _planes(x)
    layer = base.max_pool_layer(nd, kernel_size, stride, padding, dilation, ceil_mode)
    check_windows(window_plan(layer, tuple(x.shape[2:])))  # a window with no input has no maximum
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "max_pool")
    y = cp.empty((*x.shape[:2], *imap.output_shape), dtype=np.float32)
    idx = cp.empty(y.shape, dtype=np.int64)
    launch(ks, planes, contiguous(x), y, idx)
    return (y, idx) if return_indices else y


def max_pool_grad(grad_out: Any, indices: Any, input_shape: Sequence[int], kernel_size: Any = None,
                  stride: Any = None, padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> Any:
    """Max-pool gradient: ``dx[idx] += dy``, deterministic.

    With the window geometry (``kernel_size`` ...) it is a generated gather kernel;
    without it, the indices are sorted (stable) and each input sums its segment in order.
    """
    check_x("grad_out", grad_out)
    cp = array_module()
    input_shape = tuple(int(s) for s in input_shape)
    if not isinstance(indices, cp.ndarray) or indices.shape != grad_out.shape:
        raise SpecError(f"indices: must be an integer array shaped like grad_out {grad_out.shape}")
    indices = contiguous(indices.astype(np.int64, copy=False))
    planes = input_shape[0] * input_shape[1]
    dx = cp.empty(input_shape, dtype=np.float32)
    if kernel_size is not None:
        layer = base.max_pool_layer(len(input_shape) - 2, kernel_size, stride, padding, dilation, ceil_mode)
        imap, ks = _pool_kernel(layer, input_shape[2:], "max_pool_grad")
        if tuple(grad_out.shape[2:]) != tuple(imap.output_shape):
            raise SpecError(f"grad_out.shape={grad_out.shape}: the pooling output is {imap.output_shape}")
        launch(ks, planes, contiguous(grad_out), indices, dx)
        return dx
    items = math.prod(input_shape[2:])
    per_plane = math.prod(grad_out.shape[2:])
    target = (cp.arange(planes, dtype=np.int64)[:, None] * items + indices.reshape(planes, per_plane)).ravel()
    # unique keys (target, position): the segment order is fixed whatever the sort's stability
    n_out = target.size
    order = cp.argsort(target * n_out + cp.arange(n_out, dtype=np.int64)).astype(np.int64)
    start = cp.searchsorted(target[order], cp.arange(planes * items + 1, dtype=np.int64)).astype(np.int64)
    launch(pool.segment_sum(items), planes, contiguous(grad_out), order, start, dx)
    return dx


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> Any:
    """Average pooling (PyTorch divisor rule, from ``AxisMap.window_size``)."""
    check_x("x", x)
    planes, nd = _planes(x)
    layer = base.avg_pool_layer(nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "avg_pool", count_include_pad, divisor_override)
    y = array_module().empty((*x.shape[:2], *imap.output_shape), dtype=np.float32)
    launch(ks, planes, contiguous(x), y)
    return y


def avg_pool_grad(grad_out: Any, input_shape: Sequence[int], kernel_size: Any, stride: Any = None, padding: Any = 0,
                  ceil_mode: bool = False, count_include_pad: bool = True,
                  divisor_override: int | None = None) -> Any:
    """Average-pool gradient in gather form."""
    check_x("grad_out", grad_out)
    input_shape = tuple(int(s) for s in input_shape)
    layer = base.avg_pool_layer(len(input_shape) - 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)
    imap, ks = _pool_kernel(layer, input_shape[2:], "avg_pool_grad", count_include_pad, divisor_override)
    if tuple(grad_out.shape) != (*input_shape[:2], *imap.output_shape):
        raise SpecError(f"grad_out.shape={grad_out.shape}: the pooling output is {(*input_shape[:2], *imap.output_shape)}")
    dx = array_module().empty(input_shape, dtype=np.float32)
    launch(ks, input_shape[0] * input_shape[1], contiguous(grad_out), dx)
    return dx


def _adaptive(x: Any, layer: Any, with_indices: bool) -> Any:
    cp = array_module()
    planes, _ = _planes(x)
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "adaptive_pool")
    y = cp.empty((*x.shape[:2], *imap.output_shape), dtype=np.float32)
    if with_indices:
        idx = cp.empty(y.shape, dtype=np.int64)
        launch(ks, planes, contiguous(x), y, idx)
        return y, idx
    launch(ks, planes, contiguous(x), y)
    return y


def adaptive_avg_pool(x: Any, output_size: Any) -> Any:
    """Adaptive average pooling (windows ``[floor(o n/m), ceil((o+1) n/m))``)."""
    check_x("x", x)
    return _adaptive(x, base.adaptive_pool_layer("adaptive_avg_pool", x.ndim - 2, output_size), False)


def adaptive_max_pool(x: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Adaptive max pooling with the max-pool tie and NaN rules."""
    check_x("x", x)
    y, idx = _adaptive(x, base.adaptive_pool_layer("adaptive_max_pool", x.ndim - 2, output_size), True)
    return (y, idx) if return_indices else y


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any:
    """im2col: ``(N, C, *n) -> (N, C * prod(k), L)`` (PyTorch ``F.unfold``, any number of spatial dims)."""
    check_x("x", x)
    layer = base.window_layer(x.ndim - 2, kernel_size, dilation, padding, stride)
    imap, ks = _pool_kernel(layer, tuple(x.shape[2:]), "unfold", x.shape[1])
    k, L = math.prod(imap.kernel_size), math.prod(imap.output_shape)
    y = array_module().empty((x.shape[0], x.shape[1] * k, L), dtype=np.float32)
    launch(ks, x.shape[0], contiguous(x), y)
    return y


def fold(cols: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any:
    """col2im (sums overlaps), gather form: ``(N, C * prod(k), L) -> (N, C, *output_size)``."""
    check_float32("cols", cols)
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
    y = array_module().empty((cols.shape[0], channels, *out), dtype=np.float32)
    launch(ks, cols.shape[0], contiguous(cols), y)
    return y
