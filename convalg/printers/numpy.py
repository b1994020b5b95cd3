"""Print the symbolic index maps into NumPy source (the kernels' generated part).

:class:`NumpyPrinter` is SymPy's :class:`sympy.printing.numpy.NumPyPrinter` with
the shared integer rules of :class:`~convalg.printers.base.IntegerIndexPrinter`
(a fraction outside ``floor`` / ``ceiling`` is refused): it prints integer index
arithmetic so that it broadcasts over NumPy index arrays:

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
>>> numpy_code(sp.Max(2*o - 1 + k, 0))
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

from .base import IntegerIndexPrinter

__all__ = ["NumpyPrinter", "numpy_code", "print_module", "compile_source"]


class NumpyPrinter(IntegerIndexPrinter, NumPyPrinter):
    """NumPy printer for integer index expressions (exact, broadcasting; see the module docstring)."""

    printmethod = "_convalg_numpycode"
    target = "numpy"
    min_function = "numpy.minimum"
    max_function = "numpy.maximum"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(dict(settings or {}, fully_qualified_modules=True))

    # -- the integer operations (IntegerIndexPrinter hooks) ------------------------------------------
    def _floordiv(self, num: sp.Expr, den: sp.Expr) -> str:
        return f"(({self._print(num)})//({self._print(den)}))"

    def _ceildiv(self, num: sp.Expr, den: sp.Expr) -> str:
        return f"(-((-({self._print(num)}))//({self._print(den)})))"

    def _whole(self, arg: sp.Expr, num: sp.Expr) -> str:
        return f"({self._print(num)})"

    def _mod(self, a: sp.Expr, b: sp.Expr) -> str:
        return f"numpy.mod({self._print(a)}, {self._print(b)})"

    def _piecewise(self, expr: sp.Piecewise) -> str:
        return NumPyPrinter._print_Piecewise(self, expr)

    def _power(self, expr: sp.Expr, base: sp.Expr, exp: int) -> str:
        return NumPyPrinter._print_Pow(self, expr)


#: The former name of :class:`NumpyPrinter`.


def numpy_code(expr: Any) -> str:
    """Print one integer index expression or predicate as NumPy (see :class:`NumpyPrinter`).

    >>> numpy_code(sp.ceiling(sp.Symbol("o0") / 3))
    '(-((-(o0))//(3)))'
    """
    return NumpyPrinter().doprint(sp.sympify(expr))


def print_module(name: str, args: Sequence[str], assignments: Sequence[tuple[str, Any]],
                 comments: Sequence[str] = ()) -> str:
    """Source of ``def name(numpy, *args)`` computing ``assignments`` and returning them as a tuple.

    Each assignment is ``(variable, value)``; a SymPy value is printed with
    :class:`NumpyPrinter`, anything else with ``repr``.
    """
    printer = NumpyPrinter()
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
