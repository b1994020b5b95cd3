"""Simplification and printing of nested floor / ceiling size expressions.

Composing layer formulas nests floors.  For real ``y``, integer ``c`` and a
positive integer ``m``::

    floor((floor(y) + c) / m) = floor((y + c) / m)
    ceiling((ceiling(y) + c) / m) = ceiling((y + c) / m)
    ceiling((floor(y) + c) / m) = floor((y + c + m - 1) / m)
    floor((ceiling(y) + c) / m) = ceiling((y + c - m + 1) / m)

(the mixed forms follow from ``ceiling(N/m) = floor((N + m - 1)/m)`` for an
integer ``N``), so a stack of four ``k=3, s=2, p=1`` convs collapses to
``floor((H - 1)/16) + 1``.  A term ``-Mod(X, m)`` in the numerator (TF
``'SAME'`` pads) folds in as ``X - Mod(X, m) = m*floor(X/m)``, and the last
step writes ``floor((N + m - 1)/m)`` as ``ceiling(N/m)`` (integer ``N``), so
TF ``'SAME'`` with stride 2 gives ``ceiling(H/2)``.

>>> import sympy as sp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> e = sp.floor((sp.floor((H - 1) / 2) + 1 - 1) / 2) + 1
>>> format_size(collapse_floors(e))
'floor((H - 1)/4) + 1'
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["collapse_floors", "format_size", "latex_size"]


def _drop_mod(func: type, num: sp.Expr, den: sp.Expr) -> sp.Expr | None:
    """``floor((R - Mod(X, m))/m) = floor(X/m) + floor((R - X)/m)`` for a constant ``R - X`` (and the ceiling
    analogue), as ``X - Mod(X, m) = m*floor(X/m)``; None when ``num`` has no such term."""
    for term in sp.Add.make_args(num):
        if isinstance(-term, sp.Mod) and (-term).args[1] == den:
            x = (-term).args[0]
            shift = sp.expand(num + (-term) - x)
            if shift.is_number and shift.is_real and x.is_real:
                return sp.floor(x / den) + func(shift / den)
    return None


def _collapse_one(e: sp.Expr) -> sp.Expr:
    func = type(e)
    num, den = _split(e.args[0])
    if not (den.is_Integer and den > 0):
        return e
    dropped = _drop_mod(func, sp.expand(num), den)
    if dropped is not None:
        return dropped
    terms = sp.Add.make_args(sp.expand(num))
    inner = [t for t in terms if isinstance(t, (sp.floor, sp.ceiling))]
    if len(inner) != 1:
        return e
    rest = sp.Add(*[t for t in terms if t is not inner[0]])
    if rest.is_integer is not True:
        return e
    if not isinstance(inner[0], func):
        # mixed: the numerator N is an integer, so ceiling(N/m) = floor((N + m - 1)/m) and
        # floor(N/m) = ceiling((N - m + 1)/m); rewrite the outer function to match the inner one
        rest = rest + (den - 1 if func is sp.ceiling else 1 - den)
        func = type(inner[0])
    return func(sp.expand((inner[0].args[0] + rest) / den))


def _ceiling_form(e: sp.Expr) -> sp.Expr:
    """``floor((N + m - 1)/m) = ceiling(N/m)`` for an integer ``N`` (the numerator's constant term is ``m - 1``)."""
    num, den = _split(e.args[0])
    if not (den.is_Integer and den > 1):
        return e
    const, rest = num.as_coeff_Add()
    if const == den - 1 and rest != 0 and rest.is_integer is True:
        return sp.ceiling(rest / den)
    return e


def collapse_floors(expr: sp.Expr) -> sp.Expr:
    """Collapse ``floor((floor(y) + c)/m)``, the ceiling analogue and the mixed forms, bottom-up, to a fixed point.

    Only rewrites when ``c`` is known to be an integer and ``m`` is a positive
    integer literal, so the result is always equal to the input.

    >>> H = sp.Symbol("H", integer=True, positive=True)
    >>> collapse_floors(sp.floor((H - sp.Mod(H + 1, 2) - 1) / 2) + 1)     # TF 'SAME', k=3, s=2
    ceiling(H/2)
    """
    expr = sp.sympify(expr)
    for _ in range(100):
        new = expr.replace(lambda e: isinstance(e, (sp.floor, sp.ceiling)), _collapse_one)
        if new == expr:
            break
        expr = new
    return expr.replace(lambda e: isinstance(e, sp.floor), _ceiling_form)


def _split(arg: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    num, den = sp.expand(arg).as_numer_denom()
    return sp.expand(num), den


class _SizeStrPrinter(StrPrinter):
    def _print_floor(self, e: sp.Expr) -> str:
        return self._round("floor", e)

    def _print_ceiling(self, e: sp.Expr) -> str:
        return self._round("ceiling", e)

    def _round(self, name: str, e: sp.Expr) -> str:
        num, den = _split(e.args[0])
        if den == 1:
            return f"{name}({self._print(num)})"
        n = self._print(num)
        if len(sp.Add.make_args(num)) > 1:
            n = f"({n})"
        return f"{name}({n}/{self._print(den)})"


class _SizeLatexPrinter(LatexPrinter):
    def _print_floor(self, e: sp.Expr, exp: object = None) -> str:
        return self._round(r"\left\lfloor", r"\right\rfloor", e)

    def _print_ceiling(self, e: sp.Expr, exp: object = None) -> str:
        return self._round(r"\left\lceil", r"\right\rceil", e)

    def _round(self, left: str, right: str, e: sp.Expr) -> str:
        num, den = _split(e.args[0])
        body = self._print(num) if den == 1 else rf"\frac{{{self._print(num)}}}{{{self._print(den)}}}"
        return f"{left}{{{body}}}{right}"


def format_size(expr: object) -> str:
    """A size expression as text, floors printed as ``floor((a + b)/m)``.

    >>> H = sp.Symbol("H", integer=True, positive=True)
    >>> format_size(sp.floor((H - 1) / 4) + 1)
    'floor((H - 1)/4) + 1'
    """
    return _SizeStrPrinter().doprint(sp.sympify(expr))


def latex_size(expr: object) -> str:
    r"""A size expression as LaTeX, floors printed as ``\left\lfloor{\frac{a}{m}}\right\rfloor``.

    >>> H = sp.Symbol("H", integer=True, positive=True)
    >>> latex_size(sp.floor((H - 1) / 4) + 1)
    '\\left\\lfloor{\\frac{H - 1}{4}}\\right\\rfloor + 1'
    """
    return _SizeLatexPrinter().doprint(sp.sympify(expr))
