"""Max-pool gradient routing: each output's gradient goes to the input that won its window (ties marked)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import SpecError
from ..operators.maxpool import max_pool_mask, window_candidates
from ._mpl import finish, pyplot, wrapped_title

__all__ = ["routing_table", "max_pool_routing"]


def routing_table(layer: Any, x: Any) -> list[tuple[int, int, tuple[int, ...]]]:
    """Per flat output position: ``(output, winning input, other inputs of its window that tie with the winner)``,
    flat indices into one channel; the winner is PyTorch's (the first maximum in scan order).

    >>> from convalg import MaxPool
    >>> routing_table(MaxPool(2, ndim=1), np.array([3.0, 3.0, 1.0, 2.0]))
    [(0, 0, (1,)), (1, 3, ())]
    """
    arr = np.asarray(x, dtype=np.float64)
    selection = max_pool_mask(layer, arr[None])
    _, windows = window_candidates(layer, arr.shape)
    flat = arr.reshape(-1)
    table = []
    assert selection.indices is not None  # numeric input
    for out, (winner, taps) in enumerate(zip(selection.indices.reshape(-1).tolist(), windows)):
        ties = tuple(sorted({t for t in taps if t != winner and flat[t] == flat[winner]}))
        table.append((out, int(winner), ties))
    return table


def max_pool_routing(layer: Any, x: Any, grad: Any = None, path: str | os.PathLike[str] | None = None) -> Any:
    """Three grids: the input ``x`` (winners dark, inputs that tie with a winner hatched and starred), the output
    gradient ``grad`` (default ``1, 2, 3, ...``), and the input gradient ``M^T grad``, an arrow from each output to
    the input its gradient goes to.  ``x`` is one channel, 1-D or 2-D.

    Arrows have gid ``'route'`` (one per output), tie marks ``'tie'``.

    >>> from convalg import MaxPool
    >>> fig = max_pool_routing(MaxPool(2), np.array([[1., 4., 2., 2.], [4., 0., 1., 0.]]))
    >>> sum(a.get_gid() == "route" for a in fig.artists), sum(t.get_gid() == "tie" for t in fig.axes[0].texts)
    (2, 2)
    """
    plt = pyplot()
    layer, arr, g, dx, table = _routing(layer, x, grad)
    panels = [(_grid(arr), "input x"), (_grid(g), "output gradient g"), (_grid(dx), "input gradient M^T g")]
    widths = [p.shape[1] for p, _ in panels]
    height = max(p.shape[0] for p, _ in panels)
    if arr.ndim == 1:  # rows stacked, so that the arrows run downwards and do not overlap
        fig, axes = plt.subplots(3, 1, figsize=(max(6.0, 0.7 * max(widths) + 1.5), 4.6), layout="constrained")
    else:
        fig, axes = plt.subplots(1, 3, figsize=(max(7.0, 0.7 * sum(widths) + 2), max(2.6, 0.7 * height + 1.8)),
                                 gridspec_kw={"width_ratios": widths}, layout="constrained")
    winners = {w for _, w, _ in table}
    tied = {t for _, _, ties in table for t in ties}
    fills: tuple[Callable[[int, float], str], ...] = (
        lambda flat, v: "#fdae6b" if flat in winners else "white",  # the inputs that win a window
        lambda flat, v: "#c7e9c0",
        lambda flat, v: "#fdae6b" if v != 0 else "white",  # the inputs that receive a gradient
    )
    for ax, (values, label), fill, hatched in zip(axes, panels, fills, (tied, set(), set())):
        _draw_panel(ax, values, label, fill, hatched)
    _draw_routes(fig, axes, table, out_cols=panels[1][0].shape[1], in_cols=panels[2][0].shape[1])
    ties = sum(1 for _, _, t in table if t)
    fig.suptitle(wrapped_title(f"{layer!r}: each output's gradient goes to its window's first maximum (PyTorch); "
                               f"hatched * = an input tying with its window's winner ({ties} windows with ties)", 90),
                 fontsize=9)
    return finish(fig, path)


def _routing(layer: Any, x: Any, grad: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    """``(layer bound to x's dims, x, output gradient, input gradient, routing table)``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise SpecError(f"x: shape {arr.shape}; the routing picture takes one channel, 1-D or 2-D")
    layer = layer.bind(arr.ndim)
    selection = max_pool_mask(layer, arr[None])
    out_shape = selection.output.shape[1:]
    g = np.arange(1.0, np.prod(out_shape) + 1).reshape(out_shape) if grad is None else np.asarray(grad, float)
    if g.shape != out_shape:
        raise SpecError(f"grad: shape {g.shape} does not match the output shape {out_shape}")
    dx = selection.grad(g[None])[0]
    return layer, arr, g, dx, routing_table(layer, arr)


def _grid(a: np.ndarray) -> np.ndarray:
    return a.reshape(1, -1) if a.ndim == 1 else a


def _draw_panel(ax: Any, values: np.ndarray, label: str, fill: Callable[[int, float], str],
                hatched: set[int]) -> None:
    """One grid of numbers, cell ``flat`` coloured ``fill(flat, value)``; ``hatched`` cells marked as ties."""
    from matplotlib.patches import Rectangle

    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            flat = r * cols + c
            hatch = "//" if flat in hatched else None
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=fill(flat, values[r, c]), edgecolor="black",
                                   hatch=hatch, gid="cell"))
            ax.text(c, r, f"{values[r, c]:g}", ha="center", va="center", fontsize=9)
            if hatch:
                ax.text(c + 0.32, r - 0.28, "*", color="red", fontsize=12, ha="center", va="center", gid="tie")
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows) if rows > 1 else [])
    ax.tick_params(labelsize=7, length=0)
    ax.set_title(label, fontsize=9)
    for side in ax.spines.values():
        side.set_visible(False)


def _draw_routes(fig: Any, axes: Any, table: list[Any], out_cols: int, in_cols: int) -> None:
    """An arrow (gid ``'route'``) from each output gradient to the input it goes to."""
    from matplotlib.patches import ConnectionPatch

    for out, winner, _ in table:
        src = (out % out_cols, out // out_cols)
        dst = (winner % in_cols, winner // in_cols)
        arrow = ConnectionPatch(xyA=src, coordsA="data", axesA=axes[1], xyB=dst, coordsB="data", axesB=axes[2],
                                arrowstyle="->", color="#d94801", linewidth=1.2, shrinkA=6, shrinkB=6)
        arrow.set_gid("route")
        fig.add_artist(arrow)
