"""CUDA C printer for the integer index expressions of :mod:`convalg.index_map`.

:class:`CudaPrinter` is SymPy's :class:`~sympy.printing.c.C99CodePrinter` with the
shared integer rules of :class:`~convalg.printers.base.IntegerIndexPrinter`: it
prints index arithmetic the way the maps mean it (Python/SymPy floor semantics),
never C's truncating semantics by accident, and refuses what is not integer
arithmetic (a fraction outside ``floor`` / ``ceiling``, a float):

=====================  ===============================================================
SymPy                  printed CUDA C
=====================  ===============================================================
``floor(x/d)``         ``(x / d)`` when both sides are known non-negative, else
                       ``cv_floordiv(x, d)``
``ceiling(x/d)``       ``cv_ceildiv(x, d)``
``Mod(a, b)``          ``(a % b)`` when both are known non-negative, else ``cv_mod``
``Min`` / ``Max``      ``cv_min`` / ``cv_max`` (integer, nested)
``Piecewise``          nested ``?:`` on one line
``And/Or/Eq/<``        ``&&``, ``||``, ``==``, ``<``
=====================  ===============================================================

The ``cv_*`` helpers are defined by :data:`PREAMBLE`, which every generated
source inlines (CuPy's disk cache does not track user headers).  It also holds
``cv_order_key``, the order of floats as ints, with which the max kernels compare
(exact for subnormals under CuPy's ``-ftz=true``).  The same
preamble compiles as host C++ (see ``convalg.kernels.cuda.hostshim``).

>>> import sympy as sp
>>> from convalg.index_map import AxisMap
>>> m = AxisMap(n=9, n_out=5, kernel=3, stride=2, dilation=1, lo=1, hi=1)
>>> cuda_code(m.input_index)
'k0 + 2*o0 - 1'
>>> cuda_code(m.gather_index)
'cv_floordiv(i0 - k0 + 1, 2)'
>>> cuda_code(m.padded_index("circular"))
'cv_mod(k0 + 2*o0 + 8, 9)'
>>> cuda_code(sp.floor(m.o / 3), nonnegative=[m.o])
'(o0 / 3)'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sympy as sp
from sympy.printing.c import C99CodePrinter

from .base import IntegerIndexPrinter

__all__ = ["CudaPrinter", "cuda_code", "PREAMBLE", "c_name"]

PREAMBLE = r"""
#ifndef CONVALG_PREAMBLE
#define CONVALG_PREAMBLE
/* Integer helpers with floor semantics (SymPy's), used by printed index expressions. */
__device__ __forceinline__ int cv_floordiv(int a, int b) {
    int q = a / b;
    return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}
__device__ __forceinline__ int cv_ceildiv(int a, int b) { return -cv_floordiv(-a, b); }
__device__ __forceinline__ int cv_mod(int a, int b) {
    int r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
__device__ __forceinline__ int cv_min(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int cv_max(int a, int b) { return a > b ? a : b; }
/* The order of floats as ints (sign-magnitude bits to two's complement, -0 == +0, NaN above +inf):
   exact for subnormals, which float compares treat as 0 under -ftz=true (CuPy always passes it). */
__device__ __forceinline__ int cv_order_key(float v) {
    const int b = __float_as_int(v);
    return isnan(v) ? 0x7fffffff : (b < 0 ? -(b & 0x7fffffff) : b);
}
#endif
"""


def c_name(symbol: sp.Symbol) -> str:
    """The C identifier of an index symbol (its name; SymPy index symbols are valid C names)."""
    return str(symbol)


class CudaPrinter(IntegerIndexPrinter, C99CodePrinter):
    """Print integer index expressions and predicates as CUDA C (see the module docstring).

    ``nonnegative``: symbols the caller guarantees to be >= 0 at run time
    (loop counters, thread indices); they let ``%`` and ``/`` be printed
    directly instead of the floor-semantics helpers.
    """

    printmethod = "_cudacode"
    language = "CUDA"
    target = "cuda"
    min_function = "cv_min"
    max_function = "cv_max"

    def __init__(self, settings: dict[str, Any] | None = None, nonnegative: Iterable[sp.Symbol] = ()) -> None:
        super().__init__(settings or {})
        self._nonneg = set(nonnegative)

    # -- sign knowledge ---------------------------------------------------------------------
    def is_nonnegative(self, e: sp.Expr) -> bool:
        """Whether ``e`` is known to be >= 0 (from SymPy's assumptions or the ``nonnegative`` symbols)."""
        if e.is_nonnegative:
            return True
        if e.is_Symbol:
            return e in self._nonneg
        if e.is_Integer:
            return int(e) >= 0
        if isinstance(e, (sp.Add, sp.Mul)):
            return all(self.is_nonnegative(a) for a in e.args)
        if isinstance(e, (sp.Mod, sp.floor, sp.ceiling, sp.Min, sp.Max)):
            return all(self.is_nonnegative(a) for a in e.args)
        return False

    def _operand(self, e: sp.Expr) -> str:
        """``e`` printed as an operand of a C binary operator (parenthesised unless atomic)."""
        text = self._print(e)
        return text if (e.is_Symbol or e.is_Integer and e >= 0) else f"({text})"

    # -- the integer operations (IntegerIndexPrinter hooks) ------------------------------------------
    def _floordiv(self, num: sp.Expr, den: sp.Expr) -> str:
        if self.is_nonnegative(num) and self.is_nonnegative(den):
            return f"({self._operand(num)} / {self._operand(den)})"
        return f"cv_floordiv({self._print(num)}, {self._print(den)})"

    def _ceildiv(self, num: sp.Expr, den: sp.Expr) -> str:
        if self.is_nonnegative(num) and self.is_nonnegative(den):
            return f"(({self._print(num)} + {self._print(den - 1)}) / {self._operand(den)})"
        return f"cv_ceildiv({self._print(num)}, {self._print(den)})"

    def _whole(self, arg: sp.Expr, num: sp.Expr) -> str:
        return self._print(arg)

    def _mod(self, a: sp.Expr, b: sp.Expr) -> str:
        if self.is_nonnegative(a) and self.is_nonnegative(b):
            return f"({self._operand(a)} % {self._operand(b)})"
        return f"cv_mod({self._print(a)}, {self._print(b)})"

    def _piecewise(self, expr: sp.Piecewise) -> str:
        *head, (last, _) = expr.args
        out = f"({self._print(last)})"
        for e, c in reversed(head):
            out = f"(({self._print(c)}) ? ({self._print(e)}) : {out})"
        return out

    def _power(self, expr: sp.Expr, base: sp.Expr, exp: int) -> str:
        return "(" + "*".join([f"({self._print(base)})"] * exp) + ")"

    def _print_BooleanTrue(self, expr: Any) -> str:
        return "true"

    def _print_BooleanFalse(self, expr: Any) -> str:
        return "false"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return c_name(expr)


#: The former name of :class:`CudaPrinter`.


def cuda_code(expr: Any, nonnegative: Iterable[sp.Symbol] = (), **settings: Any) -> str:
    """Print an integer index expression or predicate as CUDA C (see :class:`CudaPrinter`).

    >>> import sympy as sp
    >>> o = sp.Symbol("o", integer=True)
    >>> cuda_code(sp.And(sp.Ge(o - 1, 0), sp.Lt(o - 1, 8)))
    'o - 1 >= 0 && o - 1 < 8'
    """
    return CudaPrinter(settings, nonnegative=nonnegative).doprint(sp.sympify(expr))
