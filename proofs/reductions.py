r"""Reductions of one layer to another, all checked on the library's own matrices with symbolic weights.

``fractional-striding``
    ``ConvT(K, s, (lo, hi), op, d) = Conv(K, 1, (d(K-1) - lo, d(K-1) - hi + op), d, flip) ∘ Z_s``
    where ``Z_s`` zero-stuffs ``s - 1`` zeros between inputs (size ``s(m-1)+1``)
    and the conv uses the flipped kernel (channel axes of the weight swapped).
    General part: on the index relation, ``i = s o - lo + d k`` iff the stride-1
    flipped conv's tap ``k' = K-1-k`` at output ``i`` reads the stuffed index ``s o``.
``dilation-stuffed-kernel``
    ``Conv(K, s, pads, d)(w) = Conv(d(K-1)+1, s, pads, 1)(w')`` with ``w'[d k] = w[k]``, zeros elsewhere.
    General part: ``s o - lo + d k = s o - lo + k'`` at ``k' = d k``.
``strided-subsampled``
    ``Conv(K, s, pads, d) = S_s · Conv(K, 1, pads, d)``, ``S_s`` selecting the outputs ``s o``.
    General part: ``input_index(s, o) = input_index(1, s o)``.
``pointwise-matmul``
    A 1x1 conv is ``W ⊗ I`` (``W[co, c]`` the weight, zero across groups): a matmul over channels.
``avg-pool-constant-kernel``
    ``AvgPool(K, s, pads, count_include_pad=True, ceil_mode=False) = (1/|K|) ·`` depthwise conv with
    all-ones kernel (every window divisor is ``|K|`` because no window overhangs the right padding).

Each reduction compares the library's matrix of the left-hand side with the right-hand side built from
the independent definitions (:mod:`proofs.definitions`), so it checks the library and the identity at once.

Scope: bounded (all weights, all parameter combinations up to the bound; 1-D and 2-D).  A general
version would need matrices of symbolic size, which SymPy cannot materialise; the index-level fact
behind each reduction (listed above) is checked for symbolic sizes and parameters.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from convalg.index_map import AxisMap

from . import definitions as D
from ._core import Cases, equal, same_entries, same_matrix, theorem
from ._ops import conv_transpose_vs_definition, conv_vs_definition, ops

__all__ = ["check_fractional_striding", "check_dilation", "check_strided", "check_pointwise", "check_avg_pool"]


def _stuff_matrix(m: int, s: int) -> sp.SparseMatrix:
    return sp.SparseMatrix(s * (m - 1) + 1, m, {(s * o, o): 1 for o in range(m)})


def _params(bound: int):
    yield from itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2), (0, 1))


def _direct(spatial, K, s, d, pads, groups, cin, cout, w, mode="zeros", flip=False) -> sp.SparseMatrix:
    """The definition's conv matrix (``SparseMatrix``)."""
    outs = [D.conv_windows(*a) for a in zip(spatial, K, s, d, *zip(*pads))]
    entries = D.conv_entries(spatial, K, s, d, pads, groups, cin, cout, w, mode, flip)
    return sp.SparseMatrix(cout * math.prod(outs), cin * math.prod(spatial), entries)


def check_fractional_striding(bound: int) -> Cases:
    cases = Cases()
    a = AxisMap.symbolic()
    kp = sp.Symbol("kp", integer=True)
    stuffed_read = a.i + a.dilation * kp - (a.dilation * (a.kernel - 1) - a.lo)  # stride-1 conv, left pad P
    equal(stuffed_read.subs(kp, a.kernel - 1 - a.k).subs(a.i, a.input_index), a.stride * a.o,
          "flipped stride-1 conv of the stuffed input reads index s*o", general=True)
    for m, K, s, d, lo, hi in _params(bound):
        for op in range(max(s, d)):
            for cin, cout in ((1, 1), (2, 3)) if m <= 3 else ((1, 1),):
                got = conv_transpose_vs_definition(cases, (m,), K, s, d, ((lo, hi),), op, 1, cin, cout)
                if got is None:
                    continue
                t, A = got
                w = t.weight_symbols  # (C_in, C_out, K)
                P = d * (K - 1)
                stuffed = sp.diag(*[_stuff_matrix(m, s)] * cin)
                rhs = _direct((s * (m - 1) + 1,), (K,), (1,), (d,), ((P - lo, P - hi + op),), 1, cin, cout,
                              np.transpose(w, (1, 0, 2)), flip=True) * stuffed
                same_matrix(A, rhs, f"ConvT(K={K}, s={s}, pads=({lo},{hi}), op={op}, d={d}, C={cin}->{cout}) on "
                                    f"m={m} vs stride-1 conv of the zero-stuffed input")
                cases.add("reductions")
    return cases


def check_dilation(bound: int) -> Cases:
    cases = Cases()
    a = AxisMap.symbolic()
    equal(a.at(dilation=1).input_index.subs(a.k, a.dilation * a.k), a.input_index, "tap d*k of the stuffed kernel",
          general=True)
    for n, K, s, d, lo, hi in _params(bound):
        for mode in ("zeros", "reflect") if lo + hi else ("zeros",):
            got = conv_vs_definition(cases, (n,), K, s, d, ((lo, hi),), 1, 1, 2, mode)
            if got is None:
                continue
            conv, A = got
            big = np.zeros((2, 1, d * (K - 1) + 1), dtype=object)
            big[..., ::d] = conv.weight_symbols
            same_matrix(A, _direct((n,), (d * (K - 1) + 1,), (s,), (1,), ((lo, hi),), 1, 1, 2, big, mode),
                        f"dilated Conv(K={K}, d={d}, s={s}, pads=({lo},{hi}), {mode}) at n={n} vs zero-stuffed kernel")
            cases.add("reductions")
    for n0, n1 in itertools.product(range(3, bound + 2), repeat=2):
        got = conv_vs_definition(cases, (n0, n1), (2, 2), 1, (2, 1), ((1, 1), (1, 1)))
        big = np.zeros((1, 1, 3, 2), dtype=object)
        big[:, :, ::2, :] = got[0].weight_symbols
        same_matrix(got[1], _direct((n0, n1), (3, 2), (1, 1), (1, 1), ((1, 1), (1, 1)), 1, 1, 1, big),
                    f"2-D dilated conv at {(n0, n1)}")
        cases.add("reductions")
    return cases


def check_strided(bound: int) -> Cases:
    cases = Cases()
    a = AxisMap.symbolic()
    equal(a.at(stride=1).input_index.subs(a.o, a.stride * a.o), a.input_index, "input_index(s, o) = "
          "input_index(1, s*o)", general=True)
    for n, K, s, d, lo, hi in _params(bound):
        for mode in ("zeros", "circular", "replicate") if n <= 3 else ("zeros",):
            got = conv_vs_definition(cases, (n,), K, s, d, ((lo, hi),), 2, 2, 2, mode)
            if got is None:
                continue
            strided, A = got
            dense = _direct((n,), (K,), (1,), (d,), ((lo, hi),), 2, 2, 2, strided.weight_symbols, mode)
            m1 = dense.rows // 2
            (m,) = strided.output_shape((n,))
            rows = [c * m1 + s * o for c in range(2) for o in range(m)]
            same_matrix(A, dense.extract(rows, list(range(dense.cols))),
                        f"Conv(K={K}, s={s}, d={d}, pads=({lo},{hi}), {mode}) at n={n} vs rows s*o of the stride-1 conv")
            cases.add("reductions")
    return cases


def _pointwise_matrix(W: sp.Matrix, size: int) -> sp.Matrix:
    """``W ⊗ I``: rows (co, position), columns (c, position)."""
    return sp.kronecker_product(W, sp.eye(size))


def check_pointwise(bound: int) -> Cases:
    cases = Cases()
    for n, (G, cin, cout) in itertools.product(range(1, bound + 1), ((1, 1, 1), (1, 2, 3), (2, 2, 4), (3, 3, 3))):
        for spatial in ((n,), (n, 2)):
            got = conv_vs_definition(cases, spatial, 1, 1, 1, ((0, 0),), G, cin, cout)
            conv, A = got
            w = conv.weight_symbols.reshape(cout, cin // G)
            W = sp.zeros(cout, cin)
            for co in range(cout):
                g = co // (cout // G)
                for ci in range(cin // G):
                    W[co, g * (cin // G) + ci] = w[co, ci]
            same_matrix(A, _pointwise_matrix(W, math.prod(spatial)),
                        f"1x1 conv groups={G}, C={cin}->{cout} at {spatial} vs W ⊗ I")
            cases.add("reductions")
    return cases


def check_avg_pool(bound: int) -> Cases:
    from convalg import AvgPool

    cases = Cases()
    for n, K, s, lo in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (0, 1)):
        for spatial in ((n,), (n, 3)) if n <= 4 else ((n,),):
            nd = len(spatial)
            pads = ((lo, lo),) * nd
            ok = 2 * lo <= K and D.conv_valid(spatial, (K,) * nd, (s,) * nd, (1,) * nd, pads)
            def build(K=K, s=s, lo=lo, nd=nd, spatial=spatial):
                pool = AvgPool(K, stride=s, padding=lo, count_include_pad=True, ndim=nd)
                return ops().matrix(pool, spatial, in_channels=2)

            A = cases.expect_rejection(f"AvgPool(K={K}, s={s}, p={lo}) at {spatial}", ok, build)
            if A is None:
                continue
            ones = np.full((2, 1, *(K,) * nd), sp.Integer(1), dtype=object)
            same_entries(A, (_direct(spatial, (K,) * nd, (s,) * nd, (1,) * nd, pads, 2, 2, 2, ones) / K**nd).todok(),
                         A.shape, f"AvgPool(K={K}, s={s}, p={lo}) at {spatial} vs constant-kernel depthwise conv")
            cases.add("reductions")
    return cases


theorem("fractional-striding", "transposed conv = stride-1 conv of the zero-stuffed input with the flipped kernel",
        r"ConvT(K,s,(lo,hi),op,d) = Conv(K,1,(d(K-1)-lo, d(K-1)-hi+op),d,flip) · Z_s",
        general=False, bound=4, claims={"reductions": 1486},
        note="m ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, every valid output_padding, channels 1→1 and "
        "2→3")(check_fractional_striding)
theorem("dilation-stuffed-kernel", "dilated conv = conv with the zero-stuffed kernel",
        r"Conv(K,s,p,d)(w) = Conv(d(K-1)+1,s,p,1)(w'), w'[dk] = w[k]", general=False, bound=5,
        claims={"reductions": 793},
        note="1-D n ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, zeros and reflect padding; 2-D sizes ≤ bound + 1"
        )(check_dilation)
theorem("strided-subsampled", "strided conv = subsampled stride-1 conv",
        r"Conv(K,s,p,d) = S_s · Conv(K,1,p,d)", general=False, bound=5, claims={"reductions": 948},
        note="n ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, zeros (and circular / replicate for n ≤ 3), depthwise 2 channels"
        )(check_strided)
theorem("pointwise-matmul", "1x1 conv = matmul over channels",
        r"Conv(1, groups G) = W ⊗ I (W block-diagonal over groups)", general=False, bound=4,
        claims={"reductions": 32}, note="n ≤ bound, 1-D and 2-D, groups 1, 2, 3")(check_pointwise)
theorem("avg-pool-constant-kernel", "avg-pool = conv with a constant kernel",
        r"AvgPool(K,s,p, count_include_pad) = |K|^{-1} · depthwise Conv(K,s,p)(1)", general=False,
        bound=5, claims={"reductions": 117},
        note="n ≤ bound, K ≤ 3, s ≤ 3, pad ≤ 1 (≤ K/2), 1-D, and 2-D (n, 3) for n ≤ 4")(check_avg_pool)
