"""``convalg matrix``: print a layer's operator matrix (small sizes) and draw its sparsity pattern.

::

    convalg matrix 'conv(k=3,p=1,mode=circular)' --input 4,4 --cin 1 --cout 1
    convalg matrix 'conv(k=3,p=1)' --input 5,5 --png conv.png

The header gives the matrix shape, the stored entries, and per level of the
row / column multi-index ``(C, *spatial)`` whether the matrix is circulant,
Toeplitz or neither there (doubly block Toeplitz / circulant for 2-D convs).
``--png`` (needs matplotlib, the ``plot`` extra) colours each distinct entry
and draws the block boundaries of every level.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from .syntax import parse_input, parse_layers

__all__ = ["register", "run", "operator_report", "save_pattern_png", "format_grid"]


def register(sub: Any) -> None:
    p = sub.add_parser("matrix", help="print a layer's operator matrix and its block structure",
                       description="Print the SymPy operator matrix of one layer at small concrete sizes, e.g.  "
                                   "convalg matrix 'conv(k=3,p=1,mode=circular)' --input 4,4 --cin 1 --cout 1")
    p.add_argument("layer", nargs="+", help="one layer, e.g. conv(k=3,p=1) or avgpool(k=2)")
    p.add_argument("--input", required=True, help="concrete spatial input sizes, e.g. 4,4")
    p.add_argument("--cin", type=int, default=None, help="input channels (default: the layer's, else 1)")
    p.add_argument("--cout", type=int, default=None, help="output channels of a conv (default: the layer's, else 1)")
    p.add_argument("--max-cols", type=int, default=40, help="print the matrix only up to this many columns")
    style = p.add_mutually_exclusive_group()
    style.add_argument("--latex", action="store_true", help="print the matrix as LaTeX")
    style.add_argument("--pretty", action="store_true", help="print with SymPy's pretty printer")
    p.add_argument("--png", metavar="FILE", help="write the sparsity pattern with block boundaries (matplotlib)")
    p.set_defaults(func=run)


def _layer(text: list[str], ndim: int, cin: int | None, cout: int | None) -> tuple[Any, int]:
    from ..spec.conv import Conv, ConvTranspose

    for flag, value in (("--cin", cin), ("--cout", cout)):
        if value is not None and value < 1:
            raise SpecError(f"{flag}={value}: a channel count must be >= 1")
    layers = parse_layers(text)
    if len(layers) != 1:
        raise SpecError(f"layer: `convalg matrix` takes one layer, got {len(layers)}")
    layer = layers[0].bind(ndim)
    if isinstance(layer, (Conv, ConvTranspose)):
        changes = {}
        if layer.in_channels is None:
            changes["in_channels"] = cin or layer.groups
        if layer.out_channels is None:
            changes["out_channels"] = cout or layer.groups
        if changes:
            layer = layer.replace(**changes)
        return layer, layer.in_channels
    return layer, cin or 1


def operator_report(layer_text: list[str], input_text: str, cin: int | None = None,
                    cout: int | None = None) -> dict[str, Any]:
    """Layer, matrix, row / column multi-index shapes and per-level structure labels."""
    from ..operators import block_structure, matrix

    spatial = parse_input(input_text)
    layer, channels = _layer(layer_text, len(spatial), cin, cout)
    A = matrix(layer, spatial, in_channels=channels)
    out = layer.output_shape(spatial)
    row_shape = (A.rows // math.prod(out), *out)
    col_shape = (channels, *spatial)
    structure = block_structure(A, row_shape, col_shape) if A.rows * A.cols <= 1 << 16 else None
    return {"layer": layer, "matrix": A, "row_shape": row_shape, "col_shape": col_shape, "structure": structure}


def save_pattern_png(A: sp.MatrixBase, row_shape: tuple[int, ...], col_shape: tuple[int, ...], path: str,
                     title: str = "") -> None:
    """Draw the nonzero pattern of ``A`` (one colour per distinct entry) with the block boundaries of every level."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError("--png: needs matplotlib (pip install matplotlib, or the convalg[plot] extra)") from None
    ids: dict[Any, int] = {}
    image = np.full((A.rows, A.cols), np.nan)
    for (r, c), v in sorted(A.todok().items()):
        image[r, c] = ids.setdefault(v, len(ids))
    size = max(4.0, min(12.0, 0.25 * max(A.rows, A.cols)))
    fig, ax = plt.subplots(figsize=(size * A.cols / max(A.rows, A.cols) + 1.5, size * A.rows / max(A.rows, A.cols) + 1))
    ax.imshow(image, cmap="tab20", interpolation="nearest", vmin=0, vmax=max(len(ids) - 1, 1) if len(ids) <= 20 else None)
    for shape, draw in ((row_shape, ax.axhline), (col_shape, ax.axvline)):
        total = math.prod(shape)
        for level in range(len(shape) - 1):
            block = math.prod(shape[level + 1:])
            width = 2.0 / (level + 1)
            for pos in range(block, total, block):
                draw(pos - 0.5, color="black", linewidth=width)
    ax.set_xlabel(f"input (C, *spatial) = {col_shape}")
    ax.set_ylabel(f"output (C, *spatial) = {row_shape}")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except (OSError, ValueError) as e:  # a missing folder, a directory, an unknown extension
        raise SpecError(f"--png {path!r}: cannot write the image ({type(e).__name__}: {e})") from None
    finally:
        plt.close(fig)


def format_grid(A: sp.MatrixBase, row_shape: tuple[int, ...], col_shape: tuple[int, ...]) -> str:
    """Entries in an aligned grid, ``.`` for zeros, ``|`` / ``-`` rules between the blocks of the second-to-last level.

    >>> print(format_grid(sp.Matrix([[1, 0], [0, 2]]), (1, 2), (2, 1)))
    1 | .
    . | 2
    """
    cells = [["." for _ in range(A.cols)] for _ in range(A.rows)]
    for (r, c), v in A.todok().items():
        cells[r][c] = str(v)
    width = max(len(x) for row in cells for x in row)
    rblock, cblock = row_shape[-1], col_shape[-1]
    lines = []
    for r, row in enumerate(cells):
        if r and r % rblock == 0:
            lines.append("-" * len(lines[-1]))
        parts = []
        for c, x in enumerate(row):
            if c and c % cblock == 0:
                parts.append("|")
            parts.append(x.rjust(width))
        lines.append(" ".join(parts))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rep = operator_report(args.layer, args.input, args.cin, args.cout)
    A, layer = rep["matrix"], rep["layer"]
    print(f"{layer!r} on input {tuple(rep['col_shape'])} (C, *spatial)")
    print(f"matrix: {A.rows} x {A.cols}, {A.nnz()} stored entries; rows {rep['row_shape']}, cols {rep['col_shape']}")
    if rep["structure"] is not None:
        names = ["channels", *[f"axis {a}" for a in range(len(rep["row_shape"]) - 1)]]
        levels = ", ".join(
            f"{name}: {'size 1' if (m, n) == (1, 1) else label}"
            for name, label, m, n in zip(names, rep["structure"], rep["row_shape"], rep["col_shape"])
        )
        print(f"structure per level: {levels}")
    if A.cols <= args.max_cols:
        if args.latex:
            print(sp.latex(A))
        elif args.pretty:
            print(sp.pretty(A, wrap_line=False))
        else:
            print(format_grid(A, rep["row_shape"], rep["col_shape"]))
    else:
        print(f"(not printed: {A.cols} columns > --max-cols {args.max_cols}; use --png FILE)")
    if args.png:
        path = args.png if os.path.splitext(args.png)[1] else args.png + ".png"  # what matplotlib would write
        save_pattern_png(A, rep["row_shape"], rep["col_shape"], path, title=repr(layer))
        print(f"wrote {path}", file=sys.stderr)
    return 0
