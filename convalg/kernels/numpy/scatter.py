"""Scatter (adjoint) form of a window plan: per live tap, a block of output-shaped values added
back onto the input positions it was read from.

For tap ``k`` the plan's per-axis entry ``(k, o0, o1, i0)`` says that outputs
``[o0, o1)`` read input ``i0, i0 + s, ...``; the adjoint adds a block's
``[o0, o1)`` slice onto that strided input slice.  Only live taps are visited and
nothing outside the input is ever written, so no padded frame is allocated and no
value is multiplied by an inserted or padded zero (``0 * nan`` never happens:
PyTorch's transposed convolutions keep NaN / inf of the weight element-wise).

:func:`transposed_conv` (input gradient, transposed convolution) multiplies the
weight's taps with the output gradient a chunk of taps at a time (at most
:data:`CHUNK_BYTES` of products, or one tap), so its memory stays within the
input, output and one chunk; :func:`add_taps` is the scatter alone (``fold``).

>>> import numpy as np
>>> from convalg import Conv
>>> from .plan import window_plan
>>> plan = window_plan(Conv(2, stride=2, ndim=1), (6,))
>>> transposed_conv(np.ones((1, 1, 3)), np.array([[[1.0, np.nan]]]), plan, 1, (6,)).tolist()
[[[1.0, nan, 1.0, nan, 1.0, nan]]]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from .plan import WindowPlan

__all__ = ["live_taps", "add_taps", "transposed_conv", "CHUNK_BYTES"]

#: Bytes of tap products computed per chunk in :func:`transposed_conv` (at least one tap).
CHUNK_BYTES = 8 << 20


def live_taps(plan: WindowPlan) -> list[tuple[tuple[int, int, int, int], ...]]:
    """Every N-d live tap: one ``(k, o0, o1, i0)`` per axis (row-major in ``k``)."""
    return list(itertools.product(*plan.taps))


def _slices(tap: Sequence[tuple[int, int, int, int]], plan: WindowPlan,
            n_out: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    src, dst = [], []
    for (_, o0, o1, i0), s, m in zip(tap, plan.step, n_out):
        o1 = min(o1, m)
        if o1 <= o0:
            return None
        src.append(slice(o0, o1))
        dst.append(slice(i0, i0 + s * (o1 - o0 - 1) + 1, s))
    return tuple(src), tuple(dst)


def add_taps(dst: np.ndarray, block: Callable[[int, tuple[int, ...]], np.ndarray], plan: WindowPlan,
             taps: Sequence[tuple[tuple[int, int, int, int], ...]] | None = None) -> np.ndarray:
    """``dst[..., input slice of tap] += block(t, k)[..., output slice of tap]`` for each live tap ``t``
    (``k`` its kernel index); ``dst`` is ``(*lead, *input)``, blocks ``(*lead, *outputs)``."""
    for t, tap in enumerate(live_taps(plan) if taps is None else taps):
        b = block(t, tuple(k for k, _, _, _ in tap))
        where = _slices(tap, plan, b.shape[b.ndim - plan.ndim:])
        if where is not None:
            src, dst_sl = where
            dst[(Ellipsis, *dst_sl)] += b[(Ellipsis, *src)]
    return dst


def transposed_conv(gy: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int,
                    spatial: tuple[int, ...]) -> np.ndarray:
    """``gx[n, ci, s*o - lo + d*k] += sum_co gy[n, co, o] * w[co, ci, k]`` on inputs of size ``spatial``
    (``w`` in Conv layout ``(Cout, Cin/G, *k)``; ``plan`` the Conv's window plan at ``spatial``)."""
    n, cout = gy.shape[:2]
    g, cog, cg = groups, cout // groups, w.shape[1]
    dtype = np.result_type(gy, w)
    gx = np.zeros((n, g, cg, *spatial), dtype=dtype)
    taps = live_taps(plan)
    if n == 0 or not taps or gy.size == 0:
        return gx.reshape(n, g * cg, *spatial)
    ktot = math.prod(plan.kernel)
    wk = w.reshape(g, cog, cg, ktot)
    rhs = gy.reshape(n, g, cog, -1)
    length = rhs.shape[-1]
    per_tap = n * g * cg * length * dtype.itemsize
    chunk = max(1, CHUNK_BYTES // max(per_tap, 1))
    out = gy.shape[2:]
    for c0 in range(0, len(taps), chunk):
        part = taps[c0:c0 + chunk]
        flat = [int(np.ravel_multi_index(tuple(k for k, _, _, _ in tap), plan.kernel)) for tap in part]
        wt = np.ascontiguousarray(wk[..., flat].transpose(0, 3, 2, 1)).reshape(g, len(flat) * cg, cog)
        cols = np.matmul(wt, rhs).reshape(n, g, len(flat), cg, *out)  # (N, G, taps, Cg, *out)
        add_taps(gx, lambda t, _k, c=cols: c[:, :, t], plan, part)  # type: ignore[misc]
    return gx.reshape(n, g * cg, *spatial)
