"""GEMM convolution over strided views of the padded input.

Three forms, all reading the window plan of :mod:`.plan`:

===============  ===========================================================================
form             how
===============  ===========================================================================
``direct``       1x1 kernels, stride 1, no padding: one (batched) matmul on the input itself
                 (zero copy)
``im2col``       ``window_view`` (an ``as_strided`` view ``(N, C, *out, *k)``) copied chunk by
                 chunk of output rows into a column buffer of at most ``budget`` bytes, one
                 matmul per chunk written in place into the output
``taps``         stride 1: the padded input flattened; each kernel tap is a contiguous
                 shifted view of it (offset ``sum_a tap_step_a*k_a*pitch_a``), so
                 ``y_ext = sum_k W_k @ x_flat[off_k : off_k + L]`` with no copy of the input,
                 then the rows are cropped (``L`` covers ``out_0`` rows of the padded pitch)
===============  ===========================================================================

The weight gradient is the same correlation with the roles swapped:
``dW = sum_n gy[n] @ cols[n]^T`` (``cols`` chunked as for ``im2col``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from . import parallel, workspace
from .plan import WindowPlan, window_view

__all__ = ["conv_im2col", "conv_taps", "weight_grad_im2col", "weight_grad_taps", "DEFAULT_BUDGET", "taps_extent"]

#: Column-buffer budget in bytes for ``im2col`` chunks.
DEFAULT_BUDGET = 4 << 20


def _chunk_rows(rows_total: int, bytes_per_row: int, budget: int) -> int:
    return max(1, min(rows_total, budget // max(bytes_per_row, 1)))


def _columns(padded: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """The window view as ``(N, G, Cg, *k, *out)`` (still a view)."""
    nd = plan.ndim
    view = window_view(padded, plan)
    order = (0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))
    view = view.transpose(order)
    n, c = padded.shape[:2]
    return view.reshape(n, groups, c // groups, *plan.kernel, *plan.output_shape)


def _target(y: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    t = y.view()
    try:
        t.shape = shape
    except AttributeError:
        return None
    return t


def conv_im2col(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int,
                budget: int = DEFAULT_BUDGET) -> np.ndarray:
    """Forward correlation of the padded input ``padded`` with ``w`` (``(Cout, Cin/G, *k)``)."""
    n, c = padded.shape[:2]
    cout = w.shape[0]
    g, cg, cog = groups, c // groups, cout // groups
    out = plan.output_shape
    ktot = math.prod(plan.kernel)
    y = np.empty((n, cout, *out), dtype=np.result_type(padded, w))
    if n == 0 or math.prod(out) == 0:
        return y
    w2 = w.reshape(g, cog, cg * ktot)
    if ktot == 1 and all(s == 1 for s in plan.step) and padded.shape[2:] == out:
        np.matmul(w2, padded.reshape(n, g, cg, -1), out=y.reshape(n, g, cog, -1))  # written in place
        return y
    rest = math.prod(out[1:])
    for b, r0, r1, cols2 in _column_chunks(padded, plan, groups, budget):
        yb = y[b].reshape(g, cog, out[0], rest)
        tgt = _target(yb[:, :, r0:r1], (g, cog, (r1 - r0) * rest))
        if tgt is not None:
            np.matmul(w2, cols2, out=tgt)
        else:  # pragma: no cover - the slice of rows is always reshapeable
            yb[:, :, r0:r1] = np.matmul(w2, cols2).reshape(g, cog, r1 - r0, rest)
    return y


def _column_chunks(padded: np.ndarray, plan: WindowPlan, groups: int,
                   budget: int) -> Iterator[tuple[int, int, int, np.ndarray]]:
    """The im2col columns of each batch entry ``b`` in chunks of output rows ``[r0, r1)``, as
    ``(b, r0, r1, cols)`` with ``cols`` ``(G, C/G * K, (r1 - r0) * rest)`` in one reused scratch buffer
    (overwritten by the next chunk); a chunk's columns stay under ``budget`` bytes."""
    out, cg, ktot = plan.output_shape, padded.shape[1] // groups, math.prod(plan.kernel)
    cols_view = _columns(padded, plan, groups)
    rest = math.prod(out[1:])
    rows = _chunk_rows(out[0], groups * cg * ktot * rest * padded.itemsize, budget)
    buf = workspace.scratch("im2col.cols", (groups, cg, *plan.kernel, rows, *out[1:]), padded.dtype)
    inner = (slice(None),) * (len(out) - 1)
    for b in range(padded.shape[0]):
        for r0 in range(0, out[0], rows):
            r1 = min(out[0], r0 + rows)
            cols = buf[(Ellipsis, slice(0, r1 - r0)) + inner]
            parallel.copyto(cols, cols_view[(b, Ellipsis, slice(r0, r1)) + inner])
            yield b, r0, r1, cols.reshape(groups, cg * ktot, (r1 - r0) * rest)


def taps_extent(plan: WindowPlan) -> tuple[int, ...]:
    """Padded extent for :func:`conv_taps`: one extra row so every tap's shifted view fits."""
    return (plan.extent[0] + 1, *plan.extent[1:])


def conv_taps(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """Stride-1 correlation as a sum over taps of matmuls on shifted flat views (``padded`` from ``taps_extent``)."""
    n, c = padded.shape[:2]
    cout = w.shape[0]
    g, cg, cog = groups, c // groups, cout // groups
    out = plan.output_shape
    ext = padded.shape[2:]
    pitch = [math.prod(ext[a + 1:]) for a in range(len(ext))]
    length = out[0] * pitch[0]
    if n == 0 or math.prod(out) == 0:
        return np.zeros((n, cout, *out), dtype=np.result_type(padded, w))
    flat = padded.reshape(n, g, cg, -1)
    wk = np.ascontiguousarray(np.moveaxis(w.reshape(g, cog, cg, -1), 3, 0))  # (K, G, Cog, Cg)
    dtype = np.result_type(padded, w)
    y_ext = workspace.scratch("taps.y", (n, g, cog, length), dtype)  # scratch: the result is copied out below
    tmp = workspace.scratch("taps.tmp", (n, g, cog, length), dtype)
    for t, k in enumerate(np.ndindex(*plan.kernel)):
        off = sum(ts * kk * p for ts, kk, p in zip(plan.tap_step, k, pitch))
        np.matmul(wk[t], flat[..., off: off + length], out=tmp if t else y_ext)
        if t:
            y_ext += tmp
    y_ext = y_ext.reshape(n, cout, out[0], *ext[1:])
    return parallel.copyto(np.empty((n, cout, *out), dtype=dtype), y_ext[(Ellipsis, *[slice(0, o) for o in out])])


def weight_grad_im2col(padded: np.ndarray, gy: np.ndarray, plan: WindowPlan, groups: int,
                       budget: int = DEFAULT_BUDGET) -> np.ndarray:
    """``dW[co, ci, k] = sum_{n, o} gy[n, co, o] * padded[n, g*Cg + ci, step*o + tap_step*k]``."""
    n, c = padded.shape[:2]
    cout = gy.shape[1]
    g, cg, cog = groups, c // groups, cout // groups
    out = plan.output_shape
    ktot = math.prod(plan.kernel)
    dw = np.zeros((g, cog, cg * ktot), dtype=np.result_type(padded, gy))
    if n == 0 or math.prod(out) == 0:
        return dw.reshape(cout, cg, *plan.kernel)
    if ktot == 1 and all(s == 1 for s in plan.step) and padded.shape[2:] == out:  # 1x1: no column copy
        prod = np.matmul(gy.reshape(n, g, cog, -1), padded.reshape(n, g, cg, -1).transpose(0, 1, 3, 2))
        return prod.sum(axis=0).reshape(cout, cg, *plan.kernel)
    rest = math.prod(out[1:])
    for b, r0, r1, cols2 in _column_chunks(padded, plan, groups, budget):
        gyb = gy[b].reshape(g, cog, out[0], rest)
        dw += np.matmul(gyb[:, :, r0:r1].reshape(g, cog, -1), cols2.transpose(0, 2, 1))
    return dw.reshape(cout, cg, *plan.kernel)


def weight_grad_taps(padded: np.ndarray, gy: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """Stride-1 weight gradient, one GEMM per tap on shifted flat views (no column copy).

    ``gy`` is laid on the padded input's pitch (zeros in the columns past the
    output), so tap ``k`` reads ``xp_flat[off_k : off_k + L]`` with the same
    offsets as :func:`conv_taps`; ``padded`` comes from :func:`taps_extent`.
    """
    n, c = padded.shape[:2]
    cout = gy.shape[1]
    g, cg, cog = groups, c // groups, cout // groups
    out = plan.output_shape
    ext = padded.shape[2:]
    pitch = [math.prod(ext[a + 1:]) for a in range(len(ext))]
    length = out[0] * pitch[0]
    dw = np.zeros((math.prod(plan.kernel), g, cog, cg), dtype=np.result_type(padded, gy))
    if n == 0 or math.prod(out) == 0:
        return np.moveaxis(dw, 0, -1).reshape(cout, cg, *plan.kernel)
    gy_ext = np.zeros((n, cout, out[0], *ext[1:]), dtype=gy.dtype)
    gy_ext[(Ellipsis, *[slice(0, o) for o in out])] = gy
    gy_flat = gy_ext.reshape(n, g, cog, length)
    flat = padded.reshape(n, g, cg, -1)
    for t, k in enumerate(np.ndindex(*plan.kernel)):
        off = sum(ts * kk * p for ts, kk, p in zip(plan.tap_step, k, pitch))
        prod = np.matmul(gy_flat, flat[..., off: off + length].transpose(0, 1, 3, 2))  # (N, G, Cog, Cg)
        dw[t] = prod.sum(axis=0) if n > 1 else prod[0]
    return np.moveaxis(dw.reshape(-1, cout, cg), 0, -1).reshape(cout, cg, *plan.kernel)
