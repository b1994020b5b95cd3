"""Window plans: the index maps of a layer printed into per-axis NumPy data.

Every NumPy kernel reads its input through one *window plan*, built once per
``(layer, input spatial shape)`` (cached on those values, see :mod:`convalg.kernels.cache`) by
printing the layer's :class:`~convalg.index_map.IndexMap` with
:class:`~convalg.printers.numpy.NumpyPrinter`.  A plan holds *per-axis* data only
(sizes, slices, one entry per live tap, one divisor per output position), never
an array over ``output x kernel``, so its size does not grow with the data:

==========================  ===============================================================
plan field                  derived from (per axis, ``i = s*o - lo + d*k``)
==========================  ===============================================================
``extent``                  padded extent read by the windows: ``input_index(o=n_out-1,
                            k=K-1) + lo + 1``
``inside``                  ``(p0, p1, i0)``: padded positions ``[p0, p1)`` hold input
                            ``i0, i0+1, ...`` (``tap_output_range`` / ``tap_input_start`` of the
                            stride-1 position map)
``pad_index``               padded position -> input index for non-zero padding modes
                            (``padded_index(mode)`` of the position map, printed; empty for
                            ``'zeros'``)
``step``, ``tap_step``      coefficients of ``o`` and ``k`` in ``input_index + lo``
``taps``                    per *live* tap ``k`` (one that reads inside the input for some
                            ``o``): ``(k, o0, o1, i0)`` = ``tap_output_range(k)``,
                            ``tap_input_start(k)``; the live taps are ``k`` in
                            ``[ceil(k(i=0, o=n_out-1)), floor(k(i=n-1, o=0)) + 1)`` solved from
                            ``input_index``, so a window that is mostly padding costs only
                            its taps inside the input
``divisor``                 per axis ``window_size(count_include_pad)`` over ``o`` (average
                            pooling; the divisor is their outer product)
==========================  ===============================================================

The printed function is kept as ``plan.source``.  A kernel that needs the windows of a
sub-problem (overlap-save tiles, the phases of a dilated layer, the scatter form of a
transposed convolution) asks :func:`sliding_plan` for them: the same plan, built from
per-axis :class:`~convalg.index_map.AxisMap` objects without a layer spec.

>>> from convalg import Conv
>>> p = window_plan(Conv(3, stride=2, padding=1, ndim=1), (6,))
>>> p.extent, p.inside, p.step, p.tap_step, p.taps
((7,), ((1, 7, 0),), (2,), (1,), (((0, 1, 3, 1), (1, 0, 3, 0), (2, 0, 3, 1)),))
>>> print(p.source.splitlines()[-1])
# axis 0: i0 = k0 + 2*o0 - 1, 0 <= i0 < 6; axis_indices(numpy, *(6, 3, 3, 2, 1, 1, 1))
>>> q = sliding_plan((6,), (3,), stride=(2,), padding=((1, 1),))
>>> (q.extent, q.inside, q.taps) == (p.extent, p.inside, p.taps)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ...errors import SpecError
from ...index_map import AxisMap, ChannelMap, IndexMap, effective_kernel, index_map
from ...printers.numpy import compile_source, print_module
from ...shapes.formulas import conv_output_size
from .. import cache
from ..padding import interior, pad_frame
from . import memory, parallel, workspace

__all__ = ["WindowPlan", "window_plan", "sliding_plan", "pad_input", "window_view"]


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
    taps: tuple[tuple[tuple[int, int, int, int], ...], ...]
    pad_index: tuple[np.ndarray, ...]
    divisor: tuple[np.ndarray, ...] | None
    source: str

    @property
    def ndim(self) -> int:
        return len(self.input_shape)

    @cached_property
    def effective_kernel(self) -> tuple[int, ...]:
        """Per axis the span of the kernel's taps (``tap_step`` apart): the index map's effective kernel,
        evaluated once per plan (the formula is symbolic)."""
        return tuple(int(effective_kernel(k, t)) for t, k in zip(self.tap_step, self.kernel))

    @property
    def nbytes(self) -> int:
        """Bytes held by the plan's arrays and tap tables (its cache weight)."""
        arrays = sum(a.nbytes for a in self.pad_index) + sum(a.nbytes for a in self.divisor or ())
        return 512 + len(self.source) + arrays + 64 * sum(len(t) for t in self.taps)

    def covered(self, axis: int) -> np.ndarray:
        """Whether each output position along ``axis`` has a live tap (a window reading the input)."""
        edges = np.zeros(self.output_shape[axis] + 1, dtype=np.int64)
        for _, o0, o1, _ in self.taps[axis]:
            edges[o0] += 1
            edges[o1] -= 1
        return np.cumsum(edges[:-1]) > 0


_SIZE = dict(integer=True, positive=True)
_N, _N_OUT, _K, _S, _D, _E = sp.symbols("n n_out kernel stride dilation extent", **_SIZE)
_LO, _HI = sp.symbols("lo hi", integer=True)  # no sign: negative pads crop
_ARGS = ("n", "n_out", "kernel", "stride", "dilation", "lo", "hi")
#: Largest index span a plan handles (NumPy's int64 indices, with headroom for sums of two spans).
MAX_SPAN = 2**62


#: The padding modes and ``count_include_pad`` values an axis program exists for.
PROGRAM_KEYS = tuple((mode, cip) for mode in ("zeros", "reflect", "replicate", "circular")
                     for cip in (None, True, False))


@lru_cache(maxsize=16)
def axis_program(padding_mode: str, count_include_pad: bool | None) -> tuple[str, Any]:
    """The symbolic 1-D index map printed into a NumPy function of the axis sizes and parameters.

    The function returns ``(extent, step, tap_step, inside_first, inside_last, inside_start,
    live_first, live_last, k_taps, tap_first, tap_last, tap_start, p_pos, pad_index[, o_row,
    divisor])``; arrays are over the live taps ``k``, the padded positions ``p`` or ``o``.

    The printed sources are stored in :mod:`._axis_programs` (SymPy takes ~0.3-2 s per process to
    derive them, which a process's first call would otherwise pay); ``tests`` re-derive every one
    with :func:`derive_axis_program` and compare, and ``python -m convalg.kernels.numpy.plan``
    rewrites the file.
    """
    from ._axis_programs import PRINTED

    source = PRINTED.get((padding_mode, count_include_pad)) or derive_axis_program(padding_mode, count_include_pad)
    return source, compile_source(source, "axis_indices")


def derive_axis_program(padding_mode: str, count_include_pad: bool | None) -> str:
    """Derive and print the axis program from the symbolic :class:`~convalg.index_map.AxisMap`."""
    m = AxisMap(_N, _N_OUT, _K, _S, _D, _LO, _HI, axis=0)
    pos = AxisMap(_N, _E, 1, 1, 1, _LO, _HI, axis=0)  # padded position p as the output of tap 0
    shifted = sp.expand(m.input_index + m.lo)  # padded coordinate of (o, k)
    k_taps, p_pos, o_row = _Code("k_taps"), _Code("p_pos"), _Code("o_row")
    live_first = _Code("live_first")
    first, last = m.tap_output_range()
    in_first, in_last = pos.tap_output_range(0)
    # the tap reading input position i from output o, solved from input_index (linear in k)
    index = sp.expand(m.input_index)
    tap_of = lambda i, o: (i - index.subs({m.k: 0, m.o: o})) / index.coeff(m.k)  # noqa: E731
    fold_mode = padding_mode if padding_mode != "zeros" else "replicate"
    assignments: list[tuple[str, Any]] = [
        ("extent", sp.Max(shifted.subs({m.o: m.n_out - 1, m.k: m.kernel - 1}) + 1, 1, evaluate=False)),
        ("step", shifted.coeff(m.o)),
        ("tap_step", shifted.coeff(m.k)),
        ("inside_first", in_first),
        ("inside_last", sp.Max(in_last, in_first, evaluate=False)),
        ("inside_start", pos.tap_input_start(0)),
        # unevaluated Max / Min: SymPy's simplification of these costs ~1 s per process and gains nothing
        ("live_first", sp.Max(sp.ceiling(tap_of(0, m.n_out - 1)), 0, evaluate=False)),
        ("live_last", sp.Max(sp.Min(sp.floor(tap_of(m.n - 1, 0)) + 1, m.kernel, evaluate=False), live_first,
                             evaluate=False)),
        ("k_taps", _Code("numpy.arange(live_first, live_last)")),
        ("tap_first", first.subs(m.k, k_taps)),
        ("tap_last", sp.Max(last, first, evaluate=False).subs(m.k, k_taps)),
        ("tap_start", m.input_index.subs(m.o, first).subs(m.k, k_taps)),
        ("p_pos", _Code("numpy.arange(extent)" if padding_mode != "zeros" else "numpy.arange(0)")),
        ("pad_index", pos.padded_index(fold_mode).subs(pos.k, 0).subs(pos.o, p_pos)),
    ]
    if count_include_pad is not None:
        assignments.append(("o_row", _Code("numpy.arange(n_out)")))
        assignments.append(("divisor", m.window_size(count_include_pad).subs(m.o, o_row)))
    comments = [f"i = {m.input_index}, valid iff {m.valid}; padding_mode={padding_mode!r}"]
    return print_module("axis_indices", _ARGS, assignments, comments)


def write_axis_programs(path: str | None = None) -> str:
    """Re-derive every axis program and write :mod:`._axis_programs` (returns its text)."""
    import os

    lines = ['"""Axis programs printed by :func:`convalg.kernels.numpy.plan.derive_axis_program` (generated by',
             '``python -m convalg.kernels.numpy.plan``; a test re-derives and compares them)."""', "",
             "PRINTED = {"]
    for key in PROGRAM_KEYS:
        lines.append(f"    {key!r}: {derive_axis_program(*key)!r},")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    with open(path or os.path.join(os.path.dirname(__file__), "_axis_programs.py"), "w") as f:
        f.write(text)
    return text


if __name__ == "__main__":
    write_axis_programs()


_NAMES = ("extent", "step", "tap_step", "inside_first", "inside_last", "inside_start", "live_first", "live_last",
          "k_taps", "tap_first", "tap_last", "tap_start", "p_pos", "pad_index", "o_row", "divisor")


def window_plan(layer: Any, spatial: tuple[int, ...], count_include_pad: bool | None = None) -> WindowPlan:
    """The window plan of ``layer`` at input sizes ``spatial`` (cached by bytes, see :mod:`.cache`)."""
    return cache.cached("window_plan", _window_plan, layer, tuple(spatial), count_include_pad)


def _window_plan(layer: Any, spatial: tuple[int, ...], count_include_pad: bool | None) -> WindowPlan:
    return _printed_plan(index_map(layer, spatial), f"layer {layer!r}", count_include_pad)


def sliding_plan(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...] | None = None,
                 dilation: tuple[int, ...] | None = None,
                 padding: tuple[tuple[int, int], ...] | None = None) -> WindowPlan:
    """The window plan of a zero-padded sliding window with these per-axis parameters (``padding``: ``(lo, hi)``
    per axis; default stride and dilation 1, no padding), from the index map's :class:`AxisMap` without a
    layer spec (cached by bytes, see :mod:`.cache`)."""
    ones = (1,) * len(kernel)
    return cache.cached("sliding_plan", _sliding_plan, tuple(spatial), tuple(kernel), tuple(stride or ones),
                        tuple(dilation or ones), tuple(padding or ((0, 0),) * len(kernel)))


def _sliding_plan(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                  dilation: tuple[int, ...], padding: tuple[tuple[int, int], ...]) -> WindowPlan:
    out = tuple(conv_output_size(n, k, s, d, lo, hi)
                for n, k, s, d, (lo, hi) in zip(spatial, kernel, stride, dilation, padding))
    what = f"window kernel={kernel} stride={stride} dilation={dilation} padding={padding}"
    if min(out, default=1) < 1:
        raise SpecError(f"{what} at input {spatial}: output size {out}; every axis needs at least one window")
    axes = tuple(AxisMap(n, m, k, s, d, lo, hi, a)
                 for a, (n, m, k, s, d, (lo, hi)) in enumerate(zip(spatial, out, kernel, stride, dilation, padding)))
    return _printed_plan(IndexMap("conv", None, axes, spatial, out, ChannelMap()), what, None)


def _printed_plan(imap: IndexMap, what: str, count_include_pad: bool | None) -> WindowPlan:
    """The window plan of ``imap`` (``what`` names its layer in errors): its axes printed by the axis program."""
    spatial = imap.input_shape
    axes: tuple[AxisMap, ...] = imap.axes  # type: ignore[assignment]
    mode = imap.padding_mode
    source, program = axis_program(mode, count_include_pad)
    per_axis = []
    comments = []
    for a, m in enumerate(axes):
        args = tuple(int(getattr(m, f)) for f in ("n", "n_out", "kernel", "stride", "dilation", "lo", "hi"))
        n, n_out, k, s, d, lo, hi = args
        span = n + abs(lo) + abs(hi) + d * k + s * max(n_out, 1) + k
        if span >= MAX_SPAN:
            raise SpecError(f"{what} at input {tuple(spatial)}: axis {a} spans {span} index positions "
                            f"(size, padding, dilation*kernel, stride*outputs); must be below 2**62")
        per_axis.append(dict(zip(_NAMES, program(np, *args))))
        comments.append(f"# axis {a}: i{a} = {m.input_index}, 0 <= i{a} < {m.n}; axis_indices(numpy, *{args})")
    extent = tuple(int(v["extent"]) for v in per_axis)
    inside = tuple((int(v["inside_first"]), int(v["inside_last"]), int(v["inside_start"])) for v in per_axis)
    taps = []
    for v in per_axis:
        live = len(v["k_taps"])
        cols = [np.broadcast_to(v[f], (live,)).tolist() for f in ("k_taps", "tap_first", "tap_last", "tap_start")]
        taps.append(tuple(t for t in zip(*cols) if t[2] > t[1]))
    pad_index = tuple(np.broadcast_to(np.asarray(v["pad_index"]).astype(np.intp), (len(v["p_pos"]),))
                      for v in per_axis)
    divisor = None
    if count_include_pad is not None:
        divisor = tuple(np.broadcast_to(np.asarray(v["divisor"], dtype=np.float64), (int(m.n_out),)).copy()
                        for v, m in zip(per_axis, axes))
    return WindowPlan(
        imap.kind, tuple(int(v) for v in spatial), tuple(int(v) for v in imap.output_shape),
        tuple(int(m.kernel) for m in axes), tuple(int(m.stride) for m in axes),
        tuple(int(m.dilation) for m in axes), tuple(int(m.lo) for m in axes), mode,
        extent, inside, tuple(int(v["step"]) for v in per_axis), tuple(int(v["tap_step"]) for v in per_axis),
        tuple(taps), pad_index, divisor, "\n".join([source, *comments]),
    )


def pad_input(x: np.ndarray, plan: WindowPlan, extent: tuple[int, ...] | None = None,
              fill: float = 0.0, slot: str | None = None) -> np.ndarray:
    """Copy ``x`` (``(N, C, *spatial)``) into the padded frame the windows read.

    ``extent`` may enlarge the frame (extra positions are ``fill``); the
    padding values follow ``plan.padding_mode`` (``fill`` for ``'zeros'``; the other
    modes gather through :func:`convalg.kernels.padding.pad_frame`).
    With ``slot`` the frame is a scratch buffer (:mod:`.workspace`): for kernels
    that only read it and never hand it back.
    """
    ext = plan.extent if extent is None else extent
    lead = x.shape[:2]
    untouched = all(p0 == 0 and i0 == 0 and p1 == n == e for (p0, p1, i0), n, e in zip(plan.inside, x.shape[2:], ext))
    if untouched and x.flags.c_contiguous:
        return x
    memory.require(lead + tuple(ext), x.dtype, "padded input")
    if plan.padding_mode == "zeros":
        if slot is None:
            out = np.full(lead + tuple(ext), fill, dtype=x.dtype)
        else:
            out = workspace.scratch(slot, lead + tuple(ext), x.dtype)
            out.fill(fill)
        dst, src = interior(plan.inside)
        parallel.copyto(out[(Ellipsis, *dst)], x[(Ellipsis, *src)])
        return out
    g = pad_frame(x, plan)
    if tuple(ext) == g.shape[2:]:
        return np.ascontiguousarray(g)
    out = np.full(lead + tuple(ext), fill, dtype=x.dtype)
    out[(Ellipsis, *[slice(0, e) for e in g.shape[2:]])] = g
    return out


def window_view(padded: np.ndarray, plan: WindowPlan) -> np.ndarray:
    """Zero-copy view ``(N, C, *out, *kernel)`` of a padded input: ``padded[..., step*o + tap_step*k]``."""
    st = padded.strides[2:]
    shape = padded.shape[:2] + plan.output_shape + plan.kernel
    # an axis with one output (or one tap) never moves along its stride: 0 keeps huge strides in range
    steps = tuple(s * t if o > 1 else 0 for s, t, o in zip(plan.step, st, plan.output_shape))
    taps = tuple(s * t if k > 1 else 0 for s, t, k in zip(plan.tap_step, st, plan.kernel))
    strides = padded.strides[:2] + steps + taps
    return np.lib.stride_tricks.as_strided(padded, shape, strides, writeable=False)
