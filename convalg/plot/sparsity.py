"""The sparsity picture of an operator matrix: one colour and one number per distinct entry, block lines per level."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import sympy as sp

from ._mpl import finish, palette, pyplot, wrapped_title

__all__ = ["sparsity", "NUMBERED_UP_TO"]

#: Cells carry their entry's number while the matrix has at most this many rows and columns.
NUMBERED_UP_TO = 40


def sparsity(matrix: sp.MatrixBase, row_shape: tuple[int, ...], col_shape: tuple[int, ...],
             path: str | os.PathLike[str] | None = None, title: str = "") -> Any:
    """Draw the nonzero pattern of ``matrix``: each distinct entry gets a colour and a number (written in its cells
    for small matrices), a legend maps the numbers to the entries, and lines mark the blocks of every level of the
    row / column multi-index ``(C, *spatial)`` (thick between channels, thinner between rows of an axis).

    Returns the figure; with ``path`` it is also written there (PNG).  The cells are the axes' image, the legend
    entries its legend handles.

    >>> from convalg.display import OperatorMatrix
    >>> from convalg import Conv
    >>> op = OperatorMatrix.of(Conv(3, padding=1), (3, 3))
    >>> fig = sparsity(op.matrix, op.row_shape, op.col_shape, title="Conv")
    >>> len(fig.axes[0].get_legend().get_texts())          # the 9 weights
    9
    """
    plt = pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    ids: dict[Any, int] = {}
    image = np.full((matrix.rows, matrix.cols), np.nan)
    for (r, c), v in sorted(matrix.todok().items()):
        image[r, c] = ids.setdefault(v, len(ids))
    colours = palette(max(len(ids), 1))
    side = max(matrix.rows, matrix.cols)
    size = max(4.0, min(12.0, 0.3 * side))
    fig, ax = plt.subplots(figsize=(size * matrix.cols / side + 1.0, size * matrix.rows / side + 1.0))
    ax.imshow(image, cmap=ListedColormap(colours), interpolation="nearest", vmin=-0.5, vmax=len(colours) - 0.5)
    if side <= NUMBERED_UP_TO:
        for (r, c), v in matrix.todok().items():
            red, green, blue = colours[ids[v]]
            ink = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"  # readable on the cell
            ax.text(c, r, str(ids[v]), ha="center", va="center", fontsize=max(4, min(9, 180 // side)), color=ink,
                    gid="number")
    for shape, draw in ((row_shape, ax.axhline), (col_shape, ax.axvline)):
        total = math.prod(shape)
        for level in range(len(shape) - 1):
            block = math.prod(shape[level + 1:])
            for pos in range(block, total, block):
                draw(pos - 0.5, color="black", linewidth=2.0 / (level + 1), gid=f"block-level-{level}")
    handles = [Patch(facecolor=colours[i], edgecolor="black", label=f"{i}: {v}") for v, i in ids.items()]
    if handles:
        ax.legend(handles=handles, title="entry", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                  ncol=max(1, math.ceil(len(handles) / 24)), frameon=False)
    ax.set_xlabel(f"input index (C, *spatial) = {tuple(col_shape)}")
    ax.set_ylabel(f"output index (C, *spatial) = {tuple(row_shape)}")
    ax.set_title(wrapped_title(title), fontsize=9)
    return finish(fig, path)
