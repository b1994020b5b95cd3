"""Window plans: the index maps of a layer printed into NumPy index arrays and slices.

Every NumPy kernel reads its input through one *window plan*, built once per
``(layer, input spatial shape)`` (cached on those values) by printing the
layer's :class:`~convalg.index_map.IndexMap` with
:class:`~convalg.printers.numpy.IndexPrinter`:

==========================  ===============================================================
plan field                  derived from (per axis, ``i = s*o - lo + d*k``)
==========================  ===============================================================
``extent``                  padded extent read by the windows: ``input_index(o=n_out-1,
                            k=K-1) + lo + 1``
``inside``                  ``(p0, p1, i0)``: padded positions ``[p0, p1)`` hold input
                            ``i0, i0+1, ...`` (``tap_output_range`` / ``tap_input_start`` of the
                            stride-1 position map)
``pad_index``               padded position -> input index for non-zero padding modes
                            (``padded_index(mode)`` of the position map, printed)
``step``, ``tap_step``      coefficients of ``o`` and ``k`` in ``input_index + lo``
``taps``                    per tap ``k``: ``(o0, o1, i0)`` = ``tap_output_range(k)``,
                            ``tap_input_start(k)`` (zero-copy tap loops, no padded copy)
``flat_index``, ``valid``   ``input_index`` and ``valid`` over ``(o, k)`` (max-pool indices)
``divisor``                 ``window_size(count_include_pad)`` over ``o`` (average pooling)
==========================  ===============================================================

The printed function is kept as ``plan.source``.

>>> from convalg import Conv
>>> p = window_plan(Conv(3, stride=2, padding=1, ndim=1), (6,))
>>> p.extent, p.inside, p.step, p.tap_step, p.taps
((7,), ((1, 7, 0),), (2,), (1,), (((1, 3, 1), (0, 3, 0), (0, 3, 1)),))
>>> print(p.source.splitlines()[1])
    # axis 0: i0 = k0 + 2*o0 - 1, 0 <= i0 < 6, padding_mode='zeros'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ...index_map import AxisMap, index_map
from ...printers.numpy import compile_source, print_module

__all__ = ["WindowPlan", "window_plan", "pad_input", "window_view"]


class _Code(sp.Symbol):
    """A raw code fragment carried through :func:`print_module` (printed by name)."""


@dataclass(frozen=True, eq=False)
class WindowPlan:
    """Per-axis index data for one layer at one input shape (see the module docstring)."""

    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    lo: tuple[int, ...]
    padding_mode: str
    extent: tuple[int, ...]
    inside: tuple[tuple[int, int, int], ...]
    step: tuple[int, ...]
    tap_step: tuple[int, ...]
    taps: tuple[tuple[tuple[int, int, int], ...], ...]
    pad_index: tuple[np.ndarray, ...]
    flat_index: np.ndarray
    valid: np.ndarray
    divisor: np.ndarray | None
    source: str

    @property
    def ndim(self) -> int:
        return len(self.input_shape)


def _coeff(expr: sp.Expr, sym: sp.Symbol) -> int:
    return int(sp.expand(expr).coeff(sym))


@lru_cache(maxsize=512)
def window_plan(layer: Any, spatial: tuple[int, ...], count_include_pad: bool | None = None) -> WindowPlan:
    """Build (and cache, keyed on the layer's value and the sizes) the window plan of ``layer``."""
    imap = index_map(layer, spatial)
    axes: tuple[AxisMap, ...] = imap.axes  # type: ignore[assignment]
    mode = imap.padding_mode
    assignments: list[tuple[str, Any]] = []
    comments: list[str] = []
    extent, inside, step, tap_step, taps = [], [], [], [], []
    nd = len(axes)
    for a, m in enumerate(axes):
        shifted = m.input_index + m.lo  # padded coordinate of (o, k)
        ext = int(shifted.subs({m.o: m.n_out - 1, m.k: m.kernel - 1})) + 1
        ext = max(ext, 1)
        extent.append(ext)
        step.append(_coeff(shifted, m.o))
        tap_step.append(_coeff(shifted, m.k))
        position = m.at(stride=1, dilation=1, kernel=1, n_out=ext)  # padded position p as o (tap 0)
        p0, p1 = position.tap_output_range(0)
        inside.append((int(p0), int(max(p1, p0)), int(position.tap_input_start(0))))
        first, last = m.tap_output_range()  # symbolic in k, solved once
        start = m.input_index.subs(m.o, first)
        range_fn = sp.lambdify(m.k, (first, last, start), modules=[{"Max": max, "Min": min}, "math"])
        taps.append(tuple((int(t0), int(max(t1, t0)), int(i0))
                          for k in range(m.kernel) for t0, t1, i0 in [range_fn(k)]))
        comments.append(f"axis {a}: i{a} = {m.input_index}, 0 <= i{a} < {m.n}, padding_mode={mode!r}")
        p = _Code(f"p{a}")
        assignments.append((str(p), _Code(f"numpy.arange({ext})")))
        fold = position.padded_index(mode if mode != "zeros" else "replicate").subs(position.k, 0)
        assignments.append((f"pad_index_{a}", fold.subs(position.o, p)))
        o = _Code(f"numpy.arange({m.n_out}).reshape({m.n_out}, 1)")
        k = _Code(f"numpy.arange({m.kernel}).reshape(1, {m.kernel})")
        assignments.append((f"input_index_{a}", m.input_index.subs({m.o: o, m.k: k})))
        assignments.append((f"valid_{a}", m.valid.subs({m.o: o, m.k: k})))
        if count_include_pad is not None:
            ws = m.window_size(count_include_pad).subs(m.o, _Code(f"numpy.arange({m.n_out})"))
            assignments.append((f"divisor_{a}", ws))
    source = print_module("window_indices", [], assignments, comments)
    values = compile_source(source, "window_indices")(np)
    per = 5 if count_include_pad is not None else 4
    pad_index = tuple(np.asarray(values[per * a + 1], dtype=np.intp) for a in range(nd))
    flat = np.zeros((1,) * (2 * nd), dtype=np.intp)
    valid = np.ones((1,) * (2 * nd), dtype=bool)
    divisor = np.ones((1,) * nd) if count_include_pad is not None else None
    plane = 1
    for a in reversed(range(nd)):
        idx = np.broadcast_to(values[per * a + 2], (axes[a].n_out, axes[a].kernel))
        ok = np.broadcast_to(values[per * a + 3], idx.shape)
        shape = [1] * (2 * nd)
        shape[a], shape[nd + a] = idx.shape
        flat = flat + (idx * plane).reshape(shape)
        valid = valid & ok.reshape(shape)
        if divisor is not None:
            dshape = [1] * nd
            dshape[a] = axes[a].n_out
            divisor = divisor * np.broadcast_to(values[per * a + 4], (axes[a].n_out,)).reshape(dshape)
        plane *= int(axes[a].n)
    return WindowPlan(
        imap.kind, tuple(int(v) for v in spatial), tuple(int(v) for v in imap.output_shape),
        tuple(int(m.kernel) for m in axes), tuple(int(m.stride) for m in axes),
        tuple(int(m.dilation) for m in axes), tuple(int(m.lo) for m in axes), mode,
        tuple(extent), tuple(inside), tuple(step), tuple(tap_step), tuple(taps), pad_index,
        flat, valid, divisor, source,
    )


def pad_input(x: np.ndarray, plan: WindowPlan, extent: tuple[int, ...] | None = None,
              fill: float = 0.0) -> np.ndarray:
    """Copy ``x`` (``(N, C, *spatial)``) into the padded frame the windows read.

    ``extent`` may enlarge the frame (extra positions are ``fill``); the
    padding values follow ``plan.padding_mode`` (``fill`` for ``'zeros'``).
    """
    ext = plan.extent if extent is None else extent
    lead = x.shape[:2]
    untouched = all(p0 == 0 and i0 == 0 and p1 == n == e for (p0, p1, i0), n, e in zip(plan.inside, x.shape[2:], ext))
    if untouched and x.flags.c_contiguous:
        return x
    if plan.padding_mode == "zeros":
        out = np.full(lead + tuple(ext), fill, dtype=x.dtype)
        dst = tuple(slice(p0, p1) for p0, p1, _ in plan.inside)
        src = tuple(slice(i0, i0 + p1 - p0) for p0, p1, i0 in plan.inside)
        out[(Ellipsis, *dst)] = x[(Ellipsis, *src)]
        return out
    g = x
    for a, idx in enumerate(plan.pad_index):
        g = np.take(g, idx, axis=2 + a)
    if tuple(ext) == g.shape[2:]:
        return np.ascontiguousarray(g)
    out = np.full(lead + tuple(ext), fill, dtype=x.dtype)
    out[(Ellipsis, *[slice(0, e) for e in g.shape[2:]])] = g
    return out


def window_view(xp: np.ndarray, plan: WindowPlan) -> np.ndarray:
    """Zero-copy view ``(N, C, *out, *kernel)`` of a padded input: ``xp[..., step*o + tap_step*k]``."""
    st = xp.strides[2:]
    shape = xp.shape[:2] + plan.output_shape + plan.kernel
    strides = xp.strides[:2] + tuple(s * t for s, t in zip(plan.step, st)) + tuple(s * t for s, t in zip(plan.tap_step, st))
    return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)
