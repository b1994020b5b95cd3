"""Pooling kernels over the window plans (max, average, adaptive) and their gradients.

Max and average pooling are *separable*: a window is the product of one window per
axis, so each op runs one axis at a time (last axis first), and on each axis only
over the plan's live taps (:attr:`~.plan.WindowPlan.taps`: ``(k, o0, o1, i0)``,
outputs ``[o0, o1)`` of tap ``k`` read inputs ``i0, i0 + s, ...``).  Padding is
never materialised, so the cost is ``sum_a live_taps_a`` passes over the data
(not ``prod_a K_a``), and a window that is mostly padding costs only its taps
inside the input.

===================  ========================================================================
kernel               how (per axis, per live tap a strided view of the current array)
===================  ========================================================================
``max_pool``         values only: ``numpy.maximum`` (NaN propagates); with indices, PyTorch's
                     update rule (:func:`replaces_max`) with taps in ascending ``k`` and
                     each output's first live tap taken unconditionally; per axis the
                     winning position is kept (and the earlier axes' positions carried), so
                     the result is the row-major scan of the whole window: first maximum
                     wins, the last NaN's index is kept
``avg_pool``         per-axis sums / the outer product of the per-axis
                     ``window_size(count_include_pad)`` (or ``divisor_override``)
``avg_pool_grad``    the transpose: ``gy / divisor`` scattered back one axis at a time
``max_pool_grad``    ``bincount`` of the gradient at the saved indices, per plane
``adaptive_*``       gather windows ``[floor(o*n/m), ceil((o+1)*n/m))`` per axis
===================  ========================================================================

A max-pooling window with no tap inside the input (dilation stepping over every
input position) has no maximum: :class:`~convalg.SpecError`, as for
:func:`convalg.operators.max_pool_mask`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from ...errors import SpecError
from ...index_map import AdaptiveAxisMap
from ...printers.numpy import compile_source, print_module
from . import cache
from .plan import WindowPlan

__all__ = ["max_pool", "max_pool_grad", "replaces_max", "avg_pool", "avg_pool_grad", "adaptive_windows",
           "adaptive_avg_pool", "adaptive_max_pool", "check_windows"]


def _at(axis: int, index: object) -> tuple[object, ...]:
    """Index tuple selecting ``index`` on spatial ``axis`` of an ``(N, C, *spatial)`` array."""
    return (slice(None),) * (2 + axis) + (index,)


def _tap_slices(plan: WindowPlan, axis: int, tap: tuple[int, int, int, int]) -> tuple[slice, slice]:
    _, o0, o1, i0 = tap
    return slice(o0, o1), slice(i0, i0 + plan.step[axis] * (o1 - o0 - 1) + 1, plan.step[axis])


def check_windows(plan: WindowPlan, what: str = "max_pool") -> None:
    """SpecError when some window has no tap inside the input (it would have no maximum)."""
    if math.prod(plan.output_shape) == 0:
        return
    for a in range(plan.ndim):
        empty = np.flatnonzero(~plan.covered(a))
        if empty.size:
            raise SpecError(f"{what}: window {int(empty[0])} of spatial axis {a} has no position inside the input "
                            f"(input size {plan.input_shape[a]}, kernel {plan.kernel[a]}, stride {plan.stride[a]}, "
                            f"padding {plan.lo[a]}, dilation {plan.dilation[a]}); it has no maximum")


def replaces_max(v: np.ndarray, best: np.ndarray, out: np.ndarray | None = None, nan: bool = True) -> np.ndarray:
    """PyTorch's max-pool update rule, for a tap scanned after those that gave ``best``: ``v > best or isnan(v)``.

    So the first maximum wins ties and the last NaN is kept.  ``nan=False`` skips the ``isnan`` pass when the
    input is known to hold none; ``out`` is an optional boolean array for the result.

    >>> replaces_max(np.array([1.0, 2.0, np.nan, 3.0]), np.array([1.0, 1.0, 5.0, np.nan])).tolist()
    [False, True, True, False]
    """
    out = np.greater(v, best, out=out)
    if nan:
        out |= np.isnan(v)
    return out


def _tap_dtype(count: int) -> Any:
    return np.uint8 if count <= 1 << 8 else (np.uint16 if count <= 1 << 16 else np.int64)


def max_pool(x: np.ndarray, plan: WindowPlan, return_indices: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Values and (if asked) flat per-plane indices of max pooling ``x`` (``(N, C, *spatial)``).

    With indices, each axis keeps the *number of the winning live tap* (one byte for up to 256 live
    taps) rather than a position; the flat index is assembled once at the end from the plan's
    per-axis ``s*o - lo + d*k`` (``k`` looked up per tap number).
    """
    check_windows(plan)
    nd = plan.ndim
    out_shape = x.shape[:2] + plan.output_shape
    if x.size == 0 or math.prod(out_shape) == 0:
        return np.zeros(out_shape, x.dtype), (np.zeros(out_shape, np.int64) if return_indices else None)
    with np.errstate(invalid="ignore", over="ignore"):  # (an overflowing sum only costs the isnan passes)
        has_nan = return_indices and not bool(np.isfinite(np.sum(x)))
    cur = x
    carried: list[tuple[int, np.ndarray]] = []  # (axis, number of the winning live tap along it)
    for a in reversed(range(nd)):
        shape = list(cur.shape)
        shape[2 + a] = plan.output_shape[a]
        best = np.empty(shape, dtype=x.dtype)
        won = np.empty(shape, dtype=_tap_dtype(len(plan.taps[a]))) if return_indices else None
        moved = [np.empty(shape, dtype=p.dtype) for _, p in carried]
        seen = np.zeros(plan.output_shape[a], dtype=bool)
        take = None
        for t, tap in enumerate(plan.taps[a]):
            o_sl, i_sl = _tap_slices(plan, a, tap)
            src, tgt = cur[_at(a, i_sl)], best[_at(a, o_sl)]
            fresh: Any = np.flatnonzero(~seen[o_sl])
            seen[o_sl] = True
            if fresh.size:  # each output's first live tap: taken whatever its value (PyTorch's start)
                count = fresh.size
                if fresh[-1] - fresh[0] + 1 == count:  # one run (the usual case): slices, not fancy indexing
                    fresh = slice(int(fresh[0]), int(fresh[0]) + count)
                    dst = _at(a, slice(fresh.start + tap[1], fresh.stop + tap[1]))
                else:
                    dst = _at(a, fresh + tap[1])
                best[dst] = src[_at(a, fresh)]
                if won is not None:
                    won[dst] = t
                    for (_, p), m in zip(carried, moved):
                        m[dst] = p[_at(a, i_sl)][_at(a, fresh)]
                if count == tap[2] - tap[1]:
                    continue
            if won is None:
                np.maximum(tgt, src, out=tgt)
                continue
            if take is None or take.shape != tgt.shape:
                take = np.empty(tgt.shape, dtype=bool)
            # masked copies (``copyto(where=)``) are slow on strided views: the updates are ufuncs instead
            replaces_max(src, tgt, out=take, nan=has_nan)
            np.maximum(tgt, src, out=tgt)  # the value (a zero's sign is restored from the index at the end)
            won_o = won[_at(a, o_sl)]
            # tap numbers only grow, so "t where taken" is a maximum
            np.maximum(won_o, np.multiply(take, won.dtype.type(t), dtype=won.dtype), out=won_o)
            for (_, p), m in zip(carried, moved):
                m_o = m[_at(a, o_sl)]  # m + take * (p - m), exact in wrapping unsigned arithmetic
                np.add(m_o, np.multiply(np.subtract(p[_at(a, i_sl)], m_o), take, dtype=m.dtype), out=m_o)
        cur = best
        if won is not None:
            carried = [(b, m) for (b, _), m in zip(carried, moved)] + [(a, won)]
    if not return_indices:
        return cur, None
    flat = _flat_index(plan, sorted(carried))
    _restore_zero_signs(x, cur, flat)
    return cur, flat


def _flat_index(plan: WindowPlan, won: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Flat per-plane input index from each axis's winning tap number (``won``, ascending axes).

    The input position of tap number ``t`` at output ``o`` is ``s*o - lo + d*k_t`` per axis: a base over ``o``
    plus an offset per tap.  When the live taps are consecutive ``k`` (always, unless the input is shorter
    than the stride), the offset is ``d*k_0 + d*t``: one multiply-add per axis.  Otherwise the tap numbers
    of all axes index one small table of summed offsets (one gather).
    """
    pitches = [math.prod(plan.input_shape[a + 1:]) for a, _ in won]
    offsets = [np.array([plan.dilation[a] * k * pitch for k, _, _, _ in plan.taps[a]], dtype=np.int64)
               for (a, _), pitch in zip(won, pitches)]
    base = np.zeros((), dtype=np.int64)
    for (a, _), pitch in zip(won, pitches):
        base = np.add.outer(base, (plan.step[a] * np.arange(plan.output_shape[a]) - plan.lo[a]) * pitch)
    if all(np.all(np.diff(off, 2) == 0) for off in offsets):
        flat = np.empty(won[0][1].shape, dtype=np.int64)
        flat[...] = base + int(sum(int(off[0]) for off in offsets))
        for (_, t), off in zip(won, offsets):
            step = int(off[1] - off[0]) if off.size > 1 else 0
            if step == 1:
                np.add(flat, t, out=flat)
            elif step:
                np.add(flat, np.multiply(t, np.int64(step)), out=flat)
        return flat
    counts = [off.size for off in offsets]
    table = np.zeros((), dtype=np.int64)
    combined = None
    for (_, t), off, count in zip(won, offsets, counts):
        table = np.add.outer(table, off)
        wide = np.int32 if math.prod(counts) < 2**31 else np.int64
        combined = t.astype(wide) if combined is None else np.multiply(combined, count, out=combined) + t
    flat = np.take(table.reshape(-1), combined)
    flat += base
    return flat


def _restore_zero_signs(x: np.ndarray, values: np.ndarray, flat: np.ndarray) -> None:
    """Zeros take the sign of the winning element (``numpy.maximum`` may return either of ``-0.0 == 0.0``)."""
    if values.dtype.kind != "f":
        return
    zeros = np.flatnonzero(values == 0)
    if zeros.size:
        planes = x.reshape(-1, math.prod(x.shape[2:]))
        per_plane = math.prod(values.shape[2:])
        values.reshape(-1)[zeros] = planes[zeros // per_plane, flat.reshape(-1)[zeros]]


def max_pool_grad(grad_out: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Gradient of max pooling: each output's gradient added at its saved per-plane index.

    ``numpy.add.at`` in the gradient's own float type (float32 stays float32), outputs in order, as PyTorch
    accumulates; a plane at a time for large planes (no offset array), all planes at once for small ones.
    """
    n, c = input_shape[:2]
    plane = math.prod(input_shape[2:])
    planes = n * c
    dtype = grad_out.dtype
    acc_dtype = np.dtype(dtype.name) if dtype.kind == "f" and dtype.itemsize >= 4 else np.dtype(np.float64)
    acc = np.zeros((planes, plane), dtype=acc_dtype)
    if acc.size == 0 or grad_out.size == 0:
        return acc.astype(grad_out.dtype).reshape(input_shape)
    where = indices.reshape(planes, -1)
    values = grad_out.reshape(planes, -1).astype(acc_dtype, copy=False)
    if plane >= _LARGE_PLANE:
        for p in range(planes):
            np.add.at(acc[p], where[p], values[p])
    else:
        offsets = (np.arange(planes, dtype=np.int64) * plane).reshape(planes, 1)
        np.add.at(acc.reshape(-1), np.add(where, offsets, dtype=np.int64).reshape(-1), values.reshape(-1))
    return acc.astype(grad_out.dtype, copy=False).reshape(input_shape)


_LARGE_PLANE = 1 << 16  # elements: above this, one ``add.at`` per plane costs less than an offset array


def _divisor(plan: WindowPlan, divisor_override: int | None) -> np.ndarray:
    """The outer product of the per-axis divisors (``(*out)``), or the override."""
    if divisor_override is not None:
        return np.asarray(float(divisor_override))
    assert plan.divisor is not None
    div = np.ones((), dtype=np.float64)
    for d in plan.divisor:
        div = np.multiply.outer(div, d)
    return div


def _window_sum(cur: np.ndarray, plan: WindowPlan, a: int, dtype: Any, transpose: bool) -> np.ndarray:
    """Sum over axis ``a``'s live taps: output[o] += input[i] (or its transpose, input[i] += output[o])."""
    shape = list(cur.shape)
    shape[2 + a] = (plan.input_shape if transpose else plan.output_shape)[a]
    acc = np.zeros(shape, dtype=dtype)
    for tap in plan.taps[a]:
        o_sl, i_sl = _tap_slices(plan, a, tap)
        dst, src = (i_sl, o_sl) if transpose else (o_sl, i_sl)
        acc[_at(a, dst)] += cur[_at(a, src)]
    return acc


def avg_pool(x: np.ndarray, plan: WindowPlan, divisor_override: int | None = None) -> np.ndarray:
    """Average pooling (zero padding counted or not through ``plan.divisor``)."""
    cur = x
    for a in reversed(range(plan.ndim)):
        cur = _window_sum(cur, plan, a, x.dtype, transpose=False)
    return np.divide(cur, _divisor(plan, divisor_override).astype(x.dtype), out=cur)


def avg_pool_grad(grad_out: np.ndarray, plan: WindowPlan, divisor_override: int | None = None) -> np.ndarray:
    """Transpose of :func:`avg_pool`: ``gy / divisor`` scattered back through every live tap, axis by axis."""
    cur = grad_out / _divisor(plan, divisor_override).astype(grad_out.dtype)
    for a in range(plan.ndim):
        cur = _window_sum(cur, plan, a, grad_out.dtype, transpose=True)
    return cur.astype(grad_out.dtype, copy=False)


def adaptive_windows(spatial: tuple[int, ...], output: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per axis ``(index, valid)`` arrays ``(n_out, max_window)`` printed from :class:`AdaptiveAxisMap`.

    ``index`` is clamped to the window's last element where ``valid`` is false.

    >>> [i.tolist() for i, _ in adaptive_windows((5,), (3,))]
    [[[0, 1, 1], [1, 2, 3], [3, 4, 4]]]
    """
    return cache.cached("adaptive_windows", _adaptive_windows, tuple(spatial), tuple(output))


def _adaptive_windows(spatial: tuple[int, ...], output: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
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
    if x.shape[0] * x.shape[1] == 0:
        return np.zeros((*x.shape[:2], *output), dtype=x.dtype)
    windows = adaptive_windows(tuple(x.shape[2:]), output)
    g, valid, _ = _gather(x, windows)
    nd = len(output)
    axes = tuple(range(-nd, 0))
    count = valid.sum(axis=axes)
    return (np.where(valid, g, 0).sum(axis=axes) / count).astype(x.dtype)


def adaptive_max_pool(x: np.ndarray, output: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive max pooling: values and flat per-plane indices (PyTorch's update rule)."""
    if x.shape[0] * x.shape[1] == 0:
        return np.zeros((*x.shape[:2], *output), dtype=x.dtype), np.zeros((*x.shape[:2], *output), dtype=np.int64)
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
        take = replaces_max(v, best) & valid[..., t]
        np.copyto(best, v, where=take)
        np.copyto(idx, flat[..., t], where=take)
    return best, idx
