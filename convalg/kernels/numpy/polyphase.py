"""Dilated stride-1 convolution as ``prod(dilation)`` undilated ones (polyphase split).

The window plan reads padded position ``step*o + tap_step*k``
(:func:`~convalg.kernels.numpy.plan.window_view`).  With ``step = 1`` and
``tap_step = d`` on an axis, write ``o = d*q + r`` (``0 <= r < d``): the
position is ``d*(q + k) + r``, so the outputs of phase ``r`` read only the
padded inputs of phase ``r``, at ``q + k`` -- an *undilated* stride-1
correlation.  Splitting each such axis by phase turns the layer into
``prod(d)`` independent undilated layers, stacked as batch entries::

    padded (N, C, *d*E')  ->  (prod(d) * N, C, *E')     E' = ceil(O/d) + K - 1 per axis
    y  (prod(d) * N, Co, *ceil(O/d))  ->  (N, Co, *O)

so Winograd (which needs dilation 1) applies to dilated layers
(``algorithm='winograd'``; ``'auto'`` does not choose it, see
:func:`convalg.kernels.numpy.conv.conv_plan`), and the weight gradient is the
inner algorithm's on the split input and the split output gradient (its batch
sum runs over the phases too).

>>> from convalg import Conv
>>> from convalg.kernels.numpy.plan import window_plan
>>> w = window_plan(Conv(3, padding=2, dilation=2, ndim=2), (64, 64))
>>> phase_factors(w), phase_extent(w, (2, 2)), phase_window(w, (2, 2)).input_shape
((2, 2), (68, 68), (34, 34))
"""

from __future__ import annotations

import math

import numpy as np

from . import parallel
from .plan import WindowPlan, sliding_plan

__all__ = ["phase_factors", "phase_extent", "phase_window", "split", "split_output", "merge"]


def phase_factors(plan: WindowPlan) -> tuple[int, ...] | None:
    """The dilation per axis when the layer is stride 1 and some axis is dilated, else ``None``."""
    if any(s != 1 for s in plan.step) or all(t == 1 for t in plan.tap_step):
        return None
    return tuple(plan.tap_step)


def _phase_outputs(plan: WindowPlan, factors: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(-(-o // d) for o, d in zip(plan.output_shape, factors))


def phase_extent(plan: WindowPlan, factors: tuple[int, ...]) -> tuple[int, ...]:
    """Padded extent ``d * (ceil(O/d) + K - 1)`` per axis (at least the plan's)."""
    return tuple(max(e, d * (q + k - 1))
                 for e, d, q, k in zip(plan.extent, factors, _phase_outputs(plan, factors), plan.kernel))


def phase_window(plan: WindowPlan, factors: tuple[int, ...]) -> WindowPlan:
    """The window plan of one phase: undilated, unpadded, stride 1, on its input ``E'`` per axis (the layer's
    groups and channels are the phase's)."""
    return sliding_plan(tuple(e // d for e, d in zip(phase_extent(plan, factors), factors)), plan.kernel)


def _split(a: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    n, c = a.shape[:2]
    inner = [e // d for e, d in zip(a.shape[2:], factors)]
    out = np.empty((*factors, n, c, *inner), dtype=a.dtype)
    for r in np.ndindex(*factors):  # one strided copy per phase (long contiguous runs on both sides)
        parallel.copyto(out[r], a[(Ellipsis, *[slice(ri, None, d) for ri, d in zip(r, factors)])])
    return out.reshape(math.prod(factors) * n, c, *inner)


def split(padded: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """``(N, C, *d*E')`` -> ``(prod(d) * N, C, *E')``, phases outermost (one copy)."""
    return _split(padded, factors)


def split_output(gy: np.ndarray, plan: WindowPlan, factors: tuple[int, ...]) -> np.ndarray:
    """An output-shaped array ``(N, Co, *O)`` split the same way, zero-padded to ``d * ceil(O/d)``."""
    q = _phase_outputs(plan, factors)
    full = np.zeros((*gy.shape[:2], *[d * v for d, v in zip(factors, q)]), dtype=gy.dtype)
    full[(Ellipsis, *[slice(0, o) for o in plan.output_shape])] = gy
    return _split(full, factors)


def merge(ys: np.ndarray, plan: WindowPlan, factors: tuple[int, ...]) -> np.ndarray:
    """``(prod(d) * N, Co, *ceil(O/d))`` -> ``(N, Co, *O)`` (the inverse of :func:`split_output`)."""
    q = ys.shape[2:]
    n, co = ys.shape[0] // math.prod(factors), ys.shape[1]
    parts = ys.reshape(*factors, n, co, *q)
    full = np.empty((n, co, *[d * v for d, v in zip(factors, q)]), dtype=ys.dtype)
    for r in np.ndindex(*factors):
        parallel.copyto(full[(Ellipsis, *[slice(ri, None, d) for ri, d in zip(r, factors)])], parts[r])
    if full.shape[2:] == plan.output_shape:
        return full
    return parallel.contiguous(full[(Ellipsis, *[slice(0, o) for o in plan.output_shape])])
