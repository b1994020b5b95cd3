r"""Shape theorems: the size formulas of :mod:`convalg.shapes.formulas` and the rules built on them.

Notation per axis: ``n`` input size, ``K`` kernel, ``s`` stride, ``d``
dilation, ``lo``/``hi`` pads, ``keff = d(K-1)+1``, ``op`` output padding.
Lemmas used (each application checked by SymPy, see :mod:`proofs._core`):
``floor(x) = q`` iff ``q`` integer and ``q <= x < q+1``; ``ceil(x) = q`` iff
``q - 1 < x <= q``; ``a mod m = r`` iff ``m | a - r`` and ``0 <= r < m``.
Division with remainder is parametrised: ``0 <= r < s`` as ``r >= 0``,
``s = r + u``, ``u >= 1``.

``conv-transpose-size-inverse`` (general)
    With ``N = n + lo + hi - keff = q s + r``, ``q >= 0``, ``0 <= r < s``:
    ``conv(n) = q + 1`` and ``convT(conv(n), op) = n - r + op``, so
    ``convT(conv(n), op) = n  <=>  op = r = (n + lo + hi - keff) mod s``
    (the output_padding ``Conv.transpose`` chooses); and for every ``m >= 1``
    and ``0 <= op < s``: ``conv(convT(m, op)) = m``.
``floor-collapse`` (general)
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
    The library's rewrites (both rules and the mixed floor-of-ceiling forms)
    are compared with direct evaluation on rationals for every literal
    ``m <= bound`` (bounded).
``same-padding`` (general)
    ``same_padding(K, d) = (lo, hi)`` has ``lo + hi = d(K-1)``, ``0 <= hi - lo <= 1``
    and ``conv(n; K, 1, d, lo, hi) = n`` for all ``n, K, d``.
``ceil-mode-no-drop`` (general)
    If ``hi + s <= keff`` then in ceil mode, with ``o = ceil(N/s) + 1``, the
    last window starts before the right padding: ``(o - 1) s < n + lo``; so
    ``pool_output_size`` may skip PyTorch's drop test.
``tf-same-padding`` (general)
    ``max((ceil(n/s) - 1) s + keff - n, 0) = max(keff - 1 - (n-1) mod s, 0)``
    (the total pad of TF ``'SAME'`` as computed in ``convalg.spec.conventions``).
``receptive-field`` (general, induction on the number of layers ``L``)
    The recurrence ``r' = r + (keff - 1) J``, ``P' = P + lo J``, ``J' = J s``
    (``r_0 = J_0 = 1``, ``P_0 = 0``) used by ``receptive_field`` gives the
    hull ``[y J - P, y J - P + r - 1]`` of the inputs read by output ``y``
    through the composed index maps ``i = s o - lo + d k``.  Induction step
    (machine-checked on ``AxisMap.symbolic``): the added layer's output ``y``
    reads the previous outputs ``[s y - lo, s y - lo + d(K-1)]`` (monotone in
    ``k``), whose hulls, as ``J > 0``, span exactly the new interval.  The
    closed form ``r = 1 + sum_l (keff_l - 1) prod_{i<l} s_i``,
    ``P = sum_l lo_l prod_{i<l} s_i``, ``J = prod_l s_l`` is the unrolled
    recurrence (the increment of a finite sum is its last term; not
    machine-checked beyond the bounded part), and the library's values are
    compared with the closed form and the brute-force hull for every stack
    of up to 2 layers (3 with ``--bound >= 4``) with ``K <= 3``, ``s, d <= 2``,
    ``lo <= 1``, alternating Conv and MaxPool.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import ceil, floor

import sympy as sp

from convalg.index_map import AxisMap
from convalg.shapes.formulas import (
    conv_output_size,
    conv_transpose_output_size,
    effective_kernel,
    pool_output_size,
    same_padding,
)
from convalg.shapes.simplify import collapse_floors

from . import definitions as D
from ._core import LIB_SYMBOLIC, Cases, equal, int_symbols, nonneg, positive, require, resolve, theorem

__all__ = [
    "check_size_inverse", "check_floor_collapse", "check_same_padding", "check_ceil_no_drop",
    "check_tf_same", "check_receptive_field", "correct_output_padding",
]


def correct_output_padding(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """The output_padding that makes ConvTranspose invert Conv's size: ``(n + lo + hi - keff) mod s``."""
    return (n + lo + hi - effective_kernel(k, d)) % s


def check_size_inverse(bound: int, output_padding=correct_output_padding) -> Cases:
    """``convT(conv(n), output_padding(...)) == n`` (general proof + all instances <= bound)."""
    # bounded, with the library's functions and Conv.transpose, against the window counts of the definitions
    from convalg import Conv

    cases = Cases()
    for n, k, s, d, lo, hi in itertools.product(range(1, bound + 1), range(1, bound + 1), range(1, bound + 1),
                                                (1, 2), range(0, 3), range(0, 3)):
        keff = effective_kernel(k, d)
        if n + lo + hi < keff:
            continue
        m = conv_output_size(n, k, s, d, lo, hi)
        require(m == D.conv_windows(n, k, s, d, lo, hi), f"n={n}, K={k}, s={s}, d={d}, lo={lo}, hi={hi}: "
                f"conv_output_size {m} != {D.conv_windows(n, k, s, d, lo, hi)} windows")
        op = output_padding(n, k, s, d, lo, hi)
        back = conv_transpose_output_size(m, k, s, d, lo, hi, op)
        require(back == D.conv_transpose_size(m, k, s, d, lo, hi, op), f"m={m}, K={k}, s={s}, d={d}, op={op}: "
                "conv_transpose_output_size != the scatter length")
        cases.add("size pairs")
        require(back == n, f"n={n}, K={k}, s={s}, d={d}, lo={lo}, hi={hi}: conv size {m}, "
                           f"convT size with output_padding={op} is {back} != {n}")
        if output_padding is correct_output_padding and n <= 4 and k <= 3:
            layer = Conv(k, stride=s, padding=((lo, hi),), dilation=d)
            require(layer.transpose((n,)).output_shape((m,)) == (n,),
                    f"Conv.transpose at n={n}, K={k}, s={s}, d={d}, pads=({lo},{hi}) does not map back to n")
            cases.add("Conv.transpose layers")
        for op2 in range(s):
            require(conv_output_size(conv_transpose_output_size(m, k, s, d, lo, hi, op2), k, s, d, lo, hi) == m,
                    f"m={m}, op={op2}, K={k}, s={s}, d={d}, lo={lo}, hi={hi}: conv(convT(m)) != m")
    if output_padding is not correct_output_padding:
        return cases
    # general: N = q s + r, 0 <= r < s  (s = r + u, u >= 1)
    q, r, lo, hi = int_symbols("q r lo hi")
    u, k, d = int_symbols("u K d", positive=True)
    s = r + u
    keff = d * (k - 1) + 1
    n = q * s + r + keff - lo - hi
    m = resolve(conv_output_size(n, k, s, d, lo, hi), [q, q + 1, 0])
    equal(m, q + 1, "conv(n) = q + 1", general=True)
    equal(conv_transpose_output_size(m, k, s, d, lo, hi, r), n, "convT(conv(n), r) = n", general=True)
    op = sp.Symbol("op", integer=True, nonnegative=True)
    equal(conv_transpose_output_size(m, k, s, d, lo, hi, op) - n, op - r, "convT(conv(n), op) - n = op - r",
          general=True)
    # conversely, m = q + 1 >= 1 and op = r in [0, s): conv(convT(m, op)) = m
    n2 = conv_transpose_output_size(q + 1, k, s, d, lo, hi, r)
    equal(resolve(conv_output_size(n2, k, s, d, lo, hi), [q, q + 1]), q + 1, "conv(convT(m, op)) = m", general=True)
    cases.add("symbolic steps", 4)
    return cases


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


def check_same_padding(bound: int, extra_at_end: bool = True) -> Cases:
    """``extra_at_end=False`` is the false variant (PyTorch puts the odd pad at the end)."""
    from convalg import Conv

    cases = Cases()
    for n, k, d in itertools.product(range(1, bound + 1), range(1, bound + 1), range(1, 4)):
        total = d * (k - 1)
        want = (total // 2, total - total // 2)  # PyTorch: the extra pad at the end
        want = want if extra_at_end else want[::-1]
        conv = Conv(k, padding="same", dilation=d, ndim=1)
        require(conv.padding == (want,) and same_padding(k, d) == want,
                f"K={k}, d={d}: Conv(padding='same').padding = {conv.padding}, same_padding = "
                f"{same_padding(k, d)}, PyTorch splits {want}")
        require(conv.output_shape((n,)) == (n,) == (D.conv_windows(n, k, 1, d, *want),),
                f"Conv(K={k}, d={d}, padding='same') changes size n={n}")
        cases.add("layers")
    # general, on the library's own output: same_padding(K, d) with K, d symbols depends on d(K-1) only ...
    n, k, d = int_symbols("n K d", positive=True)
    lo, hi = same_padding(k, d)
    T = sp.Symbol("T", integer=True, nonnegative=True)
    for mine, ref in zip((lo, hi), same_padding(T + 1, 1)):
        equal(sp.sympify(mine).xreplace({k: T / d + 1}), ref, "same_padding(K, d) = same_padding(d(K-1) + 1, 1)",
              general=True)
    equal(lo + hi, d * (k - 1), "lo + hi = d(K-1)", general=True)
    equal(conv_output_size(n, k, 1, d, lo, hi), n, "conv(n) = n", general=True)
    # ... and for d(K-1) = T = 2t + b, b in {0, 1}, the library's split has hi - lo = b
    t = sp.Symbol("t", integer=True, nonnegative=True)
    for b in (0, 1):
        lo_t, hi_t = (resolve(v, [t]) for v in same_padding(2 * t + b + 1, 1))
        equal(hi_t - lo_t, b, f"hi - lo = {b} when d(K-1) = 2t + {b}", general=True)
        nonneg(lo_t, "lo >= 0")
    cases.add("symbolic steps", 5)
    return cases


def check_ceil_no_drop(bound: int, hypothesis: bool = True) -> Cases:
    """``hypothesis=False`` is the false variant: the claim without ``hi + s <= keff``."""
    cases = Cases()
    for n, k, s, d, lo, hi in itertools.product(range(1, bound + 1), range(1, bound + 1), range(1, bound + 1),
                                                (1, 2, 3), range(0, 3), range(0, 3)):
        keff = effective_kernel(k, d)
        if (hypothesis and hi + s > keff) or 2 * lo > k or 2 * hi > k:
            continue
        windows = D.pool_windows(n, k, s, d, lo, hi, ceil_mode=True)
        if not windows:
            continue
        o = -((-(n + lo + hi - keff)) // s) + 1  # ceil((n + lo + hi - keff)/s) + 1: no window dropped
        require(len(windows) == o, f"n={n}, K={k}, s={s}, d={d}, lo={lo}, hi={hi}: a ceil-mode window starts in "
                                   "the right padding although hi + s <= keff")
        require(pool_output_size(n, k, s, d, lo, hi, ceil_mode=True) == o,
                f"pool_output_size(n={n}, K={k}, s={s}, d={d}, lo={lo}, hi={hi}, ceil) != {o}")
        cases.add("sizes (d = 1)" if d == 1 else "sizes (d > 1)")
    # general, any dilation, on the library's pool_output_size: N = n + lo + hi - keff = q s - r, 0 <= r < s,
    # hypothesis hi + s <= keff written as hi = keff - s - e, e >= 0
    q = sp.Symbol("q", integer=True)
    r, e, lo = int_symbols("r e lo")
    u, k, d = int_symbols("u K d", positive=True)
    s = r + u
    keff = d * (k - 1) + 1
    hi = keff - s - e
    n = q * s - r + keff - lo - hi
    o = resolve(sp.ceiling((n + lo + hi - keff) / s), [q]) + 1
    positive(n + lo - (o - 1) * s, "(o - 1) s < n + lo: the last window starts before the right padding")
    got = pool_output_size(n, k, s, d, lo, hi, ceil_mode=True)
    if isinstance(got, sp.Piecewise):  # the library kept its drop test: decide it under the hypothesis
        (dropped_value, dropped), (kept_value, _) = got.args
        cond = resolve(dropped.lhs - dropped.rhs, [q])
        positive(-cond, "the library's drop test is false")
        got = kept_value
    equal(resolve(got, [q]), o, "pool_output_size(ceil_mode=True) = ceil(N/s) + 1", general=True)
    cases.add("symbolic steps", 2)
    return cases


def check_tf_same(bound: int, clamp: bool = True) -> Cases:
    """``clamp=False`` is the false variant: the total without ``max(..., 0)``."""
    from convalg.spec.conventions import _same_total

    cases = Cases()
    for n, keff, s in itertools.product(range(1, 3 * bound + 1), range(1, bound + 2), range(1, bound + 1)):
        want = (-(-n // s) - 1) * s + keff - n
        want = max(want, 0) if clamp else want
        require(_same_total(n, keff, s) == want, f"n={n}, keff={keff}, s={s}: {_same_total(n, keff, s)} != {want}")
        cases.add("sizes")
    q, r = int_symbols("q r")
    u, keff = int_symbols("u keff", positive=True)
    s = r + u
    n = q * s + r + 1
    lhs = sp.Max((resolve(sp.ceiling(n / s), [q + 1]) - 1) * s + keff - n, 0)
    rhs = resolve(_same_total(n, keff, s), [r])
    equal(lhs - rhs, 0, "TF SAME total", general=True)
    cases.add("symbolic steps")
    return cases


def _hull(stack: list[tuple[int, int, int, int]], y: int) -> tuple[int, int]:
    idx = {y}
    for k, s, d, lo in reversed(stack):
        idx = {s * o - lo + d * t for o in idx for t in range(k)}
    return min(idx), max(idx)


def check_receptive_field(bound: int) -> Cases:
    from convalg import Conv, MaxPool
    from convalg.shapes.stack import receptive_field

    cases = Cases()
    options = [(k, s, d, lo) for k in (1, 2, 3) for s in (1, 2) for d in (1, 2) for lo in (0, 1)]
    depth = 2 if bound < 4 else 3
    stacks = [list(c) for L in range(1, depth + 1) for c in itertools.product(options[:: 1 if L < 3 else 5], repeat=L)]
    for stack in stacks:
        if any(i % 2 and 2 * lo > k for i, (k, _, _, lo) in enumerate(stack)):
            continue
        layers = [(MaxPool if i % 2 else Conv)(k, stride=s, padding=((lo, 0),) if i % 2 == 0 else lo,
                                               dilation=d, ndim=1)
                  for i, (k, s, d, lo) in enumerate(stack)]
        (rf,) = receptive_field(layers, (256,))
        closed_r = 1 + sum((d * (k - 1)) * _prod(s_ for _, s_, _, _ in stack[:i]) for i, (k, _, d, _) in enumerate(stack))
        closed_p = sum(lo * _prod(s_ for _, s_, _, _ in stack[:i]) for i, (_, _, _, lo) in enumerate(stack))
        require((rf.size, rf.padding, rf.stride) == (closed_r, closed_p, _prod(s for _, s, _, _ in stack)),
                f"stack (K, s, d, lo) = {stack}: receptive_field = {rf}, closed form r={closed_r}, P={closed_p}")
        for y in (0, 1, 2):
            require(rf.region(y) == _hull(stack, y), f"stack {stack}: output {y} reads {_hull(stack, y)}, "
                                                      f"receptive_field says {rf.region(y)}")
        cases.add("stacks")
    # general: induction step on the symbolic index map of the added (last) layer
    m = AxisMap.symbolic()
    y = sp.Symbol("y", integer=True, nonnegative=True)
    r, J = sp.symbols("r J", integer=True, positive=True)
    P = sp.Symbol("P", integer=True)
    first = m.input_index.subs({m.o: y, m.k: 0})
    last = m.input_index.subs({m.o: y, m.k: m.kernel - 1})
    nonneg(last - first, "the last tap reads the largest index (d > 0)")
    new_r, new_P, new_J = r + (m.dilation * (m.kernel - 1)) * J, P + m.lo * J, J * m.stride  # the recurrence
    equal(first * J - P, y * new_J - new_P, "left end of the hull", general=True)
    equal(last * J - P + r - 1, y * new_J - new_P + new_r - 1, "right end of the hull", general=True)
    cases.add("symbolic steps", 2)
    return cases


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


theorem("conv-transpose-size-inverse", "transposed-conv size inverts the conv size",
        r"convT(conv(n), op) = n ⇔ op = (n+lo+hi-keff) mod s; conv(convT(m, op)) = m for 0 <= op < s",
        general=True, bound=6, compares=LIB_SYMBOLIC,
        claims={"size pairs": 2556, "Conv.transpose layers": 1134, "symbolic steps": 4},
        note="the library's size functions on symbolic n, K, s, d, lo, hi, op; for n, K, s ≤ bound, d ≤ 2, "
        "lo, hi ≤ 2 also against the window counts and scatter lengths of the definitions")(check_size_inverse)
theorem("floor-collapse", "nested floor / ceiling collapse (stack simplifier), c integer as a hypothesis",
        r"floor((floor(y)+c)/m) = floor((y+c)/m), ceiling((ceiling(y)+c)/m) = ceiling((y+c)/m), and the mixed "
        r"forms (y real, c integer, m >= 1); floor((X+t-X mod m)/m) = floor(X/m) + floor(t/m), same for ceiling",
        general=False, bound=5, outline=True,
        claims={"symbolic steps": 7, "library rewrites = proved rule": 20, "rewrites evaluated": 40560,
                "evaluated where 'c integer' fails": 10140},
        note="rules proved for symbolic y, c, m, X, t; collapse_floors' output is the proved rule for every literal "
        "m ≤ bound and equals direct evaluation on rationals, also where c is not an integer (there it must "
        "not rewrite: the rule is false at y = -7/4, c = 7/4)")(check_floor_collapse)
theorem("same-padding", "'same' padding preserves the size at stride 1",
        r"conv(n; K, s=1, d, same_padding(K, d)) = n, lo + hi = d(K-1), hi - lo ∈ {0, 1}",
        general=True, bound=8, compares=LIB_SYMBOLIC, claims={"layers": 192, "symbolic steps": 5},
        note="the library's same_padding and conv_output_size on symbolic n, K, d; Conv(padding='same') "
        "against PyTorch's split and the window count for n, K ≤ bound, d ≤ 3")(check_same_padding)
theorem("ceil-mode-no-drop", "ceil mode: no window starts in the right padding when hi + s <= keff",
        r"hi + s <= d(K-1)+1 ⇒ (ceil(N/s)) s < n + lo, N = n+lo+hi-keff, and pool_output_size = ceil(N/s) + 1",
        general=True, bound=6, compares=LIB_SYMBOLIC,
        claims={"sizes (d = 1)": 636, "sizes (d > 1)": 824, "symbolic steps": 2},
        note="the library's pool_output_size on symbolic n, K, s, d, lo, hi; against the definition's windows for "
        "n, K, s ≤ bound, d ≤ 3 (the drop cases themselves: window-counts)")(check_ceil_no_drop)
theorem("tf-same-padding", "TF 'SAME' total padding identity",
        r"max((ceil(n/s)-1)s + keff - n, 0) = max(keff - 1 - (n-1) mod s, 0)",
        general=True, bound=6, compares=LIB_SYMBOLIC, claims={"sizes": 756, "symbolic steps": 1},
        note="conventions._same_total on symbolic n, s, keff; against TF's definition for n ≤ 3·bound")(check_tf_same)
theorem("receptive-field", "receptive-field closed form = recurrence = hull of the composed index maps",
        r"r = 1 + Σ_l (keff_l - 1) Π_{i<l} s_i, P = Σ_l lo_l Π_{i<l} s_i, output y reads [yJ - P, yJ - P + r - 1]",
        general=False, bound=3, outline=True, claims={"stacks": 504, "symbolic steps": 2},
        note="receptive_field against the brute-force hull for stacks of ≤ 2 layers (K ≤ 3, s, d ≤ 2, lo ≤ 1, "
        "Conv and MaxPool); the induction step of recurrence = hull checked symbolically")(check_receptive_field)
