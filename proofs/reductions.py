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

from ._core import equal, same_matrix, theorem
from ._ops import mat, ops

__all__ = ["check_fractional_striding", "check_dilation", "check_strided", "check_pointwise", "check_avg_pool"]


def _stuff_matrix(m: int, s: int) -> sp.SparseMatrix:
    return sp.SparseMatrix(s * (m - 1) + 1, m, {(s * o, o): 1 for o in range(m)})


def _params(bound: int):
    for n, K, s, d, lo, hi in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2), (0, 1)):
        if n + lo + hi >= d * (K - 1) + 1:
            yield n, K, s, d, lo, hi


def check_fractional_striding(bound: int) -> None:
    from convalg import Conv, ConvTranspose

    a = AxisMap.symbolic()
    kp = sp.Symbol("kp", integer=True)
    stuffed_read = a.i + a.dilation * kp - (a.dilation * (a.kernel - 1) - a.lo)  # stride-1 conv, left pad P
    equal(stuffed_read.subs(kp, a.kernel - 1 - a.k).subs(a.i, a.input_index), a.stride * a.o,
          "flipped stride-1 conv of the stuffed input reads index s*o", general=True)
    for m, K, s, d, lo, hi in _params(bound):
        for op in range(max(s, d)):
            if op >= s and op >= d:
                continue
            for cin, cout in ((1, 1), (2, 3)) if m <= 3 else ((1, 1),):
                t = ConvTranspose(K, stride=s, padding=((lo, hi),), output_padding=op, dilation=d,
                                  in_channels=cin, out_channels=cout, ndim=1)
                try:
                    (n_t,) = t.output_shape((m,))
                except Exception:
                    continue
                w = t.weight_symbols  # (C_in, C_out, K)
                P = d * (K - 1)
                c = Conv(K, stride=1, padding=((P - lo, P - hi + op),), dilation=d, flip_kernel=True,
                         in_channels=cin, out_channels=cout, ndim=1)
                stuffed = sp.diag(*[_stuff_matrix(m, s)] * cin)
                rhs = mat(c, (s * (m - 1) + 1,), weights=np.transpose(w, (1, 0, 2))) * stuffed
                same_matrix(mat(t, (m,)), rhs, f"ConvT(K={K}, s={s}, pads=({lo},{hi}), op={op}, d={d}, "
                                               f"C={cin}->{cout}) on m={m} vs stride-1 conv of the zero-stuffed input")


def check_dilation(bound: int) -> None:
    from convalg import Conv

    a = AxisMap.symbolic()
    equal(a.at(dilation=1).input_index.subs(a.k, a.dilation * a.k), a.input_index, "tap d*k of the stuffed kernel",
          general=True)
    for n, K, s, d, lo, hi in _params(bound):
        conv = Conv(K, stride=s, padding=((lo, hi),), dilation=d, in_channels=1, out_channels=2, ndim=1)
        w = conv.weight_symbols
        big = np.zeros((2, 1, d * (K - 1) + 1), dtype=object)
        big[..., ::d] = w
        plain = Conv(d * (K - 1) + 1, stride=s, padding=((lo, hi),), in_channels=1, out_channels=2, ndim=1)
        same_matrix(mat(conv, (n,)), mat(plain, (n,), weights=big),
                    f"dilated Conv(K={K}, d={d}, s={s}, pads=({lo},{hi})) at n={n} vs zero-stuffed kernel")
    for n0, n1 in itertools.product(range(3, min(bound, 4) + 2), repeat=2):
        conv = Conv((2, 2), dilation=(2, 1), padding=1, in_channels=1, out_channels=1)
        big = np.zeros((1, 1, 3, 2), dtype=object)
        big[:, :, ::2, :] = conv.weight_symbols
        same_matrix(mat(conv, (n0, n1)), mat(Conv((3, 2), padding=1, in_channels=1, out_channels=1), (n0, n1),
                                             weights=big), f"2-D dilated conv at {(n0, n1)}")


def check_strided(bound: int) -> None:
    from convalg import Conv

    a = AxisMap.symbolic()
    equal(a.at(stride=1).input_index.subs(a.o, a.stride * a.o), a.input_index, "input_index(s, o) = "
          "input_index(1, s*o)", general=True)
    for n, K, s, d, lo, hi in _params(bound):
        kw = dict(kernel_size=K, padding=((lo, hi),), dilation=d, in_channels=2, out_channels=2, groups=2, ndim=1)
        strided, dense = Conv(stride=s, **kw), Conv(stride=1, **kw)
        (m,), (m1,) = strided.output_shape((n,)), dense.output_shape((n,))
        rows = [c * m1 + s * o for c in range(2) for o in range(m)]
        D = mat(dense, (n,))
        same_matrix(mat(strided, (n,)), D.extract(rows, list(range(D.cols))),
                    f"Conv(K={K}, s={s}, d={d}, pads=({lo},{hi})) at n={n} vs rows s*o of the stride-1 conv")


def check_pointwise(bound: int) -> None:
    from convalg import Conv

    for n, (G, cin, cout) in itertools.product(range(1, bound + 1), ((1, 1, 1), (1, 2, 3), (2, 2, 4), (3, 3, 3))):
        for spatial in ((n,), (n, 2)):
            conv = Conv(1, groups=G, in_channels=cin, out_channels=cout, ndim=len(spatial))
            w = conv.weight_symbols.reshape(cout, cin // G)
            W = sp.zeros(cout, cin)
            for co in range(cout):
                g = co // (cout // G)
                for ci in range(cin // G):
                    W[co, g * (cin // G) + ci] = w[co, ci]
            same_matrix(mat(conv, spatial), sp.kronecker_product(W, sp.eye(math.prod(spatial))),
                        f"1x1 conv groups={G}, C={cin}->{cout} at {spatial} vs W ⊗ I")


def check_avg_pool(bound: int) -> None:
    from convalg import AvgPool, Conv

    for n, K, s, lo in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (0, 1)):
        if 2 * lo > K or n + 2 * lo < K:
            continue
        for spatial in ((n,), (n, 3)) if n <= 4 else ((n,),):
            nd = len(spatial)
            pool = AvgPool(K, stride=s, padding=lo, count_include_pad=True, ndim=nd)
            conv = Conv(K, stride=s, padding=lo, groups=2, in_channels=2, out_channels=2, ndim=nd)
            ones = np.full(conv.weight_symbols.shape, sp.Integer(1), dtype=object)
            same_matrix(ops().matrix(pool, spatial, in_channels=2),
                        mat(conv, spatial, weights=ones) / K**nd,
                        f"AvgPool(K={K}, s={s}, p={lo}) at {spatial} vs constant-kernel depthwise conv")


theorem("fractional-striding", "transposed conv = stride-1 conv of the zero-stuffed input with the flipped kernel",
        r"ConvT(K,s,(lo,hi),op,d) = Conv(K,1,(d(K-1)-lo, d(K-1)-hi+op),d,flip) · Z_s",
        general=False, bound=4,
        note="m ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, every valid output_padding, channels 1→1 and 2→3")(check_fractional_striding)
theorem("dilation-stuffed-kernel", "dilated conv = conv with the zero-stuffed kernel",
        r"Conv(K,s,p,d)(w) = Conv(d(K-1)+1,s,p,1)(w'), w'[dk] = w[k]", general=False, bound=5,
        note="1-D n ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1; 2-D sizes ≤ 5")(check_dilation)
theorem("strided-subsampled", "strided conv = subsampled stride-1 conv",
        r"Conv(K,s,p,d) = S_s · Conv(K,1,p,d)", general=False, bound=5,
        note="n ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, depthwise 2 channels")(check_strided)
theorem("pointwise-matmul", "1x1 conv = matmul over channels",
        r"Conv(1, groups G) = W ⊗ I (W block-diagonal over groups)", general=False, bound=4,
        note="n ≤ bound, 1-D and 2-D, groups 1, 2, 3")(check_pointwise)
theorem("avg-pool-constant-kernel", "avg-pool = conv with a constant kernel",
        r"AvgPool(K,s,p, count_include_pad) = |K|^{-1} · depthwise Conv(K,s,p)(1)", general=False,
        bound=5, note="n ≤ bound, K ≤ 3, s ≤ 3, pad ≤ 1 (≤ K/2), 1-D, and 2-D (n, 3) for n ≤ 4")(check_avg_pool)
