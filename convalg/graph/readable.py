"""Shapes made readable on the accepted sizes: Piecewise branches decided by the exact solver.

Broadcasting makes torch's sizes piecewise (``Piecewise((a, Eq(b, 1)), (b, True))``: a size 1
takes the other operand's size).  On the sizes a model accepts, most of those branches are
decided.  :func:`simplify_on_accepted` drops a branch only when the exact per-axis solver proves
that its condition never holds on the accepted sizes (given the earlier branches fail), takes a
branch when it proves the condition always holds there, and otherwise rewrites the condition to
the simplest form proved equivalent on the accepted sizes (``H <= 2`` instead of
``Eq(floor(H/2 - 1/2), 0)``); a branch value that is one constant on the finitely many sizes
where the branch is taken becomes that constant (evaluated exactly at each).  Anything the solver cannot decide is left as it was, so the
result equals the original shape at every accepted size; outside the accepted sizes it means
nothing (the model raises there).

>>> import sympy as sp
>>> from convalg import Conv
>>> from convalg.graph import Graph
>>> from convalg.graph.ops import BroadcastOp, LayerOp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> g = Graph({"x": (1, 1, H, 1)})
>>> a = g.add("a", LayerOp(Conv(3, stride=2, padding=1, ndim=2)), ["x"])
>>> b = g.add("b", LayerOp(Conv(3, stride=4, padding=1, ndim=2)), ["x"])
>>> s = g.add("s", BroadcastOp("add"), [a, b])
>>> g.shape_of(s)[2]
Piecewise((floor(H/4 - 1/4) + 1, Eq(floor(H/2 - 1/2), 0)), (floor(H/2 - 1/2) + 1, True))
>>> str(g.accepted_sizes(H))
'H in {1..4}'
>>> simplify_on_accepted(g, g.shape_of(s))[2]      # at H <= 2 both sizes are 1
Piecewise((1, H <= 2), (floor(H/2 - 1/2) + 1, True))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from .accepted import AcceptedSizes, solve_axis

__all__ = ["simplify_on_accepted"]

#: Most sizes at which a branch value is evaluated to find that it is one constant.
_MAX_EVALUATED = 64
#: Per symbol: the conditions known to hold where an expression is evaluated (inside taken branches).
Domain = Mapping[sp.Symbol, tuple[sp.Basic, ...]]


class _Axes:
    """The accepted sizes per symbol (others free, or given), computed once."""

    def __init__(self, graph: Any, given: Mapping[Any, int]) -> None:
        self.graph, self.given, self.sets = graph, dict(given), {}

    def accepted(self, n: sp.Symbol) -> AcceptedSizes | None:
        if n not in self.sets:
            found = self.graph.accepted_sizes(n, self.given)
            self.sets[n] = None if found.undecided is not None or found.empty else found
        return self.sets[n]


def _empty(conditions: Sequence[sp.Basic], n: sp.Symbol) -> bool:
    """Proved empty by the exact solver (False when it cannot decide)."""
    found = solve_axis(list(conditions), n)
    return found.undecided is None and found.empty


def _readable(cond: sp.Basic, holds: AcceptedSizes, base: list[sp.Basic], n: sp.Symbol) -> sp.Basic:
    """The simplest condition proved equivalent to ``cond`` wherever ``base`` holds (``holds``: both)."""
    candidates = [sp.Ge(n, holds.minimum), holds.condition]
    if not holds.residues:
        candidates.insert(0, sp.Le(n, max(holds.below)))
    best = cond
    for c in candidates:
        if sp.count_ops(c) < sp.count_ops(best) and _empty(base + [c, sp.Not(cond)], n) \
                and _empty(base + [sp.Not(c), cond], n):
            best = c
    return best


def _value(value: Any, holds: AcceptedSizes, n: sp.Symbol) -> Any:
    """A branch value that is one constant on the finitely many sizes where the branch is taken."""
    if holds.residues or not holds.below or len(holds.below) > _MAX_EVALUATED or value.free_symbols != {n}:
        return value
    seen = {value.xreplace({n: sp.Integer(v)}) for v in holds.below}
    return seen.pop() if len(seen) == 1 else value


def _piecewise(pw: sp.Piecewise, axes: _Axes, domain: Domain) -> sp.Basic:
    branches: list[tuple[sp.Basic, sp.Basic]] = []
    failed: dict[sp.Symbol, list[sp.Basic]] = {}  # per symbol: the earlier conditions (they failed)
    for value, cond in pw.args:
        symbols = cond.free_symbols
        accepted = axes.accepted(next(iter(symbols))) if len(symbols) == 1 else None
        if cond is sp.true or accepted is None:
            branches.append((_simplify(value, axes, domain), cond))
            if cond is sp.true:
                break
            continue
        n = next(iter(symbols))
        base = [accepted.condition, *domain.get(n, ()), *[sp.Not(c) for c in failed.get(n, [])]]
        holds = solve_axis(base + [cond], n)
        if holds.undecided is None and holds.empty:
            continue  # never taken on the accepted sizes
        inner = {**domain, n: (*domain.get(n, ()), *base[1:], cond)}
        if _empty(base + [sp.Not(cond)], n):
            branches.append((_simplify(value, axes, inner), sp.true))
            break  # always taken there
        if holds.undecided is not None:
            branches.append((_simplify(value, axes, domain), cond))
        else:
            branches.append((_value(_simplify(value, axes, inner), holds, n), _readable(cond, holds, base, n)))
        failed.setdefault(n, []).append(cond)
    if branches and branches[-1][1] is sp.true and len(branches) == 1:
        return branches[0][0]
    return sp.Piecewise(*branches)


def _simplify(expr: Any, axes: _Axes, domain: Domain) -> Any:
    """Top-down: a Piecewise's branch values are simplified on the sizes where the branch is taken."""
    e = sp.sympify(expr)
    if not e.has(sp.Piecewise):
        return e
    if isinstance(e, sp.Piecewise):
        return _piecewise(e, axes, domain)
    return e.func(*[_simplify(a, axes, domain) for a in e.args])


def simplify_on_accepted(graph: Any, shape: Sequence[Any], given: Mapping[Any, int] | None = None) -> tuple[Any, ...]:
    """``shape`` with each Piecewise branch decided (or its condition made readable) on the accepted sizes.

    ``given`` fixes other input sizes (as in :meth:`Graph.accepted_sizes`); an axis whose accepted
    sizes are undecided (or empty) keeps its branches.
    """
    axes = _Axes(graph, given or {})
    subs = graph._values(given or {})
    out = []
    for d in shape:
        e = sp.sympify(d).xreplace(subs)
        s = _simplify(e, axes, {})
        out.append(int(s) if isinstance(s, sp.Integer) else s)
    return tuple(out)
