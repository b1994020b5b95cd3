"""The machinery shared by every theorem: registry, results, and the checked proof steps.

A theorem is a function ``check(bound) -> None`` registered with :func:`theorem`.
It raises :class:`Disproved` with a concrete counterexample when the claim is
false, :class:`Unproved` when a step of a general proof could not be
established (no counterexample known), and :class:`MissingDependency` when a
part of convalg it checks is not importable.

*General* proofs are written as a chain of steps, each of which SymPy checks
(an identity that ``expand``/``simplify`` reduces to ``0``, or a sign that the
assumption system decides on a parametrisation whose free symbols carry the
hypotheses as assumptions: ``r >= 0``, ``s = r + u`` with ``u >= 1`` encodes
``0 <= r < s``).  The logical skeleton (which lemma is applied where) is
written by hand in each theorem's docstring; every algebraic or order fact it
uses is machine-checked.  Every general theorem is also checked on all
concrete instances up to its bound, with convalg's own code, so a wrong
skeleton would still be caught there.

>>> q, r, u = sp.symbols("q r u", integer=True, nonnegative=True)
>>> floor_is((q * (r + u + 1) + r) / (r + u + 1), q)
q
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

__all__ = [
    "Theorem", "Result", "THEOREMS", "theorem", "Disproved", "Unproved", "MissingDependency", "Cases",
    "LIB_VS_DEF", "LIB_PROPERTY", "LIB_SYMBOLIC", "equal", "same_matrix", "same_entries", "nonneg", "positive", "floor_is", "ceiling_is", "mod_is", "require",
    "int_symbols", "resolve",
]


class Disproved(AssertionError):
    """The claim is false: the message is a concrete counterexample."""


class Unproved(AssertionError):
    """A step of a general proof could not be established (no counterexample is known)."""


class MissingDependency(RuntimeError):
    """A part of convalg the theorem checks is not available."""


#: What a theorem compares (the README's "compares" column).
LIB_VS_DEF = "library vs independent definition"
LIB_PROPERTY = "library vs library (property)"
LIB_SYMBOLIC = "library, symbolic"


class Cases:
    """What a theorem checked, counted by kind; ``check(bound)`` returns one.

    >>> c = Cases()
    >>> c.add("matrices", 2); c.add("rejected (SpecError, expected)")
    >>> c.counts
    {'matrices': 2, 'rejected (SpecError, expected)': 1}
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, kind: str, count: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count

    def __getitem__(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    def expect_rejection(self, where: str, accepted_by_definition: bool, build: Callable[[], Any]) -> Any:
        """``build()``; a ``SpecError`` is accepted (and counted) only where the independent definition
        also rejects the case.  Returns ``None`` for a rejected case."""
        from convalg import SpecError

        try:
            out = build()
        except SpecError as e:
            if accepted_by_definition:
                raise Disproved(f"{where}: the library rejects a case PyTorch accepts: {e}") from e
            self.add("rejected (SpecError, expected)")
            return None
        if not accepted_by_definition:
            raise Disproved(f"{where}: the library accepts a case PyTorch rejects")
        return out


@dataclass(frozen=True)
class Theorem:
    """A registered theorem: ``check(bound)`` raises on failure and returns its :class:`Cases` on success.

    ``claims``: the least count of each kind of case at the default bound (fewer is a failure: no silent
    loss of coverage); ``compares``: what the theorem compares; ``outline``: the general part is a
    hand-written proof outline whose algebra SymPy checks (the library itself is checked bounded).
    """

    name: str
    title: str
    claim: str
    general: bool
    default_bound: int
    check: Callable[[int], Any]
    note: str = ""
    compares: str = LIB_VS_DEF
    claims: tuple[tuple[str, int], ...] = ()
    outline: bool = False


@dataclass
class Result:
    """What running a theorem established."""

    theorem: Theorem
    status: str  # "general" | "bounded" | "failed"
    bound: int
    seconds: float
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @property
    def scope(self) -> str:
        if self.status == "general":
            return "PROVED (general)"
        if self.status == "bounded" and self.theorem.outline:
            return f"PROVED (all weights, sizes <= {self.bound}; general outline, SymPy-checked steps)"
        if self.status == "bounded":
            return f"PROVED (all weights, sizes <= {self.bound})"
        return f"FAILED: {self.detail}"


THEOREMS: dict[str, Theorem] = {}


def theorem(name: str, title: str, claim: str, *, general: bool, bound: int, note: str = "",
            compares: str = LIB_VS_DEF, claims: dict[str, int] | None = None, outline: bool = False) -> Callable:
    """Register ``check(bound)`` as theorem ``name`` (``general``: the library's own objects proved for every size)."""

    def wrap(check: Callable[[int], Any]) -> Callable[[int], Any]:
        if name in THEOREMS:
            raise ValueError(f"theorem {name!r} registered twice")
        THEOREMS[name] = Theorem(name, title, claim, general, bound, check, note, compares,
                                 tuple((claims or {}).items()), outline)
        return check

    return wrap


def run_theorem(thm: Theorem, bound: int | None = None) -> Result:
    """Run one theorem, turning every failure into a ``failed`` result with its reason."""
    b = thm.default_bound if bound is None else bound
    t0 = time.perf_counter()
    try:
        cases = thm.check(b)
        if not isinstance(cases, Cases):
            raise Unproved("the check did not count its cases")
        if b >= thm.default_bound:
            for kind, least in thm.claims:
                if cases[kind] < least:
                    raise Unproved(f"coverage: {cases[kind]} {kind} checked, the scope claims >= {least}")
        elif not any(cases[kind] for kind, _ in thm.claims) and thm.claims:
            raise Unproved("coverage: no case checked")
    except Disproved as e:
        return Result(thm, "failed", b, time.perf_counter() - t0, f"counterexample: {e}")
    except Unproved as e:
        return Result(thm, "failed", b, time.perf_counter() - t0, f"proof step not established: {e}")
    except MissingDependency as e:
        return Result(thm, "failed", b, time.perf_counter() - t0, f"missing dependency: {e}")
    except Exception as e:  # a crash is a failure too, never a pass
        return Result(thm, "failed", b, time.perf_counter() - t0, f"error: {type(e).__name__}: {e}")
    return Result(thm, "general" if thm.general else "bounded", b, time.perf_counter() - t0, "", dict(cases.counts))


# -- checked steps ---------------------------------------------------------------------------------

def require(cond: Any, counterexample: str) -> None:
    """Raise :class:`Disproved` with ``counterexample`` unless ``cond`` is (SymPy-)true."""
    if cond is not True and cond is not sp.true:
        raise Disproved(counterexample)


def _is_zero(e: Any) -> bool:
    e = sp.expand(sp.sympify(e))
    if e == 0:
        return True
    return sp.simplify(e) == 0


def equal(a: Any, b: Any, where: str, *, general: bool = False) -> None:
    """Check ``a == b`` identically.  ``general``: a failure is :class:`Unproved`, not a counterexample."""
    if not _is_zero(sp.sympify(a) - sp.sympify(b)):
        msg = f"{where}: {a} != {b}"
        raise Unproved(msg) if general else Disproved(msg)


def same_matrix(a: Any, b: Any, where: str) -> None:
    """Check two (Sparse)Matrices are equal entry for entry (expanded polynomials)."""
    a, b = sp.SparseMatrix(a), sp.SparseMatrix(b)
    if a.shape != b.shape:
        raise Disproved(f"{where}: shapes {a.shape} != {b.shape}")
    diff = (a - b).applyfunc(sp.expand)
    for (r, c), v in diff.todok().items():
        if v != 0:
            raise Disproved(f"{where}: entry ({r}, {c}): {sp.expand(a[r, c])} != {sp.expand(b[r, c])}")


def same_entries(lib: Any, entries: dict, shape: tuple[int, int], where: str) -> None:
    """The library's (Sparse)Matrix ``lib`` equals the independent definition's ``{(r, c): entry}`` of ``shape``."""
    if tuple(lib.shape) != tuple(shape):
        raise Disproved(f"{where}: library shape {tuple(lib.shape)} != definition shape {tuple(shape)}")
    got = lib.todok() if hasattr(lib, "todok") else {(r, c): lib[r, c] for r in range(lib.rows) for c in range(lib.cols)}
    for key in set(got) | set(entries):
        a, b = sp.sympify(got.get(key, 0)), sp.sympify(entries.get(key, 0))
        if a != b and sp.expand(a - b) != 0:
            raise Disproved(f"{where}: entry {key}: library {sp.expand(a)} != definition {sp.expand(b)}")


def _sign_form(e: Any) -> sp.Expr:
    return sp.factor(sp.together(sp.expand(sp.sympify(e))))


def _forms(e: Any, alternatives: Iterable[dict]) -> Iterable[sp.Expr]:
    e = sp.sympify(e)
    for subs in [{}, *alternatives, *_ALTERNATIVES]:
        f = e.xreplace(subs) if subs else e
        yield from (f, sp.expand(f), _sign_form(f))


def nonneg(e: Any, why: str, alternatives: Iterable[dict] = ()) -> None:
    """Prove ``e >= 0`` from the assumptions on its symbols (else :class:`Unproved`).

    ``alternatives``: substitutions that re-parametrise a hypothesis (e.g.
    ``{f: 1 - g}`` with ``g > 0`` for ``f < 1``); proving the claim after any
    one of them proves it (the substitution only drops hypotheses).
    """
    if any(form.is_nonnegative for form in _forms(e, alternatives)):
        return
    raise Unproved(f"{why}: cannot show {e} >= 0")


def positive(e: Any, why: str, alternatives: Iterable[dict] = ()) -> None:
    """Prove ``e > 0`` from the assumptions on its symbols (see :func:`nonneg`)."""
    if any(form.is_positive for form in _forms(e, alternatives)):
        return
    raise Unproved(f"{why}: cannot show {e} > 0")


def floor_is(x: Any, q: Any) -> Any:
    """Lemma: ``floor(x) = q`` for integer ``q`` with ``q <= x < q + 1``; both bounds proved here."""
    if sp.sympify(q).is_integer is not True:
        raise Unproved(f"floor({x}) = {q}: {q} is not known to be an integer")
    nonneg(x - q, f"floor({x}) = {q}")
    positive(q + 1 - x, f"floor({x}) = {q}")
    return q


def ceiling_is(x: Any, q: Any) -> Any:
    """Lemma: ``ceiling(x) = q`` for integer ``q`` with ``q - 1 < x <= q``."""
    if sp.sympify(q).is_integer is not True:
        raise Unproved(f"ceiling({x}) = {q}: {q} is not known to be an integer")
    positive(x - (q - 1), f"ceiling({x}) = {q}")
    nonneg(q - x, f"ceiling({x}) = {q}")
    return q


def mod_is(a: Any, m: Any, r: Any) -> Any:
    """Lemma: ``a mod m = r`` when ``(a - r)/m`` is an integer and ``0 <= r < m``."""
    quotient = sp.simplify((sp.sympify(a) - r) / m)
    if quotient.is_integer is not True:
        raise Unproved(f"{a} mod {m} = {r}: ({a} - {r})/{m} = {quotient} is not known to be an integer")
    nonneg(r, f"{a} mod {m} = {r}")
    positive(m - r, f"{a} mod {m} = {r}")
    return r


def int_symbols(names: str, **assumptions: Any) -> Any:
    """Integer SymPy symbols (``nonnegative`` unless other assumptions are given)."""
    assumptions = assumptions or {"nonnegative": True}
    return sp.symbols(names, integer=True, **assumptions)




def resolve(expr: Any, candidates: Iterable[Any], alternatives: Iterable[dict] = ()) -> Any:
    """Replace every ``floor``/``ceiling``/``Mod`` atom of ``expr`` by a value proved equal to it.

    For each atom the first candidate ``c`` for which the lemma
    (:func:`floor_is`, :func:`ceiling_is`, :func:`mod_is`) is established is
    substituted; ``alternatives`` are parametrisations tried for the sign
    steps (see :func:`nonneg`).  Raises :class:`Unproved` if an atom stays.
    """
    expr = sp.sympify(expr)
    cands = list(candidates)
    alts = list(alternatives)
    for _ in range(20):
        atoms = [a for a in sp.preorder_traversal(expr) if isinstance(a, (sp.floor, sp.ceiling, sp.Mod))]
        if not atoms:
            return expr
        atom = atoms[-1]  # innermost first
        value = None
        for c in cands:
            try:
                _with_alternatives(atom, c, alts)
                value = c
                break
            except Unproved:
                continue
        if value is None:
            raise Unproved(f"no candidate value for {atom} among {cands}")
        expr = expr.xreplace({atom: value})
    raise Unproved(f"could not resolve the floors of {expr}")


_ALTERNATIVES: list[dict] = []


def _with_alternatives(atom: sp.Expr, value: Any, alternatives: list[dict]) -> Any:
    """Apply the lemma for ``atom == value`` with extra parametrisations for its sign steps."""
    global _ALTERNATIVES
    saved = _ALTERNATIVES
    _ALTERNATIVES = alternatives
    try:
        if isinstance(atom, sp.floor):
            return floor_is(atom.args[0], value)
        if isinstance(atom, sp.ceiling):
            return ceiling_is(atom.args[0], value)
        return mod_is(atom.args[0], atom.args[1], value)
    finally:
        _ALTERNATIVES = saved
