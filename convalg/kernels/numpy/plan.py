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
>>> print(p.source.splitlines()[-1])
# axis 0: i0 = k0 + 2*o0 - 1, 0 <= i0 < 6; axis_indices(numpy, *(6, 3, 3, 2, 1, 1, 1))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ...index_map import AxisMap, index_map
from ...printers.numpy import compile_source, print_module
from . import parallel

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


_SIZE = dict(integer=True, positive=True)
_N, _N_OUT, _K, _S, _D, _E = sp.symbols("n n_out kernel stride dilation extent", **_SIZE)
_LO, _HI = sp.symbols("lo hi", integer=True)  # no sign: negative pads crop
_ARGS = ("n", "n_out", "kernel", "stride", "dilation", "lo", "hi")


@lru_cache(maxsize=16)
def axis_program(padding_mode: str, count_include_pad: bool | None) -> tuple[str, Any]:
    """Print the symbolic 1-D index map once into a NumPy function of the axis sizes and parameters.

    The function returns ``(extent, step, tap_step, inside_first, inside_last,
    inside_start, tap_first, tap_last, tap_start, pad_index, input_index, valid
    [, divisor])``; arrays are over ``k`` (taps), ``p`` (padded positions) or
    ``(o, k)``.
    """
    m = AxisMap(_N, _N_OUT, _K, _S, _D, _LO, _HI, axis=0)
    pos = AxisMap(_N, _E, 1, 1, 1, _LO, _HI, axis=0)  # padded position p as the output of tap 0
    shifted = sp.expand(m.input_index + m.lo)  # padded coordinate of (o, k)
    k_taps, p_pos = _Code("k_taps"), _Code("p_pos")
    o_col, k_row, o_row = _Code("o_col"), _Code("k_row"), _Code("o_row")
    first, last = m.tap_output_range()
    in_first, in_last = pos.tap_output_range(0)
    fold_mode = padding_mode if padding_mode != "zeros" else "replicate"
    assignments: list[tuple[str, Any]] = [
        ("extent", sp.Max(shifted.subs({m.o: m.n_out - 1, m.k: m.kernel - 1}) + 1, 1)),
        ("step", shifted.coeff(m.o)),
        ("tap_step", shifted.coeff(m.k)),
        ("inside_first", in_first),
        ("inside_last", sp.Max(in_last, in_first)),
        ("inside_start", pos.tap_input_start(0)),
        ("k_taps", _Code("numpy.arange(kernel)")),
        ("tap_first", first.subs(m.k, k_taps)),
        ("tap_last", sp.Max(last, first).subs(m.k, k_taps)),
        ("tap_start", m.input_index.subs(m.o, first).subs(m.k, k_taps)),
        ("p_pos", _Code("numpy.arange(extent)")),
        ("pad_index", pos.padded_index(fold_mode).subs(pos.k, 0).subs(pos.o, p_pos)),
        ("o_col", _Code("numpy.arange(n_out).reshape(n_out, 1)")),
        ("k_row", _Code("numpy.arange(kernel).reshape(1, kernel)")),
        ("input_index", m.input_index.subs({m.o: o_col, m.k: k_row})),
        ("valid", m.valid.subs({m.o: o_col, m.k: k_row})),
    ]
    if count_include_pad is not None:
        assignments.append(("o_row", _Code("numpy.arange(n_out)")))
        assignments.append(("divisor", m.window_size(count_include_pad).subs(m.o, o_row)))
    comments = [f"i = {m.input_index}, valid iff {m.valid}; padding_mode={padding_mode!r}"]
    source = print_module("axis_indices", _ARGS, assignments, comments)
    return source, compile_source(source, "axis_indices")


@lru_cache(maxsize=512)
def window_plan(layer: Any, spatial: tuple[int, ...], count_include_pad: bool | None = None) -> WindowPlan:
    """Build (and cache, keyed on the layer's value and the sizes) the window plan of ``layer``."""
    imap = index_map(layer, spatial)
    axes: tuple[AxisMap, ...] = imap.axes  # type: ignore[assignment]
    mode = imap.padding_mode
    source, program = axis_program(mode, count_include_pad)
    names = ("extent", "step", "tap_step", "inside_first", "inside_last", "inside_start", "k_taps", "tap_first",
             "tap_last", "tap_start", "p_pos", "pad_index", "o_col", "k_row", "input_index", "valid", "o_row",
             "divisor")
    per_axis = []
    comments = []
    for a, m in enumerate(axes):
        args = tuple(int(getattr(m, f)) for f in ("n", "n_out", "kernel", "stride", "dilation", "lo", "hi"))
        per_axis.append(dict(zip(names, program(np, *args))))
        comments.append(f"# axis {a}: i{a} = {m.input_index}, 0 <= i{a} < {m.n}; axis_indices(numpy, *{args})")
    nd = len(axes)
    extent = tuple(int(v["extent"]) for v in per_axis)
    inside = tuple((int(v["inside_first"]), int(v["inside_last"]), int(v["inside_start"])) for v in per_axis)
    taps = tuple(tuple(zip(*[np.broadcast_to(v[f], (int(m.kernel),)).tolist()
                             for f in ("tap_first", "tap_last", "tap_start")])) for v, m in zip(per_axis, axes))
    pad_index = tuple(np.broadcast_to(np.asarray(v["pad_index"]).astype(np.intp), (e,)) for v, e in zip(per_axis, extent))
    flat = np.zeros((1,) * (2 * nd), dtype=np.intp)
    valid = np.ones((1,) * (2 * nd), dtype=bool)
    divisor = np.ones((1,) * nd) if count_include_pad is not None else None
    plane = 1
    for a in reversed(range(nd)):
        m, v = axes[a], per_axis[a]
        idx = np.broadcast_to(v["input_index"], (int(m.n_out), int(m.kernel)))
        shape = [1] * (2 * nd)
        shape[a], shape[nd + a] = idx.shape
        flat = flat + (idx * plane).reshape(shape)
        valid = valid & np.broadcast_to(v["valid"], idx.shape).reshape(shape)
        if divisor is not None:
            dshape = [1] * nd
            dshape[a] = int(m.n_out)
            divisor = divisor * np.broadcast_to(v["divisor"], (int(m.n_out),)).reshape(dshape)
        plane *= int(m.n)
    return WindowPlan(
        imap.kind, tuple(int(v) for v in spatial), tuple(int(v) for v in imap.output_shape),
        tuple(int(m.kernel) for m in axes), tuple(int(m.stride) for m in axes),
        tuple(int(m.dilation) for m in axes), tuple(int(m.lo) for m in axes), mode,
        extent, inside, tuple(int(v["step"]) for v in per_axis), tuple(int(v["tap_step"]) for v in per_axis),
        taps, pad_index, flat, valid, divisor, "\n".join([source, *comments]),
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
        parallel.copyto(out[(Ellipsis, *dst)], x[(Ellipsis, *src)])
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
