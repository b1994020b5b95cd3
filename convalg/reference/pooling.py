"""Brute-force pooling references (PyTorch semantics); pooling has no FFT form.

=====================  ==========================================================
operator               rule
=====================  ==========================================================
``max_pool``           taps ``i = s*o - lo + d*k`` inside the input, scanned in
                       row-major window order; a tap replaces the running max
                       when ``val > maxval or isnan(val)`` (PyTorch's CPU rule:
                       first maximum wins ties, the last NaN wins); the index
                       starts at the first valid tap; indices are flat per
                       ``(N, C)`` plane of the unpadded input
``max_pool_grad``      ``dx[plane, idx] += g`` (overlapping windows add)
``avg_pool``           sum of taps inside the input / divisor, divisor
                       ``divisor_override`` or the product over axes of
                       ``AxisMap.window_size(count_include_pad)``
``avg_pool_grad``      each tap receives ``g / divisor``
``adaptive_*``         windows ``[floor(o*n/m), ceil((o+1)*n/m))``
=====================  ==========================================================

>>> import numpy as np
>>> x = np.array([[[1.0, 3.0, 3.0, 2.0, 0.0]]])
>>> y, idx = max_pool(x, 2, stride=1, return_indices=True)
>>> y, idx
(array([[[3., 3., 3., 2.]]]), array([[[1, 1, 2, 3]]]))
>>> avg_pool(x, 2, padding=1, count_include_pad=False)
array([[[1., 3., 1.]]])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..index_map import IndexMap
from ..spec import AdaptiveAvgPool, AdaptiveMaxPool
from ._layers import as_float64, as_shape, avg_pool_layer, max_pool_layer, spatial_of

__all__ = ["max_pool", "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool",
           "axis_taps"]


@lru_cache(maxsize=512)
def axis_taps(axis: Any, mode: str = "zeros") -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per tap ``k`` of one :class:`~convalg.index_map.AxisMap`: (input index over all outputs, valid mask).

    The index is ``axis.input_index`` (``zeros``: raw, guard with the mask) or
    ``axis.padded_index(mode)`` (every tap valid), evaluated numerically.
    """
    o = np.arange(axis.n_out)
    raw = sp.lambdify((axis.o, axis.k), axis.input_index, "numpy")
    folded = sp.lambdify((axis.o, axis.k), axis.padded_index(mode), "numpy")
    out = []
    for k in range(axis.kernel):
        i = np.broadcast_to(np.asarray(raw(o, k), dtype=np.int64), o.shape)
        if mode == "zeros":
            valid = (i >= 0) & (i < axis.n)
        else:
            i = np.broadcast_to(np.asarray(folded(o, k), dtype=np.int64), o.shape)
            valid = np.ones(o.shape, dtype=bool)
        out.append((i, valid))
    return tuple(out)


def _outer(masks: Sequence[np.ndarray]) -> np.ndarray:
    result = masks[0]
    for m in masks[1:]:
        result = result[..., None] & m
    return result


def _window_taps(imap: IndexMap) -> Any:
    """Yield ``(index tuple for np.ix_, valid mask, clipped per-axis indices)`` for each tap in row-major order."""
    for tap in itertools.product(*[range(a.kernel) for a in imap.axes]):
        per_axis = [axis_taps(a)[k] for a, k in zip(imap.axes, tap)]
        clipped = [np.clip(i, 0, a.n - 1) for (i, _), a in zip(per_axis, imap.axes)]
        yield np.ix_(*clipped), _outer([v for _, v in per_axis]), clipped


def _flat_index(clipped: Sequence[np.ndarray], spatial: Sequence[int]) -> np.ndarray:
    grids = np.ix_(*clipped)
    return np.ravel_multi_index(tuple(np.broadcast_arrays(*grids)), tuple(spatial))


def max_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """N-d max pooling (``F.max_pool{1,2,3}d``), with PyTorch's tie rule and flat per-plane indices.

    >>> max_pool(np.array([[[1.0, np.nan, 5.0, 2.0]]]), 2, return_indices=True)   # NaN propagates
    (array([[[nan,  5.]]]), array([[[1, 2]]]))
    """
    x = as_float64("x", x)
    _, imap = max_pool_layer(x, kernel_size, stride, padding, dilation, ceil_mode)
    lead = x.shape[:2]
    best = np.full(lead + tuple(imap.output_shape), -np.inf)
    index = np.full(best.shape, -1, dtype=np.int64)
    for idx, valid, clipped in _window_taps(imap):
        val = x[(Ellipsis, *idx)]
        flat = _flat_index(clipped, spatial_of(x))
        first = valid & (index < 0)
        take = valid & ((val > best) | np.isnan(val))
        index = np.where(first | take, flat, index)
        best = np.where(take, val, best)
    return (best, index) if return_indices else best


def max_pool_grad(grad_out: Any, indices: Any, input_shape: Sequence[int]) -> np.ndarray:
    """Gradient of :func:`max_pool`: ``grad_out`` scattered (added) to the argmax positions.

    >>> x = np.array([[[1.0, 3.0, 3.0, 2.0, 0.0]]])
    >>> y, idx = max_pool(x, 2, stride=1, return_indices=True)
    >>> max_pool_grad(np.ones_like(y), idx, x.shape)               # overlapping windows add
    array([[[0., 2., 1., 1., 0.]]])
    """
    g = as_float64("grad_out", grad_out)
    idx = np.asarray(indices)
    shape = as_shape("input_shape", input_shape, g.ndim)
    if idx.shape != g.shape or g.shape[:2] != shape[:2]:
        raise SpecError(f"indices.shape={idx.shape}, grad_out.shape={g.shape}: must match each other and the "
                        f"batch/channels of input_shape={shape}")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices: expected an integer array (PyTorch's flat per-plane indices), got dtype {idx.dtype}")
    plane_size = int(np.prod(shape[2:]))
    if idx.size and (idx.max() >= plane_size or idx.min() < -1):
        raise SpecError(f"indices: values in [{idx.min()}, {idx.max()}]; must be flat positions in [0, {plane_size}) "
                        f"of an input plane {shape[2:]} (or -1: no element)")
    planes = int(np.prod(shape[:2]))
    dx = np.zeros((planes, plane_size))
    rows = np.repeat(np.arange(planes), int(np.prod(g.shape[2:])))
    flat_idx, flat_g = idx.reshape(-1), g.reshape(-1)
    keep = flat_idx >= 0
    np.add.at(dx, (rows[keep], flat_idx[keep]), flat_g[keep])
    return dx.reshape(shape)


@lru_cache(maxsize=512)
def _window_sizes(axis: Any, count_include_pad: bool) -> np.ndarray:
    """``axis.window_size(count_include_pad)`` at every output of one axis."""
    size = sp.lambdify(axis.o, axis.window_size(count_include_pad), "numpy")
    return np.broadcast_to(np.asarray(size(np.arange(axis.n_out)), dtype=np.float64), (axis.n_out,))


def _avg_divisor(imap: IndexMap, count_include_pad: bool, divisor_override: int | None) -> np.ndarray:
    if divisor_override is not None:
        return np.asarray(float(divisor_override))
    factors = [_window_sizes(a, count_include_pad) for a in imap.axes]
    grids = np.ix_(*factors)
    out = grids[0]
    for f in grids[1:]:
        out = out * f
    return out


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> np.ndarray:
    """N-d average pooling (``F.avg_pool{1,2,3}d``) with PyTorch's divisor rules.

    >>> x = np.array([[[1.0, 3.0, 3.0, 2.0, 0.0]]])
    >>> avg_pool(x, 2, padding=1), avg_pool(x, 2, padding=1, divisor_override=1)
    (array([[[0.5, 3. , 1. ]]]), array([[[1., 6., 2.]]]))
    """
    x = as_float64("x", x)
    layer, imap = avg_pool_layer(x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                 divisor_override)
    total = np.zeros(x.shape[:2] + tuple(imap.output_shape))
    for idx, valid, _ in _window_taps(imap):
        total += np.where(valid, x[(Ellipsis, *idx)], 0.0)
    return total / _avg_divisor(imap, layer.count_include_pad, layer.divisor_override)


def avg_pool_grad(grad_out: Any, input_shape: Sequence[int], kernel_size: Any, stride: Any = None,
                  padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                  divisor_override: int | None = None) -> np.ndarray:
    """Gradient of :func:`avg_pool`: each valid tap of window ``o`` receives ``g[o] / divisor[o]``.

    >>> avg_pool_grad(np.ones((1, 1, 3)), (1, 1, 5), 2, padding=1, count_include_pad=False)
    array([[[1. , 0.5, 0.5, 0.5, 0.5]]])
    """
    g = as_float64("grad_out", grad_out)
    shape = as_shape("input_shape", input_shape, g.ndim)
    layer, imap = avg_pool_layer(shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                 divisor_override)
    if g.shape != shape[:2] + tuple(imap.output_shape):
        raise SpecError(f"grad_out.shape={g.shape}: must be the avg_pool output shape "
                        f"{shape[:2] + tuple(imap.output_shape)}")
    share = g / _avg_divisor(imap, layer.count_include_pad, layer.divisor_override)
    dx = np.zeros(shape)
    for tap in itertools.product(*[range(a.kernel) for a in imap.axes]):
        per_axis = [axis_taps(a)[k] for a, k in zip(imap.axes, tap)]
        if not all(v.any() for _, v in per_axis):
            continue
        src = np.ix_(*[np.flatnonzero(v) for _, v in per_axis])
        dst = np.ix_(*[i[v] for i, v in per_axis])
        dx[(Ellipsis, *dst)] += share[(Ellipsis, *src)]
    return dx


@lru_cache(maxsize=512)
def _window_bounds(axis: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(window_start, window_end)`` of one :class:`~convalg.index_map.AdaptiveAxisMap` at every output."""
    return axis.bounds()


def _adaptive_axes(layer_type: type, x: np.ndarray, output_size: Any) -> tuple[IndexMap, list[Any]]:
    """The index map and, per axis (last axis first), ``(array axis, start, window length, max window)``."""
    imap = layer_type(output_size).index_map(spatial_of(x))
    plan = []
    for a in reversed(range(imap.ndim)):
        start, stop = _window_bounds(imap.axes[a])
        plan.append((2 + a, start, stop - start, int((stop - start).max())))
    return imap, plan


def _take(a: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    return np.take(a, index, axis=axis)


def adaptive_avg_pool(x: Any, output_size: Any) -> np.ndarray:
    """N-d adaptive average pooling (``F.adaptive_avg_pool{1,2,3}d``).

    A window is a box, so its mean is taken one axis at a time (taps
    ``start + j`` of each axis, vectorised over the outputs).

    >>> adaptive_avg_pool(np.array([[[1.0, 2.0, 4.0, 8.0, 16.0]]]), 3)   # windows [0,2) [1,4) [3,5)
    array([[[ 1.5       ,  4.66666667, 12.        ]]])
    """
    x = as_float64("x", x)
    _, plan = _adaptive_axes(AdaptiveAvgPool, x, output_size)
    y = x
    for ax, start, length, widest in plan:
        shape = [1] * y.ndim
        shape[ax] = len(start)
        total = np.zeros(y.shape[:ax] + (len(start),) + y.shape[ax + 1:])
        for j in range(widest):
            valid = (j < length).reshape(shape)
            total += np.where(valid, _take(y, np.minimum(start + j, y.shape[ax] - 1), ax), 0.0)
        y = total / length.reshape(shape)
    return y


def adaptive_max_pool(x: Any, output_size: Any, return_indices: bool = False) -> Any:
    """N-d adaptive max pooling (``F.adaptive_max_pool{1,2,3}d``); ties and NaN as :func:`max_pool`.

    Reduced one axis at a time from the last: the first maximum of each row,
    then the first row holding the maximum, is the first maximum in row-major
    order (and the last NaN likewise the last NaN), so the result and the
    indices are PyTorch's.

    >>> adaptive_max_pool(np.array([[[1.0, 3.0, 3.0, 2.0, 0.0]]]), 2, return_indices=True)
    (array([[[3., 3.]]]), array([[[1, 2]]]))
    """
    x = as_float64("x", x)
    imap, plan = _adaptive_axes(AdaptiveMaxPool, x, output_size)
    spatial = spatial_of(x)
    flat = np.arange(int(np.prod(spatial)), dtype=np.int64).reshape(spatial)
    y, index = x, np.broadcast_to(flat, x.shape)
    for ax, start, length, widest in plan:
        shape = [1] * y.ndim
        shape[ax] = len(start)
        best = _take(y, start, ax)  # tap 0 always lies in the window
        where = _take(index, start, ax)
        for j in range(1, widest):
            pos = np.minimum(start + j, y.shape[ax] - 1)
            val = _take(y, pos, ax)
            take = (j < length).reshape(shape) & ((val > best) | np.isnan(val))  # PyTorch's CPU rule
            best = np.where(take, val, best)
            where = np.where(take, _take(index, pos, ax), where)
        y, index = best, where
    index = np.ascontiguousarray(index)
    return (y, index) if return_indices else y
