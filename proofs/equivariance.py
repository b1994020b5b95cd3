r"""Translational equivariance.

``equivariance-circular`` (general + bounded)
    A stride-1 circular conv with ``lo + hi = keff - 1`` (output size ``n``)
    commutes with every cyclic shift: ``A P_t = P_t A``.  General: the folded
    index satisfies ``(((s o - lo + d k) mod n) - t) mod n = (s (o - t) - lo + d k) mod n``
    at ``s = 1``, so shifting the input by ``t`` shifts the output by ``t`` (mod ``n``).
``equivariance-strided`` (general + bounded)
    Zero-padded conv with stride ``s``: shifting the input by ``s``
    (``x'[i] = x[i - s]``) shifts the output by one: ``y'[o] = y[o - 1]`` for
    every interior output (all taps of ``o`` and ``o - 1`` inside the input).
    General: ``input_index(o, k) - s = input_index(o - 1, k)``.  At ``s = 1``
    this is the zero-padded interior equivariance.  A shift by ``t`` that is
    not a multiple of ``s`` has no such output shift (the false variant in the
    tests finds the counterexample).

Both compare the library's matrices with the definition first (``conv-definition``'s check), then check the
property on the library's matrices.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from convalg.index_map import AxisMap

from ._core import LIB_PROPERTY, Cases, equal, require, same_matrix, theorem
from ._ops import conv_vs_definition, symbols_like, vec

__all__ = ["check_circular", "check_strided_shift"]


def _cyclic(n: int, t: int) -> sp.SparseMatrix:
    return sp.SparseMatrix(n, n, {((i + t) % n, i): 1 for i in range(n)})


def check_circular(bound: int) -> Cases:
    cases = Cases()
    a = AxisMap.symbolic()
    t = sp.Symbol("t", integer=True)
    one = a.at(stride=1)
    lhs = sp.Mod(one.padded_index("circular") - t, a.n)
    rhs = one.padded_index("circular").subs(a.o, a.o - t)
    equal(lhs, rhs, "cyclic shift of the folded index", general=True)
    for n, K, d in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2)):
        keff = d * (K - 1) + 1
        for lo in range(keff):
            hi = keff - 1 - lo
            got = conv_vs_definition(cases, (n,), K, 1, d, ((lo, hi),), 1, 1, 1, "circular")
            if got is None:
                continue
            A = got[1]
            for shift in range(n):
                P = _cyclic(n, shift)
                same_matrix(A * P, P * A, f"circular Conv(K={K}, d={d}, pads=({lo},{hi})) n={n}, shift {shift}")
                cases.add("shifts")
    for n0, n1 in ((3, 4), (4, 3)):
        A = conv_vs_definition(cases, (n0, n1), 3, 1, 1, ((1, 1), (1, 1)), 1, 1, 1, "circular")[1]
        for t0, t1 in itertools.product(range(n0), range(n1)):
            P = sp.kronecker_product(_cyclic(n0, t0), _cyclic(n1, t1))
            same_matrix(A * P, P * A, f"2-D circular conv at {(n0, n1)}, shift {(t0, t1)}")
            cases.add("shifts")
    return cases


def check_strided_shift(bound: int, input_shift=lambda s: s) -> Cases:
    """Shift the input by ``input_shift(s)``; claim: the interior output shifts by one."""
    cases = Cases()
    a = AxisMap.symbolic()
    equal(a.input_index - a.stride, a.input_index.subs(a.o, a.o - 1), "input_index(o) - s = input_index(o - 1)",
          general=True)
    for n, K, s, d, lo in itertools.product(range(1, 2 * bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2)):
        got = conv_vs_definition(cases, (n,), K, s, d, ((lo, lo),))
        if got is None:
            continue
        conv, A = got
        (m,) = conv.output_shape((n,))
        t = input_shift(s)
        x = symbols_like("x", (n,))
        shifted = np.array([x[i - t] if i - t >= 0 else sp.Integer(0) for i in range(n)], dtype=object)
        y, y2 = A * vec(x), A * vec(shifted)
        for o in range(1, m):
            inside = all(0 <= s * oo - lo + d * k < n for oo in (o, o - 1) for k in range(K))
            if inside:
                require(sp.expand(y2[o] - y[o - 1]) == 0,
                        f"Conv(K={K}, s={s}, d={d}, pad={lo}) n={n}: input shifted by {t}, output {o}: "
                        f"{y2[o]} != y[{o - 1}] = {y[o - 1]}")
                cases.add("interior outputs")
    return cases


theorem("equivariance-circular", "circular conv commutes with cyclic shifts",
        r"A P_t = P_t A for stride-1 circular conv (1-D, 2-D), (P_t x)[i] = x[i - t mod n]",
        general=True, bound=5, compares=LIB_PROPERTY, claims={"shifts": 226, "matrices vs definition": 62},
        note="general on the folded index map (AxisMap.symbolic); the library's matrices (each also against the "
        "definition) for n ≤ bound, K ≤ 3, d ≤ 2, every split of the pads, and 2-D 3x4, 4x3")(check_circular)
theorem("equivariance-strided", "stride s: a shift by s in is a shift by 1 out (zero padding, interior)",
        r"x'[i] = x[i - s] ⇒ y'[o] = y[o - 1] wherever both windows lie inside the input",
        general=True, bound=4, compares=LIB_PROPERTY, claims={"interior outputs": 519, "matrices vs definition": 399},
        note="general on the index map; the library's matrices (each also against the definition) for n ≤ 2·bound, "
        "K, s ≤ 3, d ≤ 2, pad ≤ 2")(check_strided_shift)
