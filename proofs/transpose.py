r"""The transpose theorem: the Conv matrix transposed is the ConvTranspose matrix.

Claim.  For every kernel ``K``, stride ``s``, padding ``(lo, hi)``, dilation
``d``, groups ``G`` and input size ``n``, with ``m = conv(n)`` and
``op = (n + lo + hi - keff) mod s`` (what ``Conv.transpose`` chooses):
``A_conv(w)^T = A_convT(w)`` where ``A_convT`` is ``ConvTranspose(K, s, (lo, hi), op, G, d)``
on inputs of size ``m`` with the *same* weight tensor (both ``(C_out, C_in/G, *K)``).

Proof (general, on the symbolic index relation of :class:`convalg.index_map.AxisMap`):

1. ``A_conv[o, i] = sum_k w[k] [i = s o - lo + d k] [0 <= i < n] [0 <= o < m]``
   and PyTorch's transposed conv scatters ``x[o] w[k]`` to
   ``i = s o - lo + d k`` for ``0 <= i < n_T``: the same relation read
   backwards.  The library's gather form is that inverse:
   ``gather_output(i, k)`` evaluated at ``i = s o - lo + d k`` is ``o``,
   ``input_index`` at ``o = gather_output`` is ``i``, and ``gather_condition``
   on the relation reduces to ``0 <= o < m`` (the divisibility is exact).
2. Sizes: ``n_T = convT(m, op) = n`` exactly when ``op = r`` (theorem
   ``conv-transpose-size-inverse``, re-checked here), and the conv-transpose
   map's own ``hi - op`` reproduces ``m`` outputs: ``conv(n_T; lo, hi - op) = m``.
3. Channels: conv output channel ``co = g M + a`` (``M = C_out/G``) belongs
   to group ``g``; as the transposed conv's input channel its group is
   ``floor(co / M) = g`` too, and the in-group channel ``ci`` lands on output
   channel ``g C_in/G + ci``, the conv's input channel.  Per axis the N-d map
   is a product (separable), so the N-d case follows axis by axis.

Also checked on materialised matrices (all weights symbolic) for every
parameter combination up to the bound, 1-D and 2-D, with groups; and from the
other side: every ``ConvTranspose`` with ``0 <= output_padding < stride`` is the
transpose of ``ConvTranspose.transpose()`` (a Conv) on the size it produces.
(``output_padding >= stride``, allowed by PyTorch when ``< dilation``, adds
rows no Conv of that size has: not a transpose, not claimed.)
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from convalg import SpecError
from convalg.index_map import AxisMap
from convalg.shapes.formulas import conv_output_size, conv_transpose_output_size

from ._core import Disproved, equal, int_symbols, require, resolve, same_matrix, theorem
from ._ops import mat

__all__ = ["check_transpose_general", "check_transpose_matrices"]


def check_transpose_general(bound: int) -> None:
    m = AxisMap.symbolic()
    o, i = m.o, m.i
    rel = m.input_index
    equal(m.gather_output.subs(i, rel), o, "gather_output(input_index(o, k), k) = o", general=True)
    equal(rel.subs(o, m.gather_output), i, "input_index(gather_output(i, k), k) = i", general=True)
    num, den = sp.fraction(sp.together(m.gather_output))
    equal(num / den, m.gather_output, "gather_output = num/den", general=True)
    require(sp.simplify(den**2 - m.stride**2) == 0, f"the gather divisor {den} is not the stride")
    cond = sp.simplify(m.gather_condition.subs(i, rel))
    require(sp.simplify(sp.Equivalent(cond, sp.And(sp.Ge(o, 0), sp.Lt(o, m.n_out)))) is sp.true,
            f"gather_condition on the relation is {cond}, not 0 <= o < m")
    # sizes, with N = q s + r (0 <= r < s) and op = r
    q, r, lo, hi = int_symbols("q r lo hi")
    u, K, d = int_symbols("u K d", positive=True)
    s = r + u
    keff = d * (K - 1) + 1
    n = q * s + r + keff - lo - hi
    out = resolve(conv_output_size(n, K, s, d, lo, hi), [q, q + 1])
    n_t = conv_transpose_output_size(out, K, s, d, lo, hi, r)
    equal(n_t, n, "convT(conv(n), op = r) = n", general=True)
    op = sp.Symbol("op", integer=True, nonnegative=True)
    n_t = conv_transpose_output_size(out, K, s, d, lo, hi, op)
    equal(resolve(conv_output_size(n_t, K, s, d, lo, hi - op), [q, q + 1]), out,
          "the transposed map (pads lo, hi - op) has m outputs", general=True)
    # channels
    g, a = int_symbols("g a")
    M = sp.Symbol("M", integer=True, nonnegative=True)
    per = M + a + 1  # C_out/G, written so that 0 <= a < per
    co = g * per + a
    equal(resolve(sp.floor(co / per), [g]), g, "group of co in the transposed conv", general=True)


def _transpose_layer(conv: Any, n: tuple[int, ...], correct: bool) -> Any:
    t = conv.transpose(n)
    return t if correct else t.replace(output_padding=0)


def check_transpose_matrices(bound: int, correct_output_padding: bool = True) -> None:
    from convalg import Conv

    cases = []
    for n, K, s, d, lo, hi in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2), (0, 1)):
        if n + lo + hi < d * (K - 1) + 1:
            continue
        cases.append(((n,), dict(kernel_size=K, stride=s, dilation=d, padding=((lo, hi),)), 1, 1, 1))
    for n, (G, cin, cout) in itertools.product(range(2, min(bound, 5) + 1), ((1, 1, 2), (2, 2, 2), (2, 4, 2))):
        cases.append(((n,), dict(kernel_size=3, stride=2, dilation=1, padding=((1, 0),)), G, cin, cout))
    for n0, n1 in itertools.product(range(2, min(bound, 4) + 1), repeat=2):
        cases.append(((n0, n1), dict(kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2), padding=((0, 1), (2, 1))),
                      1, 1, 1))
    for spatial, kw, G, cin, cout in cases:
        conv = Conv(**kw, groups=G, in_channels=cin, out_channels=cout, ndim=len(spatial))
        try:
            out = conv.output_shape(spatial)
        except Exception:
            continue
        A = mat(conv, spatial)
        T = _transpose_layer(conv, spatial, correct_output_padding)
        try:
            B = mat(T, out, weights=conv.weight_symbols)
        except SpecError as e:
            raise Disproved(f"Conv({kw}) at n={spatial}: ConvTranspose(output_padding={T.output_padding}) "
                            f"on size {out} has no matrix matching A^T ({A.cols}x{A.rows}): {e}") from e
        same_matrix(B, A.T, f"Conv({kw}, groups={G}, C={cin}->{cout}) at n={spatial}: "
                            f"ConvTranspose(output_padding={T.output_padding}) matrix vs A^T")
    if not correct_output_padding:
        return
    # every ConvTranspose (each output_padding < stride) is the transpose of its Conv on the size it produces
    from convalg import ConvTranspose

    for m, K, s, d, lo, hi in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2), (0, 1)):
        channel_sets = ((1, 1, 1), (2, 2, 4)) if m <= 2 else ((1, 1, 1),)
        for op, (G, cin, cout) in itertools.product(range(s), channel_sets):
            t = ConvTranspose(K, stride=s, padding=((lo, hi),), output_padding=op, dilation=d, groups=G,
                              in_channels=cin, out_channels=cout, ndim=1)
            try:
                n_t = t.output_shape((m,))
            except SpecError:
                continue
            conv = t.transpose()
            same_matrix(mat(t, (m,)), mat(conv, n_t, weights=t.weight_symbols).T,
                        f"ConvTranspose(K={K}, s={s}, pads=({lo},{hi}), op={op}, d={d}, groups={G}) on m={m}: "
                        f"matrix vs its Conv's matrix transposed")


theorem("transpose-index-relation", "Conv^T = ConvTranspose on the symbolic index relation",
        r"i = s·o - lo + d·k read backwards (gather_output / gather_condition) is the same relation; "
        r"n_T = n for op = (n+lo+hi-keff) mod s; channel groups match",
        general=True, bound=1,
        note="every size and parameter a symbol (AxisMap.symbolic); N-d by separability")(check_transpose_general)
theorem("transpose-matrices", "A_conv(w)^T = A_convT(w) for every stride, padding, dilation, groups, output_padding",
        r"Conv(...).matrix(n)^T = Conv(...).transpose(n).matrix(m) (same weight symbols)",
        general=False, bound=5,
        note="1-D n ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, every output_padding < s; groups 1, 2 "
        "with 1-4 channels; 2-D sizes ≤ 4")(check_transpose_matrices)
