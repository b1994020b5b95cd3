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
import os
import sys
from typing import Any

import sympy as sp

from ..display import OperatorMatrix, format_grid, latex_matrix
from ..errors import SpecError
from ..operators import block_structure
from .syntax import parse_input, parse_layers

__all__ = ["register", "run", "operator_report", "format_grid"]


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


def operator_report(layer_text: list[str], input_text: str, cin: int | None = None,
                    cout: int | None = None) -> dict[str, Any]:
    """Layer, matrix, row / column multi-index shapes and per-level structure labels."""
    spatial = parse_input(input_text)
    layers = parse_layers(layer_text)
    if len(layers) != 1:
        raise SpecError(f"layer: `convalg matrix` takes one layer, got {len(layers)}")
    for flag, value in (("--cin", cin), ("--cout", cout)):
        if value is not None and value < 1:
            raise SpecError(f"{flag}={value}: a channel count must be >= 1")
    op = OperatorMatrix.of(layers[0], spatial, cin, cout)
    A = op.matrix
    structure = block_structure(A, op.row_shape, op.col_shape) if A.rows * A.cols <= 1 << 16 else None
    return {"layer": op.layer, "matrix": A, "row_shape": op.row_shape, "col_shape": op.col_shape,
            "structure": structure}


def run(args: argparse.Namespace) -> int:
    rep = operator_report(args.layer, args.input, args.cin, args.cout)
    A, layer = rep["matrix"], rep["layer"]
    header = sys.stderr if args.latex else sys.stdout  # with --latex, stdout carries LaTeX only
    print(f"{layer!r} on input {tuple(rep['col_shape'])} (C, *spatial)", file=header)
    print(f"matrix: {A.rows} x {A.cols}, {A.nnz()} stored entries; rows {rep['row_shape']}, cols {rep['col_shape']}",
          file=header)
    if rep["structure"] is not None:
        names = ["channels", *[f"axis {a}" for a in range(len(rep["row_shape"]) - 1)]]
        levels = ", ".join(
            f"{name}: {'size 1' if (m, n) == (1, 1) else label}"
            for name, label, m, n in zip(names, rep["structure"], rep["row_shape"], rep["col_shape"])
        )
        print(f"structure per level: {levels}", file=header)
    if A.cols <= args.max_cols:
        if args.latex:
            print(latex_matrix(A))
        elif args.pretty:
            print(sp.pretty(A, wrap_line=False))
        else:
            print(format_grid(A, rep["row_shape"], rep["col_shape"]))
    else:
        print(f"(not printed: {A.cols} columns > --max-cols {args.max_cols}; use --png FILE)", file=header)
    if args.png:
        path = args.png if os.path.splitext(args.png)[1] else args.png + ".png"  # what matplotlib would write
        from ..plot import sparsity  # matplotlib is optional: imported when a PNG is asked for

        sparsity(A, rep["row_shape"], rep["col_shape"], path, title=repr(layer))
        print(f"wrote {path}", file=sys.stderr)
    return 0
