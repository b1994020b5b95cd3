r"""The library's layers against their independent definitions (:mod:`proofs.definitions`).

``conv-definition``
    ``Conv(...).matrix(n)`` equals the direct sum ``y[co, o] = Σ w[co, ci, tap(k)] xpad[c, s o - lo + d k]``
    with every weight a symbol: groups, stride, dilation, asymmetric padding, all four padding modes,
    cross-correlation and true convolution, 1-D, 2-D and 3-D.
``conv-transpose-definition``
    ``ConvTranspose(...).matrix(m)`` equals the scatter ``x[c, o] w[c, co, tap(k)] -> s o + d k``,
    cropped by the pads: every ``output_padding`` PyTorch accepts (``< stride`` or ``< dilation``).
``avg-pool-definition``
    ``AvgPool(...).matrix(n)`` equals the window sums over the divisor (``count_include_pad`` on and
    off, ``divisor_override``, ceil mode with its last-window drop rule, padding), 1-D and 2-D.
``window-counts``
    ``conv_output_size``, ``pool_output_size`` (floor and ceil mode), ``conv_transpose_output_size``
    and the layers' ``output_shape`` equal the number of windows the definitions slide (ceil-mode
    drop cases counted: the cases where a window would start in the right padding).

Scope: bounded (all weights; every parameter combination listed in the covers column).
"""

from __future__ import annotations

import itertools

import sympy as sp

from . import definitions as D
from ._core import Cases, require, same_entries, theorem
from ._ops import conv_transpose_vs_definition, conv_vs_definition, ops

__all__ = ["check_conv_definition", "check_conv_transpose_definition", "check_avg_pool_definition",
           "check_window_counts"]

PADS_1D = ((0, 0), (1, 0), (0, 2), (2, 1))
SD = ((1, 1), (2, 1), (1, 2), (3, 2), (2, 3))


def check_conv_definition(bound: int) -> Cases:
    cases = Cases()
    configs = ((1, 1, 1, False), (2, 2, 4, True))  # (groups, C_in, C_out, flip), alternated over the grid
    for n, K, (s, d), pads, mode in itertools.product(range(1, bound + 1), (1, 2, 3), SD, PADS_1D, D.MODES):
        G, cin, cout, flip = configs[(n + K + s + d) % 2]
        conv_vs_definition(cases, (n,), K, s, d, (pads,), G, cin, cout, mode, flip)
    for mode, (n0, n1) in itertools.product(D.MODES, ((3, 4), (2, 3))):
        conv_vs_definition(cases, (n0, n1), (2, 3), (2, 1), (1, 2), ((1, 0), (2, 1)), 1, 1, 1, mode, mode == "zeros")
        conv_vs_definition(cases, (n0, n1), (3, 2), (1, 2), (1, 1), ((1, 1), (0, 1)), 2, 2, 2, mode, True)
    conv_vs_definition(cases, (2, 3, 2), (2, 2, 1), 1, (1, 1, 2), ((1, 0), (0, 1), (1, 1)), 1, 1, 1, "circular")
    return cases


def check_conv_transpose_definition(bound: int) -> Cases:
    cases = Cases()
    for m, K, (s, d), pads in itertools.product(range(1, bound + 1), (1, 2, 3), SD, PADS_1D):
        for op in range(max(s, d) + 1):  # one beyond the limit: rejected by both
            G, cin, cout, flip = (1, 1, 1, False) if (m + op) % 2 else (2, 2, 4, True)
            conv_transpose_vs_definition(cases, (m,), K, s, d, (pads,), op, G, cin, cout, flip)
    for m0, m1 in ((2, 3), (3, 2)):
        conv_transpose_vs_definition(cases, (m0, m1), (2, 3), (2, 1), (1, 2), ((1, 0), (0, 1)), (1, 0), 1, 1, 2, True)
    return cases


def check_avg_pool_definition(bound: int) -> Cases:
    from convalg import AvgPool

    cases = Cases()
    grid = itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2, 3), (0, 1), (False, True), (False, True),
                             (None, 2))
    for n, K, s, p, ceil, include, override in grid:
        _avg_case(cases, AvgPool, (n,), (K,), (s,), ((p, p),), ceil, include, override)
    for n0, n1 in itertools.product(range(2, min(bound, 4) + 1), repeat=2):
        for ceil, include in itertools.product((False, True), repeat=2):
            _avg_case(cases, AvgPool, (n0, n1), (3, 2), (2, 1), ((1, 1), (1, 1)), ceil, include, None)
    return cases


def _avg_case(cases: Cases, AvgPool, spatial, K, s, pads, ceil, include, override) -> None:
    where = (f"AvgPool(K={K}, s={s}, pads={pads}, ceil_mode={ceil}, count_include_pad={include}, "
             f"divisor_override={override}) at {spatial}")
    ok = all(2 * lo <= k and len(D.pool_windows(n, k, ss, 1, lo, hi, ceil)) >= 1
             for n, k, ss, (lo, hi) in zip(spatial, K, s, pads))

    def build():
        pool = AvgPool(K, stride=s, padding=tuple(lo for lo, _ in pads), ceil_mode=ceil, count_include_pad=include,
                       divisor_override=override, ndim=len(spatial))
        return ops().matrix(pool, spatial)

    A = cases.expect_rejection(where, ok, build)
    if A is None:
        return
    outs, entries = D.avg_pool_entries(spatial, K, s, pads, ceil, include, override)
    entries = {key: sp.Rational(v.numerator, v.denominator) for key, v in entries.items()}
    same_entries(A, entries, (len(list(itertools.product(*map(range, outs)))), len(list(itertools.product(
        *map(range, spatial))))), where + ": matrix vs window sums")
    cases.add("matrices vs definition")
    if ceil and any(_dropped(n, k, ss, 1, lo, hi) for n, k, ss, (lo, hi) in zip(spatial, K, s, pads)):
        cases.add("ceil-mode drop cases")


def _dropped(n: int, k: int, s: int, d: int, lo: int, hi: int) -> bool:
    """Ceil mode would slide one more window, but it starts in the right padding."""
    span = d * (k - 1) + 1
    full = D.pool_windows(n, k, s, d, lo, hi, False)
    p = (len(full)) * s  # padded start of the window after the last full one
    return p - s + span < n + lo + hi and p >= n + lo


def check_window_counts(bound: int) -> Cases:
    from convalg import ConvTranspose, MaxPool
    from convalg.shapes.formulas import conv_output_size, conv_transpose_output_size, pool_output_size

    cases = Cases()
    for n, k, s, d, lo, hi in itertools.product(range(1, 2 * bound + 1), range(1, bound + 1), range(1, bound + 1),
                                                (1, 2, 3), range(0, 3), range(0, 3)):
        where = f"n={n}, K={k}, s={s}, d={d}, lo={lo}, hi={hi}"
        want = D.conv_windows(n, k, s, d, lo, hi)
        if want >= 1:
            require(conv_output_size(n, k, s, d, lo, hi) == want, f"{where}: conv_output_size "
                    f"{conv_output_size(n, k, s, d, lo, hi)} != {want} windows")
            cases.add("conv sizes")
        for ceil in (False, True):
            windows = D.pool_windows(n, k, s, d, lo, hi, ceil)
            if not windows or 2 * max(lo, hi) > k:  # PyTorch's pooling pad limit: pad <= kernel_size // 2
                continue
            got = pool_output_size(n, k, s, d, lo, hi, ceil_mode=ceil)
            require(got == len(windows), f"{where}, ceil_mode={ceil}: pool_output_size {got} != {len(windows)} windows")
            cases.add("pool sizes")
            if ceil and _dropped(n, k, s, d, lo, hi):
                cases.add("ceil-mode drop cases")
            if lo == hi and n <= bound:
                layer = MaxPool(k, stride=s, padding=lo, dilation=d, ceil_mode=ceil, ndim=1)
                require(layer.output_shape((n,)) == (len(windows),), f"{where}: MaxPool(ceil_mode={ceil}).output_shape")
                cases.add("layer output shapes")
        for op in range(max(s, d)):
            size = D.conv_transpose_size(n, k, s, d, lo, hi, op)
            if size < 1:
                continue
            require(conv_transpose_output_size(n, k, s, d, lo, hi, op) == size,
                    f"{where}, op={op}: conv_transpose_output_size != {size}")
            cases.add("conv-transpose sizes")
            if n <= bound and k <= 3:
                t = ConvTranspose(k, stride=s, padding=((lo, hi),), output_padding=op, dilation=d, ndim=1)
                require(t.output_shape((n,)) == (size,), f"{where}, op={op}: ConvTranspose.output_shape")
                cases.add("layer output shapes")
    return cases


theorem("conv-definition", "Conv matrix = the direct sum over windows (all padding modes, groups, flip)",
        r"A(w)[(co,o),(c,i)] = Σ_k w[co, c - gC_in/G, tap(k)] [xpad(s o - lo + d k) reads x[i]]",
        general=False, bound=4, claims={"matrices vs definition": 678},
        note="1-D n ≤ bound, K ≤ 3, (s, d) ∈ {(1,1), (2,1), (1,2), (3,2), (2,3)}, pads (0,0), (1,0), (0,2), (2,1), "
        "zeros / circular / reflect / replicate, groups 1 and 2 (2→4 channels, flipped); 2-D (3,4), (2,3) in "
        "every mode; one 3-D case")(check_conv_definition)
theorem("conv-transpose-definition", "ConvTranspose matrix = the cropped scatter (every valid output_padding)",
        r"y[co, s o + d k - lo] += x[c, o] w[c, co - gC_out/G, tap(k)], cropped to the output size",
        general=False, bound=4, claims={"matrices vs definition": 486},
        note="1-D m ≤ bound, K ≤ 3, (s, d) as conv-definition, same pads, output_padding 0 .. max(s, d) "
        "(the last rejected by both), groups 1 and 2, flipped or not; 2-D (2,3), (3,2)")(check_conv_transpose_definition)
theorem("avg-pool-definition", "AvgPool matrix = window sums / divisor (ceil mode, count_include_pad, divisor_override)",
        r"y[o] = Σ_{taps in the input} x / (divisor_override or #taps in [-lo, n+hi) or #taps in [0, n))",
        general=False, bound=5, claims={"matrices vs definition": 584, "ceil-mode drop cases": 60},
        note="1-D n ≤ bound, K, s ≤ 3, pad ≤ 1, ceil mode on / off, count_include_pad on / off, "
        "divisor_override none / 2; 2-D (n0, n1) ≤ 4 with K (3,2), s (2,1), pad 1")(check_avg_pool_definition)
theorem("window-counts", "output-size formulas = number of windows the definitions slide (ceil-mode drop rule)",
        r"conv / pool (floor, ceil) / conv-transpose sizes = the window counts; a ceil-mode window starting in "
        r"the right padding is dropped", general=False, bound=5,
        claims={"conv sizes": 5050, "pool sizes": 5508, "ceil-mode drop cases": 350, "conv-transpose sizes": 21652,
                "layer output shapes": 7130},
        note="n ≤ 2·bound, K, s ≤ bound, d ≤ 3, lo, hi ≤ 2, every output_padding < max(s, d); "
        "layers' output_shape for n ≤ bound")(check_window_counts)
