"""CUDA C printer for the integer index expressions of :mod:`convalg.index_map`.

A subclass of SymPy's :class:`~sympy.printing.c.C99CodePrinter` that prints
*integer* index arithmetic the way the maps mean it (Python/SymPy floor
semantics), never C's truncating semantics by accident:

=====================  ===============================================================
SymPy                  printed CUDA C
=====================  ===============================================================
``a + b/3`` (rational  ``cv_floordiv(3*a + b, 3)``; exact where the map divides exactly
coefficients)          (``gather_output`` under ``gather_condition``), the floor
                       otherwise, so comparisons with integers stay right
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
>>> cuda_code(m.gather_output)
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

__all__ = ["CudaCodePrinter", "cuda_code", "PREAMBLE", "c_name"]

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


class CudaCodePrinter(C99CodePrinter):
    """Print integer index expressions and predicates as CUDA C (see the module docstring).

    ``nonnegative``: symbols the caller guarantees to be >= 0 at run time
    (loop counters, thread indices); they let ``%`` and ``/`` be printed
    directly instead of the floor-semantics helpers.
    """

    printmethod = "_cudacode"
    language = "CUDA"

    def __init__(self, settings: dict[str, Any] | None = None, nonnegative: Iterable[sp.Symbol] = ()) -> None:
        super().__init__(settings or {})
        self._nonneg = set(nonnegative)

    # -- sign knowledge ---------------------------------------------------------------------
    def _is_nonneg(self, e: sp.Expr) -> bool:
        if e.is_nonnegative:
            return True
        if e.is_Symbol:
            return e in self._nonneg
        if e.is_Integer:
            return int(e) >= 0
        if isinstance(e, (sp.Add, sp.Mul)):
            return all(self._is_nonneg(a) for a in e.args)
        if isinstance(e, (sp.Mod, sp.floor, sp.ceiling, sp.Min, sp.Max)):
            return all(self._is_nonneg(a) for a in e.args)
        return False

    # -- integer arithmetic ------------------------------------------------------------------
    def _split_rational(self, expr: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        num, den = sp.fraction(sp.together(expr))
        if den == 1:
            return None
        if not den.is_Integer:
            raise ValueError(f"cuda printer: cannot print {expr} as integer arithmetic (denominator {den})")
        return sp.expand(num), den

    def _operand(self, e: sp.Expr) -> str:
        """``e`` printed as an operand of a C binary operator (parenthesised unless atomic)."""
        text = self._print(e)
        return text if (e.is_Symbol or e.is_Integer and e >= 0) else f"({text})"

    def _floordiv(self, num: sp.Expr, den: sp.Expr) -> str:
        if self._is_nonneg(num) and self._is_nonneg(den):
            return f"({self._operand(num)} / {self._operand(den)})"
        return f"cv_floordiv({self._print(num)}, {self._print(den)})"

    def _print_Add(self, expr: sp.Expr, order: Any = None) -> str:
        split = self._split_rational(expr)
        if split is not None:
            return self._floordiv(*split)
        return super()._print_Add(expr, order)

    def _print_Mul(self, expr: sp.Expr) -> str:
        split = self._split_rational(expr)
        if split is not None:
            return self._floordiv(*split)
        return super()._print_Mul(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q == 1:
            return str(expr.p)
        return f"cv_floordiv({expr.p}, {expr.q})"

    def _print_floor(self, expr: sp.Expr) -> str:
        arg = expr.args[0]
        split = self._split_rational(arg)
        return self._print(arg) if split is None else self._floordiv(*split)

    def _print_ceiling(self, expr: sp.Expr) -> str:
        arg = expr.args[0]
        split = self._split_rational(arg)
        if split is None:
            return self._print(arg)
        num, den = split
        if self._is_nonneg(num) and self._is_nonneg(den):
            return f"(({self._print(num)} + {self._print(den - 1)}) / {self._operand(den)})"
        return f"cv_ceildiv({self._print(num)}, {self._print(den)})"

    def _print_Mod(self, expr: sp.Expr) -> str:
        a, b = expr.args
        if self._is_nonneg(a) and self._is_nonneg(b):
            return f"({self._operand(a)} % {self._operand(b)})"
        return f"cv_mod({self._print(a)}, {self._print(b)})"

    def _minmax(self, fn: str, args: tuple[sp.Expr, ...]) -> str:
        out = self._print(args[-1])
        for a in reversed(args[:-1]):
            out = f"{fn}({self._print(a)}, {out})"
        return out

    def _print_Min(self, expr: sp.Expr) -> str:
        return self._minmax("cv_min", expr.args)

    def _print_Max(self, expr: sp.Expr) -> str:
        return self._minmax("cv_max", expr.args)

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        *head, (last, cond) = expr.args
        if cond != sp.true:
            raise ValueError("cuda printer: Piecewise needs a final True branch")
        out = f"({self._print(last)})"
        for e, c in reversed(head):
            out = f"(({self._print(c)}) ? ({self._print(e)}) : {out})"
        return out

    def _print_Pow(self, expr: sp.Expr) -> str:
        base, exp = expr.args
        if exp.is_Integer and int(exp) > 0:
            return "(" + "*".join([f"({self._print(base)})"] * int(exp)) + ")"
        raise ValueError(f"cuda printer: {expr} is not integer arithmetic")

    def _print_BooleanTrue(self, expr: Any) -> str:
        return "true"

    def _print_BooleanFalse(self, expr: Any) -> str:
        return "false"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return c_name(expr)


def cuda_code(expr: Any, nonnegative: Iterable[sp.Symbol] = (), **settings: Any) -> str:
    """Print an integer index expression or predicate as CUDA C (see :class:`CudaCodePrinter`).

    >>> import sympy as sp
    >>> o = sp.Symbol("o", integer=True)
    >>> cuda_code(sp.And(sp.Ge(o - 1, 0), sp.Lt(o - 1, 8)))
    'o - 1 >= 0 && o - 1 < 8'
    """
    return CudaCodePrinter(settings, nonnegative=nonnegative).doprint(sp.sympify(expr))
