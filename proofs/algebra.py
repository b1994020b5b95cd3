r"""The algebra of convolution: bilinearity, flipping, commutativity, associativity, layer fusion.

``bilinearity`` (bounded: it is a statement about materialised matrices; that each entry
    ``Σ_k w[tap(k)] [i = s o - lo + d k]`` is linear in ``w`` is plain from the index map)
    ``y(w, x) = A(w) x`` is linear in ``w`` and in ``x``:
    ``A(αw + βv) x = α A(w) x + β A(v) x`` and ``A(w)(αx + βz) = α A(w) x + β A(w) z``,
    for cross-correlation and true convolution, every stride / padding mode / dilation / groups.
``correlation-flip`` (bounded, plus the general index fact ``tap(flip) = K-1-k``)
    ``Conv(flip_kernel=True)(w) = Conv(flip_kernel=False)(flip(w))``.
``full-convolution-commutative-associative`` (general)
    Full-mode true convolution (``Conv(K, padding=K-1, flip_kernel=True)``)
    computes ``y[o] = sum_{i + k = o} x[i] w[k]``: on the symbolic index map
    ``input_index + tap = o`` when ``lo = K - 1`` and ``s = d = 1``, and the
    output size is ``n + K - 1``, so every pair ``(i, k)`` occurs exactly once.
    Hence ``y`` is the coefficient list of the polynomial product ``X(z) W(z)``,
    and ``a * b = b * a``, ``(a * b) * c = a * (b * c)`` hold because polynomial
    multiplication is commutative and associative.  Also checked on the
    library's matrices for all lengths up to the bound.
``layer-fusion`` (general index and size argument + bounded matrices)
    Conv1 ``(K1, s1, d1, (lo1, hi1))`` followed by an *unpadded* Conv2
    ``(K2, s2, d2)`` equals one conv with stride ``s1 s2``, dilation 1,
    padding ``(lo1, hi1)`` and kernel
    ``W[co, ci, t] = sum_{cm} sum_{d1 k1 + s1 d2 k2 = t} w2[co, cm, k2] w1[cm, ci, k1]``
    of size ``d1(K1-1) + s1 d2 (K2-1) + 1`` (``K1 + K2 - 1`` for stride and
    dilation 1).  Proof: composing the index maps gives
    ``s1 (s2 o + d2 k2) - lo1 + d1 k1 = s1 s2 o - lo1 + (d1 k1 + s1 d2 k2)``;
    Conv2 reads only inside Conv1's output (so Conv1's zero padding is the
    fused conv's); the sizes agree by the nested-floor argument with
    ``N - keff1 = q1 s1 + r1``, ``q1 + 1 - keff2 = q2 s2 + r2``.  If Conv2 is
    padded, fusion holds only away from the border (Conv2 pads Conv1's output
    with zeros, not Conv1 applied to padding): not claimed.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from convalg.index_map import AxisMap
from convalg.shapes.formulas import conv_output_size

from ._core import equal, int_symbols, nonneg, require, resolve, same_matrix, theorem
from ._ops import mat, symbols_like, vec

__all__ = ["check_bilinear", "check_flip", "check_full_convolution", "check_fusion", "full_conv"]


def _conv_cases(bound: int):
    from convalg import Conv

    for n, K, (s, d), mode, flip in itertools.product(range(1, bound + 1), (1, 2, 3), ((1, 1), (2, 1), (1, 2)),
                                                      ("zeros", "circular", "reflect", "replicate"), (False, True)):
        pad = 1 if mode != "zeros" else ((2, 0),)
        if mode == "reflect" and n < 2:
            continue
        conv = Conv(K, stride=s, padding=pad, dilation=d, padding_mode=mode, flip_kernel=flip, groups=2,
                    in_channels=2, out_channels=2, ndim=1)
        try:
            conv.output_shape((n,))
        except Exception:
            continue
        yield conv, (n,)
    yield Conv((2, 3), stride=(1, 2), padding=1, in_channels=2, out_channels=1), (3, 4)


def check_bilinear(bound: int) -> None:
    al, be = sp.symbols("alpha beta")
    for conv, spatial in _conv_cases(bound):
        w, v = conv.weight_symbols, symbols_like("v", conv.weight_symbols.shape)
        x, z = symbols_like("x", (2, *spatial)), symbols_like("z", (2, *spatial))
        cin = conv.in_channels
        x, z = x[:cin], z[:cin]
        Aw, Av = mat(conv, spatial), mat(conv, spatial, weights=v)
        Amix = mat(conv, spatial, weights=al * w + be * v)
        same_matrix(Amix * vec(x), al * Aw * vec(x) + be * Av * vec(x), f"{conv} at {spatial}: linear in w")
        same_matrix(Aw * (al * vec(x) + be * vec(z)), al * Aw * vec(x) + be * Aw * vec(z),
                    f"{conv} at {spatial}: linear in x")


def check_flip(bound: int) -> None:
    a = AxisMap.symbolic()
    equal(a.tap(flip=True), a.kernel - 1 - a.k, "tap(flip) = K-1-k", general=True)
    for conv, spatial in _conv_cases(bound):
        if not conv.flip_kernel:
            continue
        w = conv.weight_symbols
        flipped = w[(Ellipsis, *[slice(None, None, -1)] * conv.ndim)]
        same_matrix(mat(conv, spatial), mat(conv.replace(flip_kernel=False), spatial, weights=flipped),
                    f"{conv} at {spatial} vs cross-correlation with the flipped kernel")


def full_conv(x: list, w: list) -> list:
    """Full-mode true convolution of two sequences through the library's matrix."""
    from convalg import Conv

    K = len(w)
    conv = Conv(K, padding=K - 1, flip_kernel=True, in_channels=1, out_channels=1, ndim=1)
    y = mat(conv, (len(x),), weights=np.array(w, dtype=object).reshape(1, 1, K)) * sp.Matrix(x)
    return [sp.expand(e) for e in y]


def check_full_convolution(bound: int) -> None:
    a = AxisMap.symbolic()
    K = a.kernel
    full = a.at(stride=1, dilation=1, lo=K - 1, hi=K - 1)
    equal(full.input_index + full.tap(flip=True), a.o, "i + k' = o in full mode", general=True)
    equal(conv_output_size(a.n, K, 1, 1, K - 1, K - 1), a.n + K - 1, "full output size n + K - 1", general=True)
    seqs = {L: list(sp.symbols(f"{name}0:{L}")) for L in range(1, bound + 1) for name in ("a",)}
    for La, Lb in itertools.product(range(1, bound + 1), repeat=2):
        A, B = seqs[La], list(sp.symbols(f"b0:{Lb}"))
        z = sp.Symbol("z")
        ab = full_conv(A, B)
        require(ab == full_conv(B, A), f"lengths {La}, {Lb}: a*b != b*a")
        prod = sp.Poly(sum(c * z**i for i, c in enumerate(A)) * sum(c * z**i for i, c in enumerate(B)), z)
        require([sp.expand(prod.coeff_monomial(z**i)) for i in range(La + Lb - 1)] == ab,
                f"lengths {La}, {Lb}: full conv is not the polynomial product")
        for Lc in range(1, min(bound, 3) + 1):
            C = list(sp.symbols(f"c0:{Lc}"))
            require(full_conv(ab, C) == full_conv(A, full_conv(B, C)), f"lengths {La}, {Lb}, {Lc}: not associative")


def _fused_kernel(w1: np.ndarray, w2: np.ndarray, s1: int, d1: int, d2: int) -> np.ndarray:
    cout, cm, K2 = w2.shape
    _, cin, K1 = w1.shape
    size = d1 * (K1 - 1) + s1 * d2 * (K2 - 1) + 1
    W = np.full((cout, cin, size), sp.Integer(0), dtype=object)
    for co, ci, c, k1, k2 in itertools.product(range(cout), range(cin), range(cm), range(K1), range(K2)):
        W[co, ci, d1 * k1 + s1 * d2 * k2] += w2[co, c, k2] * w1[c, ci, k1]
    return W


def check_fusion(bound: int) -> None:
    from convalg import Conv

    # general: index composition
    m1, m2 = AxisMap.symbolic(1), AxisMap.symbolic(2)
    composed = m1.input_index.subs(m1.o, m2.at(lo=0).input_index)
    fused = m1.stride * m2.stride * m2.o - m1.lo + (m1.dilation * m1.k + m1.stride * m2.dilation * m2.k)
    equal(composed, fused, "composed index map", general=True)
    # general: sizes and in-range reads, N - keff1 = q1 s1 + r1, q1 + 1 - keff2 = q2 s2 + r2
    q2, r1, r2, v1, v2, lo, hi = int_symbols("q2 r1 r2 v1 v2 lo hi")
    k1, k2 = int_symbols("k1 k2", positive=True)  # effective kernels
    s1, s2 = r1 + v1 + 1, r2 + v2 + 1
    q1 = q2 * s2 + r2 + k2 - 1
    n = q1 * s1 + r1 + k1 - lo - hi
    out1 = resolve(conv_output_size(n, k1, s1, 1, lo, hi), [q1 + 1, q1])
    equal(out1, q1 + 1, "conv1 size", general=True)
    out2 = resolve(conv_output_size(out1, k2, s2, 1, 0, 0), [q2 + 1, q2])
    outf = resolve(conv_output_size(n, k1 + s1 * (k2 - 1), s1 * s2, 1, lo, hi), [q2 + 1, q2])
    equal(out2, outf, "two-layer size = fused size", general=True)
    nonneg((out1 - 1) - (s2 * (out2 - 1) + k2 - 1), "conv2 reads inside conv1's output")
    # bounded: matrices
    cases = itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2), (1, 2), (1, 2, 3), (1, 2), (1, 2), (0, 1))
    for n, K1, s1_, d1, K2, s2_, d2, p in cases:
        c1 = Conv(K1, stride=s1_, dilation=d1, padding=((p, 1 - p),), in_channels=1, out_channels=2, ndim=1)
        c2 = Conv(K2, stride=s2_, dilation=d2, in_channels=2, out_channels=1, ndim=1)
        try:
            mid = c1.output_shape((n,))
            c2.output_shape(mid)
        except Exception:
            continue
        w2 = symbols_like("u", c2.weight_symbols.shape)
        W = _fused_kernel(c1.weight_symbols, w2, s1_, d1, d2)
        cf = Conv(W.shape[-1], stride=s1_ * s2_, padding=((p, 1 - p),), in_channels=1, out_channels=1, ndim=1)
        same_matrix(mat(c2, mid, weights=w2) * mat(c1, (n,)), mat(cf, (n,), weights=W),
                    f"n={n}: Conv(K={K1}, s={s1_}, d={d1}) then Conv(K={K2}, s={s2_}, d={d2}) vs fused K={W.shape[-1]}")


theorem("bilinearity", "conv and cross-correlation are bilinear",
        r"A(αw+βv)x = αA(w)x + βA(v)x, A(w)(αx+βz) = αA(w)x + βA(w)z (all padding modes)",
        general=False, bound=3,
        note="1-D n ≤ bound, K ≤ 3, (s, d) ∈ {(1,1), (2,1), (1,2)}, all four padding modes, flipped or not, "
        "groups 2; one 2-D case")(check_bilinear)
theorem("correlation-flip", "cross-correlation = convolution with the flipped kernel",
        r"Conv(flip_kernel=True)(w) = Conv(flip_kernel=False)(w[..., ::-1])", general=False, bound=4,
        note="as bilinearity; the tap rule tap(flip) = K-1-k checked on the symbolic map")(check_flip)
theorem("full-convolution-commutative-associative", "true convolution (full mode) is commutative and associative",
        r"y[o] = Σ_{i+k=o} x[i] w[k] (polynomial product), so a*b = b*a, (a*b)*c = a*(b*c)",
        general=True, bound=4,
        note="general via the index map and the polynomial ring; matrices checked for lengths ≤ bound")(check_full_convolution)
theorem("layer-fusion", "two stacked convs = one conv (stride s1 s2, kernel size d1(K1-1) + s1 d2 (K2-1) + 1)",
        r"Conv2(K2,s2,d2, no pad) ∘ Conv1(K1,s1,d1,(lo,hi)) = Conv(W, s1 s2, (lo,hi)), "
        r"W[t] = Σ_{d1 k1 + s1 d2 k2 = t} w2[k2] w1[k1]", general=True, bound=4,
        note="general index/size proof (second conv unpadded); matrices for n ≤ bound, K ≤ 3, s ≤ 2, d ≤ 2")(check_fusion)
