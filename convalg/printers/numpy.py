"""Print the symbolic index maps into NumPy source (the kernels' generated part).

:class:`IndexPrinter` is a :class:`sympy.printing.numpy.NumPyPrinter` that
prints integer index arithmetic so that it broadcasts over NumPy index arrays:

=====================  ==========================================
SymPy                  printed NumPy
=====================  ==========================================
``Min(a, b, ...)``     ``numpy.minimum(a, numpy.minimum(b, ...))``
``Max(a, b, ...)``     ``numpy.maximum(...)``
``Mod(a, b)``          ``numpy.mod(a, b)``
``floor(p/q)``         ``((p)//(q))`` (exact integer division)
``ceiling(p/q)``       ``(-((-(p))//(q)))``
``Piecewise``          ``numpy.select([...], [...], default)``
relations, ``And``     element-wise comparisons and ``&``
=====================  ==========================================

:func:`print_module` assembles printed assignments into the source of a
Python function; :func:`compile_source` runs it.  The kernels keep that source
on their plans (``plan.source``) so what runs can be read.

>>> import sympy as sp
>>> o, k = sp.symbols("o0 k0", integer=True)
>>> IndexPrinter().doprint(sp.Max(2*o - 1 + k, 0))
'numpy.maximum(0, k0 + 2*o0 - 1)'
>>> src = print_module("f", ["o0"], [("i0", sp.floor((o - 1) / 2))])
>>> print(src)
def f(numpy, o0):
    i0 = ((o0 - 1)//(2))
    return (i0,)
>>> import numpy as np
>>> compile_source(src, "f")(np, np.arange(4))[0].tolist()
[-1, 0, 0, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

__all__ = ["IndexPrinter", "print_module", "compile_source", "print_index"]


class IndexPrinter(NumPyPrinter):
    """NumPy printer for integer index expressions (exact, broadcasting)."""

    printmethod = "_convalg_numpycode"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(dict(settings or {}, fully_qualified_modules=True))

    def _nested(self, func: str, args: Sequence[sp.Basic]) -> str:
        first, *rest = args
        if not rest:
            return self._print(first)
        return f"numpy.{func}({self._print(first)}, {self._nested(func, rest)})"

    def _print_Min(self, expr: sp.Min) -> str:
        return self._nested("minimum", expr.args)

    def _print_Max(self, expr: sp.Max) -> str:
        return self._nested("maximum", expr.args)

    def _print_Mod(self, expr: sp.Mod) -> str:
        a, b = expr.args
        return f"numpy.mod({self._print(a)}, {self._print(b)})"

    def _split(self, arg: sp.Expr) -> tuple[str, str]:
        num, den = sp.fraction(sp.together(arg))
        return self._print(sp.expand(num)), self._print(den)

    def _print_floor(self, expr: sp.floor) -> str:
        num, den = self._split(expr.args[0])
        return f"(({num})//({den}))" if den != "1" else f"({num})"

    def _print_ceiling(self, expr: sp.ceiling) -> str:
        num, den = self._split(expr.args[0])
        return f"(-((-({num}))//({den})))" if den != "1" else f"({num})"

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q == 1:
            return str(expr.p)
        raise ValueError(f"{expr}: a non-integer rational in an index expression; wrap it in floor/ceiling")


def print_index(expr: sp.Basic) -> str:
    """Print one index expression (see :class:`IndexPrinter`).

    >>> print_index(sp.ceiling(sp.Symbol("o0") / 3))
    '(-((-(o0))//(3)))'
    """
    return IndexPrinter().doprint(sp.sympify(expr))


def print_module(name: str, args: Sequence[str], assignments: Sequence[tuple[str, Any]],
                 comments: Sequence[str] = ()) -> str:
    """Source of ``def name(numpy, *args)`` computing ``assignments`` and returning them as a tuple.

    Each assignment is ``(variable, value)``; a SymPy value is printed with
    :class:`IndexPrinter`, anything else with ``repr``.
    """
    printer = IndexPrinter()
    lines = [f"def {name}(numpy{''.join(', ' + a for a in args)}):"]
    lines += [f"    # {c}" for c in comments]
    for var, value in assignments:
        text = printer.doprint(value) if isinstance(value, sp.Basic) else repr(value)
        lines.append(f"    {var} = {text}")
    names = ", ".join(v for v, _ in assignments)
    lines.append(f"    return ({names}{',' if len(assignments) == 1 else ''})")
    return "\n".join(lines)


def compile_source(source: str, name: str) -> Callable[..., Any]:
    """Execute printed source and return the function ``name`` defined there."""
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<convalg generated {name}>", "exec"), namespace)  # noqa: S102 - our own printed source
    return namespace[name]
