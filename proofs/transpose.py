r"""The transpose theorem: the Conv matrix transposed is the ConvTranspose matrix.

Claim.  For every kernel ``K``, stride ``s``, padding ``(lo, hi)``, dilation
``d``, groups ``G`` and input size ``n``, with ``m = conv(n)`` and
``op = (n + lo + hi - keff) mod s`` (what ``Conv.transpose`` chooses):
``A_conv(w)^T = A_convT(w)`` where ``A_convT`` is ``ConvTranspose(K, s, (lo, hi), op, G, d)``
on inputs of size ``m`` with the *same* weight tensor (both ``(C_out, C_in/G, *K)``).

Proof (general, on the library's own index maps):

0. For every kernel ``K <= 3``, stride and dilation ``<= 3``, pads ``<= 2`` and output padding
   ``op < s``, the index map that ``ConvTranspose(...).index_map((m,))`` builds for a *symbolic*
   input size ``m`` has the scatter relation of the definition (``i = s o - lo + d k``, output
   size ``(m-1)s + d(K-1) + 1 + op - lo - hi``), and the map that ``ConvTranspose.transpose()``
   (a Conv) builds on that symbolic output size has the same relation, the same input size and
   ``m`` outputs: the two layers' maps are one relation read in both directions, for every ``m``.

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

from convalg.index_map import AxisMap
from convalg.shapes.formulas import conv_output_size, conv_transpose_output_size

from . import definitions as D
from ._core import LIB_SYMBOLIC, Cases, Disproved, equal, int_symbols, require, resolve, same_entries, theorem
from ._ops import conv_transpose_vs_definition, conv_vs_definition, mat

__all__ = ["check_transpose_general", "check_transpose_matrices"]


def _library_maps(cases: Cases, bound: int) -> None:
    """Step 0: the maps both layers build, for a symbolic input size ``m``."""
    from convalg import ConvTranspose

    m = sp.Symbol("m", integer=True, positive=True)
    for K, s, d, lo, hi in itertools.product((1, 2, 3), (1, 2, 3), (1, 2, 3), (0, 1, 2), (0, 1, 2)):
        for op in range(s):
            where = f"ConvTranspose(K={K}, s={s}, d={d}, pads=({lo},{hi}), op={op}) on symbolic m"
            t = ConvTranspose(K, stride=s, padding=((lo, hi),), output_padding=op, dilation=d, ndim=1)
            (tm,) = t.index_map((m,)).axes
            o, k = tm.o, tm.k
            equal(tm.input_index, s * o - lo + d * k, f"{where}: scatter relation", general=True)
            equal(tm.n, (m - 1) * s + d * (K - 1) + 1 + op - lo - hi, f"{where}: output size", general=True)
            equal(tm.n_out, m, f"{where}: input size", general=True)
            (cm,) = t.transpose().index_map((tm.n,)).axes
            equal(cm.input_index.subs({cm.o: o, cm.k: k}), tm.input_index, f"{where}: its Conv's relation",
                  general=True)
            equal(cm.n, tm.n, f"{where}: its Conv's input size", general=True)
            equal(cm.n_out, m, f"{where}: its Conv's output size is m", general=True)
            cases.add("library map pairs (symbolic size)")


def check_transpose_general(bound: int) -> Cases:
    cases = Cases()
    _library_maps(cases, bound)
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
    cases.add("symbolic steps", 4)
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
    cases.add("symbolic steps", 3)
    return cases


def _transpose_layer(conv: Any, n: tuple[int, ...], correct: bool) -> Any:
    t = conv.transpose(n)
    return t if correct else t.replace(output_padding=0)


def check_transpose_matrices(bound: int, correct_output_padding: bool = True) -> Cases:
    cases = Cases()
    grid = []
    for n, K, s, d, lo, hi in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2), (0, 1)):
        grid.append(((n,), K, s, d, ((lo, hi),), 1, 1, 1, (n + K) % 2 == 0))
    for n, (G, cin, cout) in itertools.product(range(2, bound + 1), ((1, 1, 2), (2, 2, 2), (2, 4, 2))):
        grid.append(((n,), 3, 2, 1, ((1, 0),), G, cin, cout, False))
    for n0, n1 in itertools.product(range(2, bound + 1), repeat=2):
        grid.append(((n0, n1), (2, 3), (2, 1), (1, 2), ((0, 1), (2, 1)), 1, 1, 1, True))
    for spatial, K, s, d, pads, G, cin, cout, flip in grid:
        got = conv_vs_definition(cases, spatial, K, s, d, pads, G, cin, cout, "zeros", flip)
        if got is None:
            continue
        conv, A = got
        out = conv.output_shape(spatial)
        T = _transpose_layer(conv, spatial, correct_output_padding)
        where = f"{conv} at n={spatial}: ConvTranspose(output_padding={T.output_padding})"
        B = cases.expect_rejection(where, D.conv_transpose_valid(out, T.kernel_size, T.stride, T.dilation,
                                                                 T.padding, T.output_padding),
                                   lambda T=T, out=out, conv=conv: mat(T, out, weights=conv.weight_symbols))
        if B is None:
            raise Disproved(f"{where} on size {out} has no matrix matching A^T ({A.cols}x{A.rows})")
        # the library's ConvT is the scatter, and the scatter is the transposed direct sum
        entries = D.conv_transpose_entries(out, T.kernel_size, T.stride, T.dilation, T.padding, T.output_padding,
                                           G, cout, cin, conv.weight_symbols, flip)
        same_entries(B, entries, B.shape, f"{where}: matrix vs scatter")
        same_entries(A.T, entries, B.shape, f"{where}: A^T vs the scatter")
        cases.add("conv / transpose pairs")
    if not correct_output_padding:
        return cases
    # every ConvTranspose (each output_padding < stride) is the transpose of its Conv on the size it produces
    for m, K, s, d, lo, hi in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2), (0, 1)):
        channel_sets = ((1, 1, 1), (2, 2, 4)) if m <= 2 else ((1, 1, 1),)
        for op, (G, cin, cout) in itertools.product(range(s), channel_sets):
            got = conv_transpose_vs_definition(cases, (m,), K, s, d, ((lo, hi),), op, G, cin, cout)
            if got is None:
                continue
            t, B = got
            n_t = t.output_shape((m,))
            conv = t.transpose()
            same_entries(B, mat(conv, n_t, weights=t.weight_symbols).T.todok(), B.shape,
                         f"{t} on m={m}: matrix vs its Conv's matrix transposed")
            cases.add("transpose / conv pairs")
    return cases


theorem("transpose-index-relation", "Conv^T = ConvTranspose on the library's index maps, symbolic sizes",
        r"ConvTranspose's map on symbolic m and its Conv's map on the symbolic output size are one relation "
        r"i = s·o - lo + d·k; gather form inverts it; n_T = n for op = (n+lo+hi-keff) mod s; channel groups match",
        general=True, bound=1, compares=LIB_SYMBOLIC, claims={"library map pairs (symbolic size)": 486,
                                                              "symbolic steps": 7},
        note="library maps for K, s, d ≤ 3, lo, hi ≤ 2, every op < s, m a symbol; gather form and sizes "
        "with every parameter a symbol (AxisMap.symbolic); N-d by separability")(check_transpose_general)
theorem("transpose-matrices", "A_conv(w)^T = A_convT(w) for every stride, padding, dilation, groups, output_padding",
        r"Conv(...).matrix(n)^T = Conv(...).transpose(n).matrix(m) (same weight symbols); both = definitions",
        general=False, bound=4, claims={"conv / transpose pairs": 378, "transpose / conv pairs": 1154, "matrices vs definition": 1532},
        note="1-D n ≤ bound, K ≤ 3, s ≤ 3, d ≤ 2, lo ≤ 2, hi ≤ 1, flipped or not; groups 1, 2 with 1-4 "
        "channels; 2-D sizes ≤ bound; and every ConvTranspose with op < s on m ≤ bound")(check_transpose_matrices)
