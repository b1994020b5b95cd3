"""The input sizes a model accepts on one axis, solved exactly from its constraints.

Every size in a model is quasi-affine in each input size ``n``: nested floors
``floor(a*n + b)`` with rational slopes.  With ``D`` the least common
denominator of those slopes, writing ``n = r + D*t`` removes every floor, so
each constraint becomes a relation between polynomials in the integer ``t``
(:mod:`convalg.graph.intsets` solves those exactly).  One class per residue
``r`` gives the whole answer: a minimum, a modulus with its accepted residues,
and the finitely many exceptions below the point where the pattern is periodic.

>>> n = sp.Symbol("n", integer=True, positive=True)
>>> s = solve_axis([sp.Ge(sp.floor((n - 1) / 16) + 1 - 2, 0), sp.Eq(sp.Mod(n, 16), 1)], n)
>>> str(s), s.smallest(224), 33 in s, 34 in s
('n >= 17, n % 16 == 1', 225, True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import lcm

import sympy as sp

from ..errors import SpecError
from .intsets import IntSet, Undecidable, inert, solve_in, substitute_all

__all__ = ["AcceptedSizes", "solve_axis", "MAX_PERIOD", "MAX_LISTED"]

#: Largest period (least common denominator of the floor slopes) the solver enumerates.
MAX_PERIOD = 1 << 14
#: Most sizes listed explicitly below the periodic part.
MAX_LISTED = 1 << 16


def _runs(values: Sequence[int]) -> str:
    parts, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if j == i else f"{values[i]}..{values[j]}")
        i = j + 1
    return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class AcceptedSizes:
    """The accepted sizes on one axis: for ``n >= start``, exactly those with ``n % modulus in residues``;
    below ``start``, exactly ``below``.  ``undecided`` (a reason) when the solver could not decide it."""

    symbol: sp.Symbol
    modulus: int = 1
    residues: tuple[int, ...] = ()
    start: int = 1
    below: tuple[int, ...] = ()
    undecided: str | None = None

    def _decided(self) -> None:
        if self.undecided is not None:
            raise SpecError(f"{self.symbol}: the accepted sizes are not decided: {self.undecided}")

    def __contains__(self, n: object) -> bool:
        self._decided()
        if not isinstance(n, int) or isinstance(n, bool):
            return False
        if n < self.start:
            return n in self.below
        return n % self.modulus in self.residues

    @property
    def empty(self) -> bool:
        self._decided()
        return not self.residues and not self.below

    @property
    def minimum(self) -> int | None:
        """The smallest accepted size (None if there is none)."""
        return self.smallest(1)

    def smallest(self, at_least: int = 1) -> int | None:
        """The smallest accepted size ``>= at_least`` (None if there is none)."""
        self._decided()
        bigger = [v for v in self.below if v >= at_least]
        if bigger:
            return min(bigger)
        if not self.residues:
            return None
        lo = max(at_least, self.start)
        return min(lo + (r - lo) % self.modulus for r in self.residues)

    @property
    def exceptions(self) -> tuple[int, ...]:
        """Sizes in the periodic pattern, from its first accepted size on, that are rejected."""
        first = self._first_periodic()
        return tuple(v for v in range(first, self.start) if v % self.modulus in self.residues and v not in self.below)

    @property
    def extra(self) -> tuple[int, ...]:
        """Accepted sizes outside the periodic pattern."""
        first = self._first_periodic()
        return tuple(v for v in self.below if v < first or v % self.modulus not in self.residues)

    def _first_periodic(self) -> int:
        self._decided()
        if not self.residues:
            return self.start
        return min([v for v in self.below if v % self.modulus in self.residues] + [self.smallest(self.start) or 0])

    @property
    def condition(self) -> sp.Basic:
        """The same set as a SymPy boolean in :attr:`symbol`."""
        self._decided()
        n = self.symbol
        periodic: sp.Basic = sp.false
        if self.residues:
            first = self._first_periodic()
            if len(self.residues) == self.modulus:
                periodic = sp.Ge(n, first)
            else:
                periodic = sp.And(sp.Ge(n, first), sp.Or(*[sp.Eq(sp.Mod(n, self.modulus), r) for r in self.residues]))
            periodic = sp.And(periodic, *[sp.Ne(n, v) for v in self.exceptions])
        return sp.Or(periodic, *[sp.Eq(n, v) for v in self.extra])

    def __str__(self) -> str:
        n = self.symbol
        if self.undecided is not None:
            return f"{n}: undecided ({self.undecided})"
        if self.empty:
            return f"no size {n} is accepted"
        parts = []
        if self.residues:
            text = f"{n} >= {self._first_periodic()}"
            if len(self.residues) < self.modulus:
                res = self.residues[0] if len(self.residues) == 1 else "{" + ", ".join(map(str, self.residues)) + "}"
                text += f", {n} % {self.modulus} {'==' if len(self.residues) == 1 else 'in'} {res}"
            if self.exceptions:
                text += f", except {n} in {_runs(self.exceptions)}"
            parts.append(text)
        if self.extra:
            parts.append(f"{n} in {_runs(self.extra)}")
        return "; or ".join(parts)


def _rounding_period(atom: sp.Basic) -> int:
    """A period of one rounding in every size: the denominators of its own argument times those nested in it."""
    arg = atom.args[0] / atom.args[1] if isinstance(atom, sp.Mod) else atom.args[0]
    nested = [a for a in arg.atoms(sp.floor, sp.ceiling, sp.Mod)]
    opaque = arg.xreplace({a: sp.Dummy(integer=True) for a in nested})
    own = 1
    for q in opaque.atoms(sp.Rational):
        own = lcm(own, int(q.q))
    inner = 1
    for a in nested:
        inner = lcm(inner, _rounding_period(a))
    return own * inner


def period(conditions: Iterable[sp.Basic], n: sp.Symbol) -> int:
    """A common period in ``n`` of every rounding in ``conditions`` (a multiple of the least one).

    Each rounding contributes the denominators in its argument, times the period
    of the roundings nested in it; a residue class then removes every rounding.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> period([sp.Ge(sp.floor((sp.floor(n / 2) + 1) / 3), 1)], n)
    6
    """
    d = 1
    for cond in conditions:
        for atom in cond.atoms(sp.floor, sp.ceiling, sp.Mod):
            if n in atom.free_symbols:
                d = lcm(d, _rounding_period(atom))
                if d > MAX_PERIOD:
                    raise Undecidable(f"the period in {n} exceeds {MAX_PERIOD} (at {atom})")
    return d


def solve_axis(conditions: Sequence[sp.Basic], n: sp.Symbol) -> AcceptedSizes:
    """The sizes ``n >= 1`` satisfying every condition (each a SymPy boolean whose only symbol is ``n``).

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> str(solve_axis([sp.Eq(512 * (sp.floor(n / 32)) ** 2, 512 * 49)], n))
    'n in {224..255}'
    >>> str(solve_axis([sp.Ge(n, 5), sp.Ne(n, 7), sp.Eq(sp.Mod(n, 2), 1) | sp.Eq(n, 10)], n))
    'n >= 5, n % 2 == 1, except n in {7}; or n in {10}'
    """
    # simple conditions first: they empty a residue class before the costly (clamped, piecewise) ones run
    conditions = sorted({inert(sp.sympify(c)) for c in conditions}, key=lambda c: (sp.count_ops(c), str(c)))
    others = set().union(*[c.free_symbols for c in conditions]) - {n} if conditions else set()
    if others:
        names = ", ".join(sorted(map(str, others)))
        return AcceptedSizes(n, undecided=f"the constraints couple {n} with {names}; give values for {names}")
    try:
        d = period(conditions, n)
        t = sp.Symbol("t", integer=True, nonnegative=True)
        periodic: dict[int, int] = {}
        finite: list[tuple[int, int, int]] = []  # (first, last, step)
        for r in range(1, d + 1):
            allowed = IntSet.at_least(0)
            for cond in substitute_all(conditions, {n: r + d * t}):
                allowed = solve_in(cond, t, allowed)
                if allowed.empty:
                    break
            for lo, hi in allowed.intervals:
                if hi is None:
                    periodic[r % d] = r + d * lo  # type: ignore[operator]
                else:
                    finite.append((r + d * lo, r + d * hi, d))  # type: ignore[operator]
    except Undecidable as e:
        return AcceptedSizes(n, undecided=str(e))
    start = max(list(periodic.values()) + [f[1] + 1 for f in finite] + [1])
    listed = sorted({v for first, last, step in finite for v in range(first, min(last, start - 1) + 1, step)}
                    | {v for r, first in periodic.items() for v in range(first, start, d)})
    if len(listed) > MAX_LISTED:
        return AcceptedSizes(n, undecided=f"more than {MAX_LISTED} sizes below the periodic part")
    return AcceptedSizes(n, d, tuple(sorted(periodic)), start, tuple(listed))
