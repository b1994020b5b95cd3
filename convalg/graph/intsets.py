"""Exact integer solution sets of size constraints in one integer unknown.

A constraint, once an axis size ``n`` is written as ``r + D*t`` (one residue
class, ``D`` the period of every floor in it), is a boolean combination of
polynomial relations in the integer ``t``, possibly through ``Min`` / ``Max``
/ ``Piecewise``.  :func:`solve_in` returns the exact set of integers ``t`` in a
domain that satisfy it, as a union of integer intervals; anything it cannot
decide raises :class:`Undecidable` instead of guessing.

>>> t = sp.Symbol("t", integer=True)
>>> solve_in(sp.Ge(2*t - 3, 1), t, IntSet.at_least(0))
IntSet(intervals=((2, None),))
>>> solve_in(sp.Eq(sp.Min(t, 10), 10) & sp.Le(t, 12), t, IntSet.at_least(0))
IntSet(intervals=((10, 12),))
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

__all__ = ["IntSet", "Undecidable", "solve_in", "inert", "substitute_all"]

#: Unevaluated stand-ins for Min / Max: SymPy re-simplifies Min / Max at every substitution, slowly.
LOWEST = sp.Function("lowest")
HIGHEST = sp.Function("highest")


def inert(cond: sp.Basic) -> sp.Basic:
    """``cond`` with every Min / Max replaced by its inert stand-in (same meaning for :func:`solve_in`)."""
    memo: dict[sp.Basic, sp.Basic] = {}

    def walk(e: sp.Basic) -> sp.Basic:  # bottom-up, rebuilding nothing that did not change
        hit = memo.get(e)
        if hit is None:
            args = [walk(a) for a in e.args]
            if isinstance(e, (sp.Min, sp.Max)):
                hit = (LOWEST if isinstance(e, sp.Min) else HIGHEST)(*args)
            else:
                hit = e if all(a is b for a, b in zip(args, e.args)) else _rebuild(e, args)
            memo[e] = hit
        return hit

    return walk(cond)

_Bound = int | None  # None: unbounded on that side


def substitute_all(exprs: list[sp.Basic], mapping: dict[sp.Basic, sp.Basic]) -> list[sp.Basic]:
    """``[e.xreplace(mapping) for e in exprs]``, rebuilding each distinct subexpression once."""
    memo: dict[sp.Basic, sp.Basic] = dict(mapping)

    def sub(e: sp.Basic) -> sp.Basic:
        hit = memo.get(e)
        if hit is not None:
            return hit
        if not e.args or not (e.free_symbols & mapping.keys()):
            memo[e] = e
            return e
        args = [sub(a) for a in e.args]
        out = _rebuild(e, args)
        memo[e] = out
        return out

    return [sub(e) for e in exprs]


def _rebuild(e: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
    """``e.func(*args)``; a relation stays unevaluated (SymPy's attempt to decide it costs most of the
    solver's time, and :func:`solve_in` decides every relation exactly anyway)."""
    if isinstance(e, (sp.core.relational.Relational, sp.Piecewise)):  # a Piecewise would evaluate its relations
        return e.func(*args, evaluate=False)
    return e.func(*args)


def _swap(e: sp.Basic, old: sp.Basic, new: sp.Basic, memo: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """``e.xreplace({old: new})`` with the relations and Piecewise it rebuilds left unevaluated."""
    if e == old:
        return new
    hit = memo.get(e)
    if hit is None:
        args = [_swap(a, old, new, memo) for a in e.args]
        hit = e if all(a is b for a, b in zip(args, e.args)) else _rebuild(e, args)
        memo[e] = hit
    return hit


class Undecidable(Exception):
    """A constraint that the exact solver cannot decide (the message says which and why)."""


@dataclass(frozen=True)
class IntSet:
    """A union of disjoint integer intervals ``[lo, hi]`` (``None`` = unbounded), sorted."""

    intervals: tuple[tuple[_Bound, _Bound], ...]

    @staticmethod
    def of(pieces: list[tuple[_Bound, _Bound]]) -> IntSet:
        lo_key = lambda p: -(10**100) if p[0] is None else p[0]  # noqa: E731
        out: list[list[_Bound]] = []
        for lo, hi in sorted((p for p in pieces if p[0] is None or p[1] is None or p[0] <= p[1]), key=lo_key):
            if out and (out[-1][1] is None or lo is None or lo <= out[-1][1] + 1):
                prev = out[-1]
                prev[1] = None if (prev[1] is None or hi is None) else max(prev[1], hi)
            else:
                out.append([lo, hi])
        return IntSet(tuple((a, b) for a, b in out))

    @staticmethod
    def at_least(lo: int) -> IntSet:
        return IntSet(((lo, None),))

    @property
    def empty(self) -> bool:
        return not self.intervals

    def __and__(self, other: IntSet) -> IntSet:
        pieces = []
        for a0, a1 in self.intervals:
            for b0, b1 in other.intervals:
                lo = b0 if a0 is None else a0 if b0 is None else max(a0, b0)
                hi = b1 if a1 is None else a1 if b1 is None else min(a1, b1)
                pieces.append((lo, hi))
        return IntSet.of(pieces)

    def __or__(self, other: IntSet) -> IntSet:
        return IntSet.of(list(self.intervals + other.intervals))

    def __sub__(self, other: IntSet) -> IntSet:
        gaps: list[tuple[_Bound, _Bound]] = []
        start: _Bound = None
        for lo, hi in other.intervals:
            if lo is not None:
                gaps.append((start, lo - 1))
            if hi is None:
                start = "stop"  # type: ignore[assignment]
                break
            start = hi + 1
        if start != "stop":
            gaps.append((start, None))
        return self & IntSet.of(gaps)


EMPTY = IntSet(())


def _branch(expr: sp.Basic, t: sp.Symbol) -> sp.Basic | None:
    """An innermost ``Min`` / ``Max`` / ``Piecewise`` (or inert stand-in) in ``expr``."""
    for node in sp.postorder_traversal(expr):
        if isinstance(node, (sp.Min, sp.Max, sp.Piecewise)) or getattr(node, "func", None) in (LOWEST, HIGHEST):
            return node
    return None


def _cases(node: sp.Basic) -> list[tuple[sp.Expr, sp.Basic]]:
    """``node`` as ordered ``(value, condition)`` cases, first true condition wins."""
    if isinstance(node, sp.Piecewise):
        return [(e, c) for e, c in node.args]
    args = list(node.args)
    better = sp.Le if isinstance(node, sp.Min) or node.func == LOWEST else sp.Ge
    out = [(a, sp.And(*[better(a, b, evaluate=False) for b in args[i + 1:]])) for i, a in enumerate(args[:-1])]
    return out + [(args[-1], sp.true)]


_COMPARE = {sp.Eq: operator.eq, sp.Ne: operator.ne, sp.Ge: operator.ge, sp.Gt: operator.gt,
            sp.Le: operator.le, sp.Lt: operator.lt}


def _holds(rel: type, value: sp.Rational) -> bool:
    """``rel(value, 0)`` for a rational number, compared exactly as a Fraction (SymPy's relations are slow)."""
    compare = _COMPARE.get(rel)
    if compare is None:
        return bool(rel(value, 0))
    return compare(Fraction(int(value.p), int(value.q)), 0)


def _sign_set(expr: sp.Expr, rel: type, t: sp.Symbol) -> IntSet:
    """Integers ``t`` with ``rel(expr(t), 0)`` for a polynomial ``expr`` with rational coefficients."""
    try:
        poly = sp.Poly(sp.expand(expr), t)
    except sp.PolynomialError as e:
        raise Undecidable(f"{expr} is not a polynomial in the size") from e
    if not all(c.is_Rational for c in poly.all_coeffs()):
        raise Undecidable(f"{expr}: coefficients {poly.all_coeffs()} are not all numbers")
    if poly.degree() <= 0:
        return IntSet(((None, None),)) if _holds(rel, poly.as_expr()) else EMPTY
    critical: set[int] = set()
    if poly.degree() == 1:
        a, b = poly.all_coeffs()
        root = -sp.Rational(b) / sp.Rational(a)
        critical.update((int(sp.floor(root)), int(sp.ceiling(root))))
    else:
        for root in sp.real_roots(poly):
            critical.update((int(sp.floor(root)), int(sp.ceiling(root))))
    points = sorted(critical)
    segments: list[tuple[_Bound, _Bound, int]] = [(None, points[0] - 1, points[0] - 1)]
    for a, b in zip(points, points[1:]):
        segments.append((a, a, a))
        if b - a > 1:
            segments.append((a + 1, b - 1, a + 1))
    segments += [(points[-1], points[-1], points[-1]), (points[-1] + 1, None, points[-1] + 1)]
    return IntSet.of([(lo, hi) for lo, hi, probe in segments if _holds(rel, poly.eval(probe))])


def solve_in(cond: sp.Basic, t: sp.Symbol, domain: IntSet) -> IntSet:
    """The integers ``t`` in ``domain`` that satisfy ``cond`` (exact), or raise :class:`Undecidable`."""
    cond = sp.sympify(cond)
    if domain.empty or cond is sp.true:
        return domain
    if cond is sp.false:
        return EMPTY
    if isinstance(cond, sp.And):
        for arg in cond.args:
            domain = solve_in(arg, t, domain)
        return domain
    if isinstance(cond, sp.Or):
        result = EMPTY
        for arg in cond.args:
            result = result | solve_in(arg, t, domain - result)
        return result
    if isinstance(cond, sp.Not):
        return domain - solve_in(cond.args[0], t, domain)
    if isinstance(cond, sp.core.relational.Relational):
        node = _branch(cond, t)
        if node is not None:
            result, remaining = EMPTY, domain
            for value, when in _cases(node):
                where = solve_in(when, t, remaining)
                result = result | solve_in(_swap(cond, node, value, {}), t, where)
                remaining = remaining - where
            return result
        diff = cond.lhs - cond.rhs
        if diff.has(sp.floor, sp.ceiling, sp.Mod, sp.frac):
            raise Undecidable(f"{cond}: a rounding still depends on the size after splitting by residue")
        return _sign_set(diff, type(cond), t) & domain
    raise Undecidable(f"{cond}: not a relation between sizes")
