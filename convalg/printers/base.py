"""The rules every index printer shares: index arithmetic is integer arithmetic with floor semantics.

:class:`IntegerIndexPrinter` is mixed into each target's SymPy printer
(:class:`~convalg.printers.numpy.NumpyPrinter`,
:class:`~convalg.printers.cuda.CudaPrinter`) ahead of it.  It decides *what* an
expression means; the target only says how to spell it:

=========================  ==============================================================
SymPy                      meaning (every target)
=========================  ==============================================================
``floor(p/q)``             floor division (rounds towards -inf, also for negative ``p``)
``ceiling(p/q)``           ceiling division
``Mod(a, b)``              remainder with the sign of ``b`` (Python / SymPy)
``Min`` / ``Max``          nested two-argument minimum / maximum
``Piecewise``              first true condition wins; the last branch must be ``True``
``x**e``                   a positive integer power only
a non-integer rational     refused with :class:`NonIntegerIndexError` (``1/2``,
                           ``i/2``, ``i/r``): wrap a division in ``floor`` / ``ceiling``
a float                    refused likewise
=========================  ==============================================================

A target implements the hooks :meth:`~IntegerIndexPrinter._floordiv`,
:meth:`~IntegerIndexPrinter._ceildiv`, :meth:`~IntegerIndexPrinter._whole`,
:meth:`~IntegerIndexPrinter._mod`, :meth:`~IntegerIndexPrinter._piecewise`,
:meth:`~IntegerIndexPrinter._power` and the names :attr:`~IntegerIndexPrinter.min_function`,
:attr:`~IntegerIndexPrinter.max_function`.

>>> import sympy as sp
>>> from convalg.printers import cuda_code, numpy_code
>>> i = sp.Symbol("i", integer=True)
>>> numpy_code(sp.floor(i / 2)), cuda_code(sp.floor(i / 2))
('((i)//(2))', 'cv_floordiv(i, 2)')
>>> numpy_code(i / 2)
Traceback (most recent call last):
...
convalg.printers.base.NonIntegerIndexError: numpy printer: i/2 is not integer arithmetic (denominator 2); wrap the division in floor or ceiling
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..errors import SpecError

__all__ = ["IntegerIndexPrinter", "NonIntegerIndexError"]


class NonIntegerIndexError(SpecError):
    """An index expression that is not integer arithmetic (a fraction, a float, a negative power)."""


class IntegerIndexPrinter:
    """Mixin holding the shared integer rules (see the module docstring); put it before the SymPy printer."""

    target = "index"
    min_function = "min"
    max_function = "max"

    # -- refusals -------------------------------------------------------------------------------
    def _refuse(self, expr: Any, why: str) -> NonIntegerIndexError:
        return NonIntegerIndexError(f"{self.target} printer: {expr} is not integer arithmetic ({why}); "
                                    "wrap the division in floor or ceiling")

    def _fraction(self, expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
        """``expr`` as ``num/den`` with an integer-valued ``den`` (``num`` expanded)."""
        num, den = sp.fraction(sp.together(expr))
        if den != 1 and not den.is_integer:
            raise self._refuse(expr, f"denominator {den}")
        return sp.expand(num), den

    def _check_integer(self, expr: sp.Expr) -> None:
        _, den = self._fraction(expr)
        if den != 1:
            raise self._refuse(expr, f"denominator {den}")

    def _print_Add(self, expr: sp.Expr, order: Any = None) -> str:
        self._check_integer(expr)
        return super()._print_Add(expr, order)  # type: ignore[misc]

    def _print_Mul(self, expr: sp.Expr) -> str:
        self._check_integer(expr)
        return super()._print_Mul(expr)  # type: ignore[misc]

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q != 1:
            raise self._refuse(expr, f"denominator {expr.q}")
        return str(expr.p)

    def _print_Float(self, expr: sp.Float) -> str:
        raise self._refuse(expr, "a float")

    def _print_Pow(self, expr: sp.Expr, rational: bool = False) -> str:
        base, exp = expr.args
        if not (exp.is_Integer and int(exp) > 0):
            raise self._refuse(expr, f"exponent {exp}")
        return self._power(expr, base, int(exp))

    # -- integer operations, spelled by the target ------------------------------------------------
    def _print_floor(self, expr: sp.Expr) -> str:
        arg = expr.args[0]
        num, den = self._fraction(arg)
        return self._whole(arg, num) if den == 1 else self._floordiv(num, den)

    def _print_ceiling(self, expr: sp.Expr) -> str:
        arg = expr.args[0]
        num, den = self._fraction(arg)
        return self._whole(arg, num) if den == 1 else self._ceildiv(num, den)

    def _print_Mod(self, expr: sp.Expr) -> str:
        a, b = expr.args
        return self._mod(a, b)

    def _nested(self, function: str, args: tuple[sp.Basic, ...]) -> str:
        first, *rest = args
        if not rest:
            return self._print(first)  # type: ignore[attr-defined]
        return f"{function}({self._print(first)}, {self._nested(function, tuple(rest))})"  # type: ignore[attr-defined]

    def _print_Min(self, expr: sp.Expr) -> str:
        return self._nested(self.min_function, expr.args)

    def _print_Max(self, expr: sp.Expr) -> str:
        return self._nested(self.max_function, expr.args)

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        if expr.args[-1].cond != sp.true:
            raise NonIntegerIndexError(f"{self.target} printer: {expr}: a Piecewise needs a final True branch "
                                       "(an index must be defined everywhere)")
        return self._piecewise(expr)

    # -- hooks --------------------------------------------------------------------------------------
    def _floordiv(self, num: sp.Expr, den: sp.Expr) -> str:
        raise NotImplementedError

    def _ceildiv(self, num: sp.Expr, den: sp.Expr) -> str:
        raise NotImplementedError

    def _whole(self, arg: sp.Expr, num: sp.Expr) -> str:
        """``floor`` / ``ceiling`` of an integer expression ``arg`` (``num``: it expanded)."""
        raise NotImplementedError

    def _mod(self, a: sp.Expr, b: sp.Expr) -> str:
        raise NotImplementedError

    def _piecewise(self, expr: sp.Piecewise) -> str:
        raise NotImplementedError

    def _power(self, expr: sp.Expr, base: sp.Expr, exp: int) -> str:
        raise NotImplementedError
