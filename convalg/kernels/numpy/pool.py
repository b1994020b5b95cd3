"""Pooling kernels over the window plans (max, average, adaptive) and their gradients.

===================  ========================================================================
kernel               how (per tap ``k`` a strided view of the padded input)
===================  ========================================================================
``max_pool``         running maximum over taps in row-major order, PyTorch's update rule
                     ``v > best or isnan(v)`` (first maximum wins, NaN propagates, the last
                     NaN's index is kept); padding reads ``-inf``; indices from the printed
                     ``input_index`` per ``(N, C)`` plane, starting at the first valid tap
``avg_pool``         sum over taps / ``window_size(count_include_pad)`` (or the override)
``avg_pool_grad``    the transpose: per tap, ``gx_padded[tap view] += gy / divisor``, then
                     the inside of the padded frame (each tap's view is one-to-one)
``max_pool_grad``    ``bincount`` of the gradient at the saved indices, per plane
``adaptive_*``       gather windows ``[floor(o*n/m), ceil((o+1)*n/m))`` per axis
===================  ========================================================================
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp

from ...index_map import AdaptiveAxisMap
from ...printers.numpy import compile_source, print_module
from .plan import WindowPlan, pad_input, window_view

__all__ = ["max_pool", "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_windows",
           "adaptive_avg_pool", "adaptive_max_pool"]


def _taps(plan: WindowPlan):
    return list(np.ndindex(*plan.kernel))


def max_pool(x: np.ndarray, plan: WindowPlan) -> tuple[np.ndarray, np.ndarray]:
    """Values and flat per-plane indices of max pooling ``x`` (``(N, C, *spatial)``)."""
    nd = plan.ndim
    xp = pad_input(x, plan, fill=-np.inf)
    view = window_view(xp, plan)
    flat = plan.flat_index.reshape(*plan.output_shape, -1)
    valid = plan.valid.reshape(*plan.output_shape, -1)
    first = np.argmax(valid, axis=-1)
    idx = np.broadcast_to(np.take_along_axis(flat, first[..., None], -1)[..., 0], x.shape[:2] + plan.output_shape)
    idx = np.array(idx, dtype=np.int64)
    best = np.full(x.shape[:2] + plan.output_shape, -np.inf, dtype=x.dtype)
    for t, k in enumerate(_taps(plan)):
        v = view[(Ellipsis, *k)] if nd else view
        take = (v > best) | np.isnan(v)
        take &= valid[..., t]
        np.copyto(best, v, where=take)
        np.copyto(idx, flat[..., t], where=take)
    return best, idx


def max_pool_grad(grad_out: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Gradient of max pooling: each output's gradient added at its saved per-plane index."""
    n, c = input_shape[:2]
    plane = math.prod(input_shape[2:])
    planes = n * c
    if planes == 0 or plane == 0:
        return np.zeros(input_shape, dtype=grad_out.dtype)
    offsets = (np.arange(planes, dtype=np.int64) * plane).reshape(planes, 1)
    where = (indices.reshape(planes, -1).astype(np.int64) + offsets).ravel()
    acc = np.bincount(where, weights=grad_out.reshape(-1).astype(np.float64), minlength=planes * plane)
    return acc.astype(grad_out.dtype).reshape(input_shape)


def _divisor(plan: WindowPlan, divisor_override: int | None) -> np.ndarray:
    if divisor_override is not None:
        return np.asarray(float(divisor_override))
    return np.asarray(plan.divisor)


def avg_pool(x: np.ndarray, plan: WindowPlan, divisor_override: int | None = None) -> np.ndarray:
    """Average pooling (zero padding counted or not through ``plan.divisor``)."""
    xp = pad_input(x, plan)
    view = window_view(xp, plan)
    acc = np.zeros(x.shape[:2] + plan.output_shape, dtype=x.dtype)
    for k in _taps(plan):
        acc += view[(Ellipsis, *k)]
    return (acc / _divisor(plan, divisor_override)).astype(x.dtype)


def avg_pool_grad(grad_out: np.ndarray, plan: WindowPlan, divisor_override: int | None = None) -> np.ndarray:
    """Transpose of :func:`avg_pool`: scatter ``gy / divisor`` back through every tap's view."""
    n, c = grad_out.shape[:2]
    scaled = (grad_out / _divisor(plan, divisor_override)).astype(grad_out.dtype)
    gxp = np.zeros((n, c, *plan.extent), dtype=grad_out.dtype)
    for k in _taps(plan):
        sl = tuple(slice(ts * kk, ts * kk + s * (o - 1) + 1, s)
                   for ts, kk, s, o in zip(plan.tap_step, k, plan.step, plan.output_shape))
        gxp[(Ellipsis, *sl)] += scaled
    gx = np.zeros((n, c, *plan.input_shape), dtype=grad_out.dtype)
    dst = tuple(slice(i0, i0 + p1 - p0) for p0, p1, i0 in plan.inside)
    src = tuple(slice(p0, p1) for p0, p1, _ in plan.inside)
    gx[(Ellipsis, *dst)] = gxp[(Ellipsis, *src)]
    return gx


@lru_cache(maxsize=256)
def adaptive_windows(spatial: tuple[int, ...], output: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per axis ``(index, valid)`` arrays ``(n_out, max_window)`` printed from :class:`AdaptiveAxisMap`.

    ``index`` is clamped to the window's last element where ``valid`` is false.

    >>> [i.tolist() for i, _ in adaptive_windows((5,), (3,))]
    [[[0, 1, 1], [1, 2, 3], [3, 4, 4]]]
    """
    result = []
    for a, (n, m) in enumerate(zip(spatial, output)):
        amap = AdaptiveAxisMap(n, m, a)
        kmax = amap.max_window
        o = sp.Symbol(f"numpy.arange({m}).reshape({m}, 1)")
        k = sp.Symbol(f"numpy.arange({kmax}).reshape(1, {kmax})")
        subs = {amap.o: o, amap.k: k}
        last = (amap.window_end - 1).subs(subs)
        src = print_module("adaptive", [], [("index", sp.Min(amap.input_index.subs(subs), last)),
                                            ("valid", amap.valid.subs(subs))])
        idx, ok = compile_source(src, "adaptive")(np)
        result.append((np.broadcast_to(idx, (m, kmax)).astype(np.intp), np.broadcast_to(ok, (m, kmax))))
    return tuple(result)


def _gather(x: np.ndarray, windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nd = len(windows)
    g = x
    for a, (idx, _) in enumerate(windows):
        g = np.take(g, idx, axis=2 + 2 * a)  # (..., m_a, K_a, ...)
    order = [0, 1] + [2 + 2 * a for a in range(nd)] + [3 + 2 * a for a in range(nd)]
    g = g.transpose(order)
    out = tuple(w[0].shape[0] for w in windows)
    kmax = tuple(w[0].shape[1] for w in windows)
    valid = np.ones(out + kmax, dtype=bool)
    flat = np.zeros(out + kmax, dtype=np.int64)
    plane = 1
    for a in reversed(range(nd)):
        shape = [1] * (2 * nd)
        shape[a], shape[nd + a] = out[a], kmax[a]
        valid = valid & windows[a][1].reshape(shape)
        flat = flat + windows[a][0].reshape(shape) * plane
        plane *= x.shape[2 + a]
    return g, valid, flat


def adaptive_avg_pool(x: np.ndarray, output: tuple[int, ...]) -> np.ndarray:
    """Adaptive average pooling to ``output`` spatial sizes."""
    windows = adaptive_windows(tuple(x.shape[2:]), output)
    g, valid, _ = _gather(x, windows)
    nd = len(output)
    axes = tuple(range(-nd, 0))
    count = valid.sum(axis=axes)
    return (np.where(valid, g, 0).sum(axis=axes) / count).astype(x.dtype)


def adaptive_max_pool(x: np.ndarray, output: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive max pooling: values and flat per-plane indices (PyTorch's update rule)."""
    windows = adaptive_windows(tuple(x.shape[2:]), output)
    g, valid, flat = _gather(x, windows)
    nd = len(output)
    g = g.reshape(*g.shape[: 2 + nd], -1)
    valid = valid.reshape(*output, -1)
    flat = flat.reshape(*output, -1)
    best = np.array(g[..., 0])
    idx = np.array(np.broadcast_to(flat[..., 0], best.shape))
    for t in range(1, g.shape[-1]):
        v = g[..., t]
        take = ((v > best) | np.isnan(v)) & valid[..., t]
        np.copyto(best, v, where=take)
        np.copyto(idx, flat[..., t], where=take)
    return best, idx
