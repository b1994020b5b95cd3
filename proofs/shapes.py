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

import sympy as sp

from convalg.index_map import AxisMap
from convalg.shapes.formulas import (
    conv_output_size,
    conv_transpose_output_size,
    effective_kernel,
    pool_output_size,
    same_padding,
)

from . import definitions as D
from ._core import LIB_SYMBOLIC, Cases, equal, int_symbols, nonneg, positive, require, resolve, theorem

__all__ = [
    "check_size_inverse", "check_same_padding", "check_ceil_no_drop",
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
