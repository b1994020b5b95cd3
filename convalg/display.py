r"""Text, LaTeX, Markdown and HTML renderings shared by the command line and notebooks.

One renderer per object, used by ``convalg shape`` / ``rf`` / ``matrix`` and by
the ``_repr_latex_`` / ``_repr_html_`` / ``_repr_markdown_`` methods that Jupyter
calls, so a notebook shows what the command line prints.

>>> import sympy as sp, convalg
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> table = convalg.Sequential(convalg.Conv(3, stride=2, padding=1), convalg.MaxPool(2)).shape_table((H, 64))
>>> print(table)
input                                     (H, 64)
Conv(kernel_size=3, stride=2, padding=1)  (floor((H - 1)/2) + 1, 32)
MaxPool(kernel_size=2)                    (floor((H - 3)/4) + 1, 16)
>>> escape_latex("Conv(kernel_size=3)")
'Conv(kernel\\_size=3)'
>>> latex_matrix(sp.Matrix([[sp.Symbol("w_0_0_1"), 0]]))
'\\left[\\begin{matrix}w_{0,0,1} & 0\\end{matrix}\\right]'
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .errors import SpecError
from .operators import matrix
from .shapes.simplify import format_size, latex_size
from .vocabulary import CONV_KINDS, kind_of

__all__ = ["escape_latex", "latex_matrix", "latex_symbol_names", "ShapeTable", "RichDisplay", "interval_text",
           "symbolic_sizes", "layer_latex", "format_grid", "with_channels", "OperatorMatrix"]

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_SUBSCRIPTED = re.compile(r"([A-Za-z]+)((?:_\d+)+)")


def escape_latex(text: str) -> str:
    r"""``text`` safe inside a LaTeX text-mode argument such as ``\texttt{...}``.

    >>> print(escape_latex("a_b & 50% {x}"))
    a\_b \& 50\% \{x\}
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_symbol_names(expr: Any) -> dict[sp.Symbol, str]:
    """LaTeX names with comma-separated subscripts for symbols named ``w_0_0_1`` (``w_{0,0,1}``, not ``w_{0 0 1}``).

    >>> latex_symbol_names(sp.Symbol("w_1_12") + sp.Symbol("b_0"))
    {b_0: 'b_{0}', w_1_12: 'w_{1,12}'}
    """
    names = {}
    for s in sorted(sp.sympify(expr).free_symbols, key=str):
        m = _SUBSCRIPTED.fullmatch(s.name)
        if m:
            names[s] = f"{m.group(1)}_{{{','.join(m.group(2)[1:].split('_'))}}}"
    return names


def latex_matrix(matrix: sp.MatrixBase) -> str:
    r"""A SymPy matrix as LaTeX, weight symbols with unambiguous subscripts (see :func:`latex_symbol_names`)."""
    return sp.latex(matrix, symbol_names=latex_symbol_names(matrix))


def interval_text(lo: Any, hi: Any) -> str:
    """A closed interval of indices as text.

    >>> y = sp.Symbol("y", integer=True)
    >>> interval_text(4 * y - 2, 4 * y + 4)
    '[4*y - 2, 4*y + 4]'
    """
    return f"[{format_size(lo)}, {format_size(hi)}]"


class RichDisplay:
    """Mixin: Jupyter's ``_repr_latex_`` / ``_repr_markdown_`` / ``_repr_html_`` from one ``_latex()`` and ``str``."""

    def _latex(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    def _repr_markdown_(self) -> str:
        return f"$${self._latex()}$$"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


@dataclass(frozen=True)
class ShapeTable:
    """A layer stack's input shape and each layer's output shape, as ``convalg shape`` prints it.

    ``rows`` pairs a label (``'input'``, then each layer's repr) with a shape.
    """

    rows: tuple[tuple[str, tuple[Any, ...]], ...]

    @classmethod
    def of(cls, layers: Sequence[Any], shapes: Sequence[tuple[Any, ...]]) -> ShapeTable:
        """Rows from the layers and the shapes of :meth:`convalg.Sequential.shapes` (input first)."""
        labels = ["input", *map(repr, layers)]
        return cls(tuple(zip(labels, map(tuple, shapes))))

    def __str__(self) -> str:
        width = max(len(label) for label, _ in self.rows)
        return "\n".join(f"{label:<{width}}  ({', '.join(map(format_size, shape))})" for label, shape in self.rows)

    def to_latex(self) -> str:
        r"""A ``tabular`` that compiles as it is (layer names in ``\texttt``, underscores escaped)."""
        lines = [r"\begin{tabular}{ll}", r"layer & output \\ \hline"]
        for i, (label, shape) in enumerate(self.rows):
            name = label if i == 0 else rf"\texttt{{{escape_latex(label)}}}"
            lines.append(rf"{name} & $({', '.join(map(latex_size, shape))})$ \\")
        lines.append(r"\end{tabular}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A Markdown table, sizes as inline LaTeX."""
        lines = ["| layer | output |", "|---|---|"]
        for label, shape in self.rows:
            lines.append(f"| `{label}` | $({', '.join(map(latex_size, shape))})$ |")
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table, sizes as text."""
        body = "".join(f"<tr><td><code>{html.escape(label)}</code></td>"
                       f"<td>({html.escape(', '.join(map(format_size, shape)))})</td></tr>" for label, shape in self.rows)
        return f"<table><tr><th>layer</th><th>output</th></tr>{body}</table>"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


def symbolic_sizes(ndim: int | None) -> tuple[sp.Symbol, ...]:
    """Positive integer size symbols for a display: ``(L,)``, ``(H, W)``, ``(D, H, W)``, else ``n0, n1, ...``.

    >>> symbolic_sizes(None), symbolic_sizes(3)
    ((H, W), (D, H, W))
    """
    names = {1: "L", 2: "H W", 3: "D H W"}.get(ndim or 2, " ".join(f"n{a}" for a in range(ndim or 2)))
    return tuple(sp.symbols(names, integer=True, positive=True, seq=True))


def layer_latex(layer: Any) -> str:
    r"""A layer as ``\texttt{repr}: (H, W) \mapsto (...)``, LaTeX that MathJax and ``pdflatex`` both accept.

    >>> from convalg import MaxPool
    >>> print(layer_latex(MaxPool(2, ndim=1)))
    \texttt{MaxPool(kernel\_size=2, ndim=1)} : (L) \mapsto (\left\lfloor{\frac{L}{2}}\right\rfloor)
    """
    name = rf"\texttt{{{escape_latex(repr(layer))}}}"
    try:
        table = layer.shape_table(symbolic_sizes(layer.ndim))
    except ValueError:  # e.g. a size the stack cannot take symbolically: show the name alone
        return name
    first, last = table.rows[0][1], table.rows[-1][1]
    return rf"{name} : ({', '.join(map(latex_size, first))}) \mapsto ({', '.join(map(latex_size, last))})"


def format_grid(matrix: sp.MatrixBase, row_shape: tuple[int, ...], col_shape: tuple[int, ...]) -> str:
    """Entries in an aligned grid, ``.`` for zeros, ``|`` / ``-`` rules between the blocks of the second-to-last level.

    >>> print(format_grid(sp.Matrix([[1, 0], [0, 2]]), (1, 2), (2, 1)))
    1 | .
    . | 2
    """
    cells = [["." for _ in range(matrix.cols)] for _ in range(matrix.rows)]
    for (r, c), v in matrix.todok().items():
        cells[r][c] = str(v)
    width = max(len(x) for row in cells for x in row)
    rblock, cblock = row_shape[-1], col_shape[-1]
    lines: list[str] = []
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


def with_channels(layer: Any, ndim: int, in_channels: int | None = None,
                  out_channels: int | None = None) -> tuple[Any, int]:
    """``layer`` bound to ``ndim`` axes with concrete channel counts (declared, else given, else ``groups``),
    and its input channel count (pools: ``in_channels`` or 1)."""
    for flag, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value is not None and value < 1:
            raise SpecError(f"{flag}={value}: a channel count must be >= 1")
    layer = layer.bind(ndim)
    if kind_of(layer) in CONV_KINDS:
        changes = {}
        if layer.in_channels is None:
            changes["in_channels"] = in_channels or layer.groups
        if layer.out_channels is None:
            changes["out_channels"] = out_channels or layer.groups
        if changes:
            layer = layer.replace(**changes)
        return layer, layer.in_channels
    return layer, in_channels or 1


@dataclass(frozen=True)
class OperatorMatrix(RichDisplay):
    """A layer's operator matrix with its row / column multi-index shapes ``(C, *spatial)``, for display.

    ``str`` is the grid ``convalg matrix`` prints; LaTeX uses unambiguous weight subscripts.

    >>> from convalg import Conv
    >>> op = OperatorMatrix.of(Conv(2), (3,))
    >>> print(op)
    w_0_0_0 w_0_0_1       .
          . w_0_0_0 w_0_0_1
    >>> print(op._repr_latex_())
    $\\left[\\begin{matrix}w_{0,0,0} & w_{0,0,1} & 0\\\\0 & w_{0,0,0} & w_{0,0,1}\\end{matrix}\\right]$
    """

    layer: Any
    matrix: sp.MatrixBase
    row_shape: tuple[int, ...]
    col_shape: tuple[int, ...]

    @classmethod
    def of(cls, layer: Any, spatial: Sequence[int], in_channels: int | None = None,
           out_channels: int | None = None) -> OperatorMatrix:
        """The operator of ``layer`` at input sizes ``spatial`` (channels as :func:`with_channels` fills them)."""
        spatial = tuple(spatial)
        layer, channels = with_channels(layer, len(spatial), in_channels, out_channels)
        A = matrix(layer, spatial, in_channels=channels)
        out = layer.output_shape(spatial)
        return cls(layer, A, (A.rows // math.prod(out), *out), (channels, *spatial))

    def __str__(self) -> str:
        return format_grid(self.matrix, self.row_shape, self.col_shape)

    def _latex(self) -> str:
        return latex_matrix(self.matrix)
