"""Convolution-arithmetic diagrams in the style of Dumoulin & Visin (2016), as a PNG or an animated GIF.

The input grid with its padding, the window of one output position (each tap labelled with the weight index it
reads), and the output grid.  A transposed convolution is drawn as its equivalent direct convolution: stride 1
over the input with ``stride - 1`` zeros inserted between the values, padded by ``d*(k-1) - lo`` in front and
``d*(k-1) - hi + output_padding`` behind, with the kernel flipped (the ``fractional-striding`` theorem of
``python -m proofs``).  Every window position comes from the layer's index map (``i = s*o - lo + d*k``).

=================  ==========================================================
cell ``gid``       meaning
=================  ==========================================================
``input``          an input value
``zero``           an inserted zero (transposed convolution)
``padding``        padding (``padding_mode`` says what it holds)
``overhang``       beyond the padding (a ceil-mode pool's last window)
``window``         a tap of the window at the drawn output position
``output``         an output value; ``output-current`` the drawn one
=================  ==========================================================
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import SpecError
from ..index_map import AxisMap, index_map
from ..shapes.formulas import effective_kernel
from ..spec.conv import Conv
from ..vocabulary import kind_of
from ._mpl import finish, pyplot, wrapped_title

__all__ = ["ArithmeticGeometry", "direct_equivalent", "arithmetic_geometry", "conv_arithmetic",
           "conv_arithmetic_gif"]

_COLOURS = {"input": "#9ecae1", "zero": "white", "padding": "white", "overhang": "white",
            "window": "#08519c", "output": "#a1d99b", "output-current": "#238b45"}


def direct_equivalent(layer: Any, spatial: Sequence[int]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """``(direct layer, its input sizes, zero-insertion strides)`` for drawing ``layer`` at input ``spatial``.

    A Conv or pool is its own direct layer (insertion stride 1).  A ConvTranspose becomes the stride-1 Conv over
    the zero-inserted input of size ``s*(m-1)+1`` (see the module docstring).

    >>> from convalg import ConvTranspose
    >>> conv, sizes, inserted = direct_equivalent(ConvTranspose(3, stride=2, padding=1, output_padding=1), (3,))
    >>> conv, sizes, inserted
    (Conv(kernel_size=3, padding=((1, 2),), flip_kernel=True, ndim=1), (5,), (2,))
    >>> conv.output_shape(sizes) == ConvTranspose(3, stride=2, padding=1, output_padding=1).output_shape((3,))
    True
    """
    spatial = tuple(int(n) for n in spatial)
    kind = kind_of(layer)
    return (_no_diagram if kind is None else _DIRECT[kind])(layer, spatial)


def _itself(layer: Any, spatial: tuple[int, ...]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    return layer.bind(len(spatial)), spatial, (1,) * len(spatial)


def _zero_inserted(layer: Any, spatial: tuple[int, ...]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    t: Any = layer.bind(len(spatial))
    pads = []
    for a, spec in enumerate(t.axis_specs(spatial)):
        full = effective_kernel(spec.kernel, spec.dilation) - 1
        lo, hi = full - spec.lo, full - spec.hi + spec.output_padding
        if lo < 0 or hi < 0:
            raise SpecError(f"padding[{a}]=({spec.lo}, {spec.hi}): the zero-insertion picture needs padding <= "
                            f"dilation*(kernel_size-1) = {full} on each side")
        pads.append((lo, hi))
    direct = Conv(t.kernel_size, stride=1, padding=tuple(pads), dilation=t.dilation,
                  flip_kernel=not t.flip_kernel, ndim=t.ndim)
    return direct, tuple(s * (m - 1) + 1 for s, m in zip(t.stride, spatial)), tuple(t.stride)


def _no_diagram(layer: Any, spatial: tuple[int, ...]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    raise SpecError(f"layer={layer!r}: conv-arithmetic diagrams exist for Conv, ConvTranspose, MaxPool and "
                    "AvgPool (an adaptive pool's window depends on the input size)")


#: Per layer kind, the direct (stride-1 gather) layer a diagram draws: ``direct(layer, spatial)``.
_DIRECT = {
    "conv": _itself, "max_pool": _itself, "avg_pool": _itself, "conv_transpose": _zero_inserted,
    "adaptive_avg_pool": _no_diagram, "adaptive_max_pool": _no_diagram, "sequential": _no_diagram,
}


@dataclass(frozen=True)
class ArithmeticGeometry:
    """What a diagram draws: per axis the shown index range, and per output position its window."""

    layer: Any
    direct: Any
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    inserted: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    first: tuple[int, ...]
    last: tuple[int, ...]
    taps: tuple[tuple[tuple[int, int], ...], ...]  # per axis, per tap k: (weight index, offset of k)
    index: tuple[tuple[tuple[int, ...], ...], ...]  # per axis, per output o: input index of each tap k

    @property
    def positions(self) -> int:
        """The number of window positions (= output values per channel)."""
        return math.prod(self.output_shape)

    def kind(self, i: tuple[int, ...]) -> str:
        """``input`` / ``zero`` / ``padding`` / ``overhang`` for the grid cell at input index ``i``."""
        if all(0 <= x < n for x, n in zip(i, self.input_shape)):
            return "input" if all(x % s == 0 for x, s in zip(i, self.inserted)) else "zero"
        inside = all(-lo <= x < n + hi for x, n, (lo, hi) in zip(i, self.input_shape, self.pads))
        return "padding" if inside else "overhang"

    def window(self, o: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """``(input index, weight index)`` of every tap of the window at output ``o`` (row-major taps)."""
        per_axis = [list(zip(self.index[a][o[a]], (w for w, _ in self.taps[a]))) for a in range(len(o))]
        return [tuple(zip(*combo)) for combo in itertools.product(*per_axis)]  # type: ignore[misc]


def arithmetic_geometry(layer: Any, spatial: Sequence[int]) -> ArithmeticGeometry:
    """Evaluate the direct layer's index map at every output position and tap (see :func:`direct_equivalent`)."""
    direct, sizes, inserted = direct_equivalent(layer, spatial)
    m = index_map(direct, sizes)
    out = tuple(int(n) for n in m.output_shape)
    specs = direct.axis_specs(sizes)
    flip = bool(getattr(direct, "flip_kernel", False))
    index, taps, first, last = [], [], [], []
    for axis, spec, n, n_out in zip(m.axes, specs, sizes, out):
        assert isinstance(axis, AxisMap)  # windowed layers only (direct_equivalent)
        f = sp.lambdify((axis.o, axis.k), (axis.input_index, axis.tap(flip)), "math")
        rows = tuple(tuple(int(f(o, k)[0]) for k in range(int(axis.kernel))) for o in range(n_out))
        index.append(rows)
        taps.append(tuple((int(f(0, k)[1]), k) for k in range(int(axis.kernel))))
        seen = [i for row in rows for i in row]
        first.append(min([-int(spec.lo), *seen]))
        last.append(max([n + int(spec.hi) - 1, *seen]))
    pads = tuple((int(s.lo), int(s.hi)) for s in specs)
    return ArithmeticGeometry(layer, direct, sizes, out, inserted, pads, tuple(first), tuple(last), tuple(taps),
                              tuple(index))


def _as_2d(i: tuple[int, ...]) -> tuple[int, int]:
    return (0, i[0]) if len(i) == 1 else (i[0], i[1])


def _cell(ax: Any, row: int, col: int, kind: str, **extra: Any) -> Any:
    from matplotlib.patches import Rectangle

    style = {"input": dict(edgecolor="#3182bd", linestyle="-"), "zero": dict(edgecolor="#3182bd", hatch="..."),
             "padding": dict(edgecolor="grey", linestyle="--"), "overhang": dict(edgecolor="#cccccc", linestyle=":"),
             "output": dict(edgecolor="#31a354"), "output-current": dict(edgecolor="black")}.get(kind, {})
    patch = Rectangle((col - 0.5, row - 0.5), 1, 1, gid=kind,
                      **{"facecolor": _COLOURS[kind], "linewidth": 1.0, **style, **extra})
    ax.add_patch(patch)
    return patch


def _frame(axes: Any, geo: ArithmeticGeometry, o: tuple[int, ...]) -> list[Any]:
    """Draw the window of output ``o`` on the input axes and mark ``o`` on the output axes; return the artists."""
    ax_in, ax_out = axes
    artists = []
    show_weights = geo.direct.__class__.__name__ == "Conv"
    for i, w in geo.window(o):
        r, c = _as_2d(i)
        artists.append(_cell(ax_in, r, c, "window", alpha=0.55, edgecolor="black", linewidth=1.5))
        if show_weights:
            artists.append(ax_in.text(c, r, ",".join(map(str, w)), ha="center", va="center", color="white",
                                      fontsize=7, gid="tap",  # a backing box keeps it readable on hatched zeros
                                      bbox={"facecolor": _COLOURS["window"], "edgecolor": "none", "pad": 1.0}))
    r, c = _as_2d(o)
    artists.append(_cell(ax_out, r, c, "output-current", linewidth=2.0))
    return artists


def _figure(geo: ArithmeticGeometry, title: str) -> tuple[Any, Any]:
    plt = pyplot()
    f_r, f_c = _as_2d(geo.first)
    l_r, l_c = _as_2d(geo.last)
    o_rows, o_cols = _as_2d(tuple(n - 1 for n in geo.output_shape))
    in_w, in_h, out_w, out_h = l_c - f_c + 1, l_r - f_r + 1, o_cols + 1, o_rows + 1
    if len(geo.input_shape) == 1:  # input row above the output row
        fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.55 * max(in_w, out_w) + 1), 3.6), layout="constrained")
    else:
        fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 0.5 * (in_w + out_w) + 2), max(3.5, 0.5 * max(in_h, out_h) + 2)),
                                 gridspec_kw={"width_ratios": [in_w, max(out_w, 1)]}, layout="constrained")
    ax_in, ax_out = axes
    for i in itertools.product(*(range(a, b + 1) for a, b in zip(geo.first, geo.last))):
        r, c = _as_2d(i)
        _cell(ax_in, r, c, geo.kind(i))
    for o in itertools.product(*(range(n) for n in geo.output_shape)):
        r, c = _as_2d(o)
        _cell(ax_out, r, c, "output")
    for ax, (r0, c0, r1, c1), label in ((ax_in, (f_r, f_c, l_r, l_c), "input"),
                                        (ax_out, (0, 0, o_rows, o_cols), "output")):
        if len(geo.input_shape) == 1:  # one cell size in both rows: the output row centred under the input
            half = (in_w + 1.2) / 2
            ax.set_xlim((c0 + c1) / 2 - half, (c0 + c1) / 2 + half)
        else:
            ax.set_xlim(c0 - 0.6, c1 + 0.6)
        ax.set_ylim(r1 + 0.6, r0 - 0.6)
        ax.set_aspect("equal")
        ax.set_xticks(range(c0, c1 + 1))
        ax.set_yticks(range(r0, r1 + 1) if len(geo.input_shape) > 1 else [])
        ax.tick_params(labelsize=7, length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title(label, fontsize=9)
    mode = getattr(geo.direct, "padding_mode", "zeros")
    kinds = {geo.kind(i) for i in itertools.product(*(range(a, b + 1) for a, b in zip(geo.first, geo.last)))}
    notes = ["blue: input, dark: the window"]
    if "zero" in kinds:
        notes.append("dot-hatched: inserted zeros")
    if "padding" in kinds:
        notes.append("dashed: padding" + (f" ({mode})" if mode != "zeros" else ""))
    if "overhang" in kinds:
        notes.append("dotted: a ceil-mode window's overhang (not read)")
    if geo.direct.__class__.__name__ == "Conv":
        notes.append("numbers: the weight index of each tap")
    fig.suptitle(wrapped_title(title, 80), fontsize=9)
    fig.get_layout_engine().set(h_pad=0.08)  # room between the title lines and the panels' titles
    fig.supxlabel(wrapped_title("; ".join(notes), 100), fontsize=7)
    return fig, axes


def _title(layer: Any, geo: ArithmeticGeometry, spatial: Sequence[int]) -> str:
    text = f"{layer!r} on input {tuple(spatial)}"
    if geo.direct is not layer and layer.__class__.__name__ == "ConvTranspose":
        text += f", drawn as {geo.direct!r} over the zero-inserted input {geo.input_shape}"
    return text


def conv_arithmetic(layer: Any, spatial: Sequence[int], position: Sequence[int] | None = None,
                    path: str | os.PathLike[str] | None = None) -> Any:
    """The diagram of ``layer`` (Conv, ConvTranspose, MaxPool, AvgPool; 1-D or 2-D) at input sizes ``spatial``
    with the window of output ``position`` (default: the first).  Returns the figure, written to ``path`` if given.

    >>> from convalg import Conv
    >>> fig = conv_arithmetic(Conv(3, stride=2, padding=1), (5, 5))
    >>> ax_in, ax_out = fig.axes
    >>> sum(p.get_gid() == "padding" for p in ax_in.patches), sum(p.get_gid() == "output" for p in ax_out.patches)
    (24, 9)
    """
    spatial = tuple(spatial)
    if len(spatial) not in (1, 2):
        raise SpecError(f"spatial={spatial}: conv-arithmetic diagrams are 1-D or 2-D")
    geo = arithmetic_geometry(layer, spatial)
    o = tuple(position) if position is not None else (0,) * len(spatial)
    if len(o) != len(spatial) or not all(0 <= p < n for p, n in zip(o, geo.output_shape)):
        raise SpecError(f"position={o}: must index the output of shape {geo.output_shape}")
    fig, axes = _figure(geo, _title(layer, geo, spatial) + f"; output {o}")
    _frame(axes, geo, o)
    return finish(fig, path)


def conv_arithmetic_gif(layer: Any, spatial: Sequence[int], path: str | os.PathLike[str], fps: int = 2) -> int:
    """An animated GIF of the window sliding over every output position (row-major), one frame per position,
    written with matplotlib's Pillow writer.  Returns the number of frames.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    spatial = tuple(spatial)
    if len(spatial) not in (1, 2):
        raise SpecError(f"spatial={spatial}: conv-arithmetic diagrams are 1-D or 2-D")
    geo = arithmetic_geometry(layer, spatial)
    positions = list(itertools.product(*(range(n) for n in geo.output_shape)))
    fig, axes = _figure(geo, _title(layer, geo, spatial))
    drawn: list[Any] = []

    def update(frame: int) -> list[Any]:
        for artist in drawn:
            artist.remove()
        drawn[:] = _frame(axes, geo, positions[frame])
        return drawn

    path = os.fspath(path)
    try:
        animation = FuncAnimation(fig, update, frames=len(positions), blit=False, repeat=False)
        animation.save(path, writer=PillowWriter(fps=fps), dpi=80, savefig_kwargs={"facecolor": "white"})
    except (OSError, ValueError) as e:
        raise SpecError(f"path={path!r}: cannot write the animation ({type(e).__name__}: {e})") from None
    finally:
        pyplot().close(fig)
    return len(positions)
