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

from . import definitions as D
from ._core import Cases, equal, int_symbols, nonneg, require, resolve, same_matrix, theorem
from ._ops import conv_vs_definition, mat, symbols_like, vec
from .reductions import _direct

__all__ = ["check_bilinear", "check_flip", "check_full_convolution", "check_fusion", "full_conv"]


def _grid(bound: int):
    for n, K, (s, d), mode, flip in itertools.product(range(1, bound + 1), (1, 2, 3), ((1, 1), (2, 1), (1, 2)),
                                                      D.MODES, (False, True)):
        yield (n,), K, s, d, ((1, 1),) if mode != "zeros" else ((2, 0),), 2, 2, 2, mode, flip


def check_bilinear(bound: int) -> Cases:
    cases = Cases()
    al, be = sp.symbols("alpha beta")
    grid = list(_grid(bound)) + [((3, 4), (2, 3), (1, 2), 1, ((1, 1), (1, 1)), 1, 2, 1, "zeros", False)]
    for spatial, K, s, d, pads, G, cin, cout, mode, flip in grid:
        got = conv_vs_definition(cases, spatial, K, s, d, pads, G, cin, cout, mode, flip)
        if got is None:
            continue
        conv, Aw = got
        w, v = conv.weight_symbols, symbols_like("v", conv.weight_symbols.shape)
        # the library's matrix of a mixed weight is the definition's, whose entries are bilinear by construction
        _, Amix = conv_vs_definition(cases, spatial, K, s, d, pads, G, cin, cout, mode, flip, weights=al * w + be * v)
        x, z = symbols_like("x", (cin, *spatial)), symbols_like("z", (cin, *spatial))
        Av = mat(conv, spatial, weights=v)
        same_matrix(Amix * vec(x), al * Aw * vec(x) + be * Av * vec(x), f"{conv} at {spatial}: linear in w")
        same_matrix(Aw * (al * vec(x) + be * vec(z)), al * Aw * vec(x) + be * Aw * vec(z),
                    f"{conv} at {spatial}: linear in x")
        cases.add("bilinear layers")
    return cases


def check_flip(bound: int) -> Cases:
    cases = Cases()
    a = AxisMap.symbolic()
    equal(a.tap(flip=True), a.kernel - 1 - a.k, "tap(flip) = K-1-k", general=True)
    for spatial, K, s, d, pads, G, cin, cout, mode, flip in _grid(bound):
        if not flip:
            continue
        got = conv_vs_definition(cases, spatial, K, s, d, pads, G, cin, cout, mode, True)
        if got is None:
            continue
        conv, A = got
        flipped = conv.weight_symbols[(Ellipsis, *[slice(None, None, -1)] * conv.ndim)]
        same_matrix(A, _direct(spatial, (K,), (s,), (d,), pads, G, cin, cout, flipped, mode, False),
                    f"{conv} at {spatial} vs the cross-correlation with the flipped kernel")
        cases.add("flipped layers")
    return cases


def full_conv(x: list, w: list) -> list:
    """Full-mode true convolution of two sequences through the library's matrix."""
    from convalg import Conv

    K = len(w)
    conv = Conv(K, padding=K - 1, flip_kernel=True, in_channels=1, out_channels=1, ndim=1)
    y = mat(conv, (len(x),), weights=np.array(w, dtype=object).reshape(1, 1, K)) * sp.Matrix(x)
    return [sp.expand(e) for e in y]


def check_full_convolution(bound: int) -> Cases:
    from convalg import Conv

    cases = Cases()
    n = sp.Symbol("n", integer=True, positive=True)
    for K in range(1, bound + 1):  # the map Conv builds, on a symbolic input size
        m = Conv(K, padding=K - 1, flip_kernel=True, ndim=1).index_map((n,))
        (axis,), (tap,) = m.axes, m.taps()
        equal(axis.input_index + tap, axis.o, f"K={K}: i + k' = o in full mode", general=True)
        equal(axis.n_out, n + K - 1, f"K={K}: full output size n + K - 1", general=True)
        cases.add("library maps (symbolic n)")
    z = sp.Symbol("z")
    for La, Lb in itertools.product(range(1, bound + 1), repeat=2):
        A, B = list(sp.symbols(f"a0:{La}")), list(sp.symbols(f"b0:{Lb}"))
        ab = full_conv(A, B)
        require(ab == full_conv(B, A), f"lengths {La}, {Lb}: a*b != b*a")
        prod = sp.Poly(sum(c * z**i for i, c in enumerate(A)) * sum(c * z**i for i, c in enumerate(B)), z)
        require([sp.expand(prod.coeff_monomial(z**i)) for i in range(La + Lb - 1)] == ab,
                f"lengths {La}, {Lb}: full conv is not the polynomial product")
        cases.add("products vs polynomial product")
        for Lc in range(1, min(bound, 3) + 1):
            C = list(sp.symbols(f"c0:{Lc}"))
            require(full_conv(ab, C) == full_conv(A, full_conv(B, C)), f"lengths {La}, {Lb}, {Lc}: not associative")
            cases.add("associativity triples")
    return cases


def _fused_kernel(w1: np.ndarray, w2: np.ndarray, s1: int, d1: int, d2: int) -> np.ndarray:
    cout, cm, K2 = w2.shape
    _, cin, K1 = w1.shape
    size = d1 * (K1 - 1) + s1 * d2 * (K2 - 1) + 1
    W = np.full((cout, cin, size), sp.Integer(0), dtype=object)
    for co, ci, c, k1, k2 in itertools.product(range(cout), range(cin), range(cm), range(K1), range(K2)):
        W[co, ci, d1 * k1 + s1 * d2 * k2] += w2[co, c, k2] * w1[c, ci, k1]
    return W


def check_fusion(bound: int) -> Cases:
    cases = Cases()

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
    cases.add("symbolic steps", 4)
    # bounded: the library's two matrices multiplied vs the definition's conv with the fused kernel
    pads = ((0, 0), (1, 0), (0, 1), (1, 1), (2, 1))
    cases_ = itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2), (1, 2), (1, 2, 3), (1, 2), (1, 2), pads)
    for n, K1, s1_, d1, K2, s2_, d2, (lo, hi) in cases_:
        if (n + K1 + K2 + lo) % 2 and (lo, hi) != (0, 0):  # half the padded grid (time), every pad pair kept
            continue
        got1 = conv_vs_definition(cases, (n,), K1, s1_, d1, ((lo, hi),), 1, 1, 2)
        if got1 is None:
            continue
        c1, A1 = got1
        (mid,) = c1.output_shape((n,))
        w2 = symbols_like("u", (1, 2, K2))
        got2 = conv_vs_definition(cases, (mid,), K2, s2_, d2, ((0, 0),), 1, 2, 1, weights=w2)
        if got2 is None:
            continue
        W = _fused_kernel(c1.weight_symbols, w2, s1_, d1, d2)
        fused = _direct((n,), (W.shape[-1],), (s1_ * s2_,), (1,), ((lo, hi),), 1, 1, 1, W)
        same_matrix(got2[1] * A1, fused, f"n={n}: Conv(K={K1}, s={s1_}, d={d1}, pads=({lo},{hi})) then "
                                         f"Conv(K={K2}, s={s2_}, d={d2}) vs fused K={W.shape[-1]}")
        cases.add("fused pairs")
    return cases


theorem("bilinearity", "conv and cross-correlation are bilinear",
        r"A(αw+βv)x = αA(w)x + βA(v)x, A(w)(αx+βz) = αA(w)x + βA(w)z (all padding modes)",
        general=False, bound=3, claims={"bilinear layers": 185, "matrices vs definition": 370},
        note="1-D n ≤ bound, K ≤ 3, (s, d) ∈ {(1,1), (2,1), (1,2)}, all four padding modes, flipped or not, "
        "groups 2; one 2-D case; A(w) and A(αw+βv) against the definition")(check_bilinear)
theorem("correlation-flip", "cross-correlation = convolution with the flipped kernel",
        r"Conv(flip_kernel=True)(w) = Conv(flip_kernel=False)(w[..., ::-1])", general=False, bound=4, claims={"flipped layers": 128},
        note="as bilinearity (n ≤ bound); the tap rule tap(flip) = K-1-k checked on the symbolic map")(check_flip)
theorem("full-convolution-commutative-associative", "true convolution (full mode) is commutative and associative",
        r"y[o] = Σ_{i+k=o} x[i] w[k] (polynomial product), so a*b = b*a, (a*b)*c = a*(b*c)",
        general=False, bound=4, outline=True, claims={"library maps (symbolic n)": 4, "products vs polynomial product": 16,
                                                      "associativity triples": 48},
        note="the map Conv(K, padding=K-1, flip) builds, symbolic n, K ≤ bound; the library's products against the "
        "polynomial product for lengths ≤ bound (commutativity and associativity of the ring: outline)")(check_full_convolution)
theorem("layer-fusion", "two stacked convs = one conv (stride s1 s2, kernel size d1(K1-1) + s1 d2 (K2-1) + 1)",
        r"Conv2(K2,s2,d2, no pad) ∘ Conv1(K1,s1,d1,(lo,hi)) = Conv(W, s1 s2, (lo,hi)), "
        r"W[t] = Σ_{d1 k1 + s1 d2 k2 = t} w2[k2] w1[k1]", general=True, bound=4, claims={"fused pairs": 798, "matrices vs definition": 2158, "symbolic steps": 4},
        note="general index/size proof on AxisMap.symbolic and the library's size formula (second conv unpadded); "
        "matrices for n ≤ bound, K ≤ 3, s ≤ 2, d ≤ 2, first-layer pads (0,0), (1,0), (0,1), (1,1), (2,1)")(check_fusion)
