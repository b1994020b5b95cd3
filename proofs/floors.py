r"""The floor / ceiling rewrites of :func:`convalg.shapes.simplify.collapse_floors`, with their side condition.

``floor-collapse`` (general outline; the library bounded)
    For real ``y``, integer ``c``, integer ``m >= 1``:
    ``floor((floor(y) + c)/m) = floor((y + c)/m)`` and
    ``ceil((ceil(y) + c)/m) = ceil((y + c)/m)``.  Proof: ``y = F + f``,
    ``0 <= f < 1``, ``F + c = q m + r``; both sides are ``q``.  The
    library's ``collapse_floors`` rewrite is this identity (checked for every
    literal ``m <= bound``).  Its second rule drops a remainder: for real ``X``
    and real ``t``, ``floor((X + t - (X mod m))/m) = floor(X/m) + floor(t/m)``
    and ``ceil((X + t - (X mod m))/m) = floor(X/m) + ceil(t/m)``.  Proof:
    ``X = q m + r + f`` (``0 <= r < m`` integer, ``0 <= f < 1``), so
    ``X mod m = r + f`` and the numerator is ``t + q m``; with ``t = p m + e``,
    ``0 <= e < m`` (``t = p m - e`` for the ceiling) both sides are ``q + p``.
    The mixed forms ``ceiling((floor(y) + c)/m) = floor((y + c + m - 1)/m)`` and
    ``floor((ceiling(y) + c)/m) = ceiling((y + c - m + 1)/m)`` are proved the same way
    (the first with the case split ``r = 0`` / ``r >= 1``).  All of this is for symbolic
    ``m``; of the library it is checked that its output for every literal ``m <= bound``
    is the proved rule's instance, and that it equals direct evaluation on rationals (bounded).

The side condition ``c`` integer is a hypothesis of the proof (an integer symbol); where it fails
(``c`` a real symbol, evaluated at non-integers) the library must leave the expression alone or
rewrite it to an equal value, and the rule itself is shown false there (``y = -7/4``, ``c = 7/4``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import ceil, floor

import sympy as sp

from convalg.shapes.simplify import collapse_floors

from ._core import Cases, equal, require, resolve, theorem

__all__ = ["check_floor_collapse"]


def _rewrite(outer: type, inner: type, y: sp.Expr, c: sp.Expr, m: sp.Expr) -> sp.Expr:
    """The right-hand side of the collapse rule for ``outer((inner(y) + c)/m)`` (c integer)."""
    if outer is inner:
        return outer((y + c) / m)
    if outer is sp.ceiling:  # ceiling((floor(y) + c)/m)
        return sp.floor((y + c + m - 1) / m)
    return sp.ceiling((y + c - m + 1) / m)  # floor((ceiling(y) + c)/m)


def check_floor_collapse(bound: int, c_integer: bool = True) -> Cases:
    """``c_integer=False`` drops the side condition (the false variant: the rewrite is then wrong)."""
    cases = Cases()
    # bounded: exact rationals y, c (integers under the side condition), m
    cs = [Fraction(c) for c in range(-bound, bound + 1)]
    if not c_integer:
        cs += [Fraction(7, 4), Fraction(-1, 2)]
    for num, den, c, m in itertools.product(range(-3 * bound, 3 * bound + 1), (1, 2, 3, 4), cs, range(1, bound + 1)):
        y = Fraction(num, den)
        require(floor((floor(y) + c) / m) == floor((y + c) / m), f"floor case y={y}, c={c}, m={m}")
        require(ceil((ceil(y) + c) / m) == ceil((y + c) / m), f"ceiling case y={y}, c={c}, m={m}")
        cases.add("rational instances")
    # general, the side condition as a hypothesis: c an integer symbol
    c, q = sp.symbols("c q", integer=True)
    r = sp.Symbol("r", integer=True, nonnegative=True)
    U = sp.Symbol("U", integer=True, nonnegative=True)
    f = sp.Symbol("f", real=True, nonnegative=True)
    g = sp.Symbol("g", real=True, positive=True)
    m = r + U + 1
    below_one = [{f: 1 - g}]  # 0 <= f < 1
    # y = F + f (inner floor) or C - f (inner ceiling) with F + c = q m + r (C + c = q m - r for
    # ceiling of ceiling); for ceiling((floor(y)+c)/m) the
    # remainder is split: r = 0, or r = 1 + r' (m = r' + U + 2)
    r1 = sp.Symbol("r1", integer=True, nonnegative=True)
    for outer, inner in itertools.product((sp.floor, sp.ceiling), repeat=2):
        splits = [{}] if (outer, inner) != (sp.ceiling, sp.floor) else [{r: 0}, {r: r1 + 1}]
        for split in splits:
            mm, rr = m.xreplace(split), r.xreplace(split)
            base = q * mm + (-rr if (outer, inner) == (sp.ceiling, sp.ceiling) else rr) - c
            y = base + f if inner is sp.floor else base - f
            name = f"{outer.__name__}(({inner.__name__}(y)+c)/m)"
            lhs = resolve(outer((inner(y) + c) / mm), [base, 0, q, q + 1], below_one)
            rhs = resolve(_rewrite(outer, inner, y, c, mm), [q, q + 1, q - 1, 0], below_one)
            equal(lhs, rhs, f"{name} = its rewrite {split or ''}", general=True)
            cases.add("symbolic steps")
    _check_mod_drop(q, r, U, f, g)
    cases.add("symbolic steps", 2)
    # the library's rewrite at every literal m <= bound is the proved rule's instance
    yr, ci = sp.Symbol("y", real=True), sp.Symbol("c", integer=True)
    for mm in range(1, bound + 1):
        for outer, inner in itertools.product((sp.floor, sp.ceiling), repeat=2):
            got = collapse_floors(outer((inner(yr) + ci) / mm))
            want = _rewrite(outer, inner, yr, ci, sp.Integer(mm))
            same = type(got) is type(want) and (not got.args or sp.expand(got.args[0] - want.args[0]) == 0)
            require(same or sp.expand(got - want) == 0,
                    f"collapse_floors({outer.__name__}(({inner.__name__}(y) + c)/{mm})) gave {got}, not {want}")
            cases.add("library rewrites = proved rule")
    # the side condition is needed: at y = -7/4, c = 7/4 the rule is false, and the library must not apply it
    yv, cv = Fraction(-7, 4), Fraction(7, 4)
    require(floor(floor(yv) + cv) != floor(yv + cv), "the side condition 'c integer' is not needed?")
    _check_rewrites_numerically(bound, cases)
    return cases


def _check_mod_drop(q: sp.Symbol, r: sp.Symbol, U: sp.Symbol, f: sp.Symbol, g: sp.Symbol) -> None:
    """General: ``floor((X + t - X mod m)/m) = floor(X/m) + floor(t/m)`` and the ceiling analogue."""
    p = sp.Symbol("p", integer=True)
    e = sp.Symbol("e", real=True, nonnegative=True)
    h = sp.Symbol("h", real=True, positive=True)
    m = r + U + 1
    X = q * m + r + f  # every real X: 0 <= r < m integer, 0 <= f < 1
    alternatives = [{f: 1 - g}, {e: m - h}]  # f < 1, e < m
    for outer, t in ((sp.floor, p * m + e), (sp.ceiling, p * m - e)):
        lhs = resolve(outer((X + t - sp.Mod(X, m)) / m), [r + f, q + p], alternatives)
        rhs = resolve(sp.floor(X / m) + outer(t / m), [q, p], alternatives)
        equal(lhs, rhs, f"{outer.__name__}((X + t - X mod m)/m) = floor(X/m) + {outer.__name__}(t/m)",
              general=True)


def _check_rewrites_numerically(bound: int, cases: Cases) -> None:
    """Bounded: every ``collapse_floors`` rewrite equals direct evaluation on rationals; where the side
    condition fails (``c`` real, evaluated at non-integers) the library's result must still be equal."""
    y, c = sp.Symbol("y", real=True), sp.Symbol("c", integer=True)
    t = sp.Symbol("t", real=True)
    for mm in range(1, bound + 1):
        forms = [outer((inner(y) + c) / mm) for outer in (sp.floor, sp.ceiling) for inner in (sp.floor, sp.ceiling)]
        forms += [outer((inner(y) + t) / mm) for outer in (sp.floor, sp.ceiling) for inner in (sp.floor, sp.ceiling)]
        forms += [outer((inner(y) + sp.Rational(7, 4)) / mm) for outer in (sp.floor, sp.ceiling)
                  for inner in (sp.floor, sp.ceiling)]
        forms += [outer((y + shift - sp.Mod(y, mm)) / mm) for outer in (sp.floor, sp.ceiling)
                  for shift in (c, c + sp.Rational(1, 2), sp.Integer(-mm - 1), sp.Rational(7, 3))]
        for form in forms:
            rewritten = collapse_floors(form)
            for num, ci, den in itertools.product(range(-2 * mm - 2, 2 * mm + 3), range(-mm - 1, mm + 2), (1, 3, 4)):
                at = {y: Fraction(num, den), c: Fraction(ci), t: Fraction(ci * 4 + 3, 4)}
                if _exact(form, at) != _exact(rewritten, at):  # (message built only on failure)
                    require(False, f"collapse_floors({form}) = {rewritten} differs at y={num}/{den}, c={ci}, "
                                   f"t={ci * 4 + 3}/4")
                cases.add("rewrites evaluated" if not form.has(t) and not form.has(sp.Rational(7, 4))
                          else "evaluated where 'c integer' fails")


def _exact(e: sp.Expr, at: dict[sp.Symbol, Fraction]) -> Fraction:
    """Evaluate a sum / product of rationals, symbols, floor, ceiling and Mod exactly (no SymPy evaluation)."""
    if e.is_Symbol:
        return at[e]
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    args = [_exact(a, at) for a in e.args]
    if e.is_Add:
        return sum(args, Fraction(0))
    if e.is_Mul:
        out = Fraction(1)
        for a in args:
            out *= a
        return out
    if isinstance(e, sp.floor):
        return Fraction(floor(args[0]))
    if isinstance(e, sp.ceiling):
        return Fraction(ceil(args[0]))
    if isinstance(e, sp.Mod):  # floored remainder, as SymPy's Mod and Python's %
        return args[0] % args[1]
    raise TypeError(f"cannot evaluate {e!r} exactly")


theorem("floor-collapse", "nested floor / ceiling collapse (stack simplifier), c integer as a hypothesis",
        r"floor((floor(y)+c)/m) = floor((y+c)/m), ceiling((ceiling(y)+c)/m) = ceiling((y+c)/m), and the mixed "
        r"forms (y real, c integer, m >= 1); floor((X+t-X mod m)/m) = floor(X/m) + floor(t/m), same for ceiling",
        general=False, bound=5, outline=True,
        claims={"symbolic steps": 7, "library rewrites = proved rule": 20, "rewrites evaluated": 40560,
                "evaluated where 'c integer' fails": 10140},
        note="rules proved for symbolic y, c, m, X, t; collapse_floors' output is the proved rule for every literal "
        "m ≤ bound and equals direct evaluation on rationals, also where c is not an integer (there it must "
        "not rewrite: the rule is false at y = -7/4, c = 7/4)")(check_floor_collapse)
