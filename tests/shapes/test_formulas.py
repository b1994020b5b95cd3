"""Every layer kind's size formula, at integers and substituted into its symbolic form, equals an
independent brute-force count of window positions (tests/shapes/_brute.py), N-d (ndim 1..4)."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import convalg
from convalg import (
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    AvgPool,
    Conv,
    ConvTranspose,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    SpecError,
)
from convalg.shapes import formulas

from ._brute import adaptive_windows, conv_positions, pool_positions, transpose_extent

SYMBOLS = sp.symbols("H0:4", integer=True, positive=True)


def check_layer(layer: convalg.Layer, sizes: tuple[int, ...], expected: tuple[int, ...]) -> None:
    """``layer`` at ``sizes`` gives ``expected`` (or SpecError when a count is < 1), both from ints and
    from the symbolic shape with the ints substituted."""
    syms = SYMBOLS[: len(sizes)]
    symbolic = layer.output_shape(syms)
    substituted = tuple(sp.sympify(e).subs(dict(zip(syms, sizes))) for e in symbolic)
    if min(expected) < 1:
        with pytest.raises(SpecError):
            layer.output_shape(sizes)
        return
    got = layer.output_shape(sizes)
    assert got == expected
    assert all(type(v) is int for v in got)
    assert tuple(int(v) for v in substituted) == expected
    assert all(v.is_Integer for v in substituted)


@st.composite
def conv_case(draw: st.DrawFn, transposed: bool = False):
    ndim = draw(st.integers(1, 4))
    k = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    sizes = tuple(draw(st.integers(1, 24)) for _ in range(ndim))
    style = draw(st.sampled_from(["int", "tuple", "pairs", "valid", "same"] if not transposed
                                 else ["int", "tuple", "pairs", "valid"]))
    if style == "same":
        s = (1,) * ndim
    lowest = -3 if not transposed else 0
    pairs = tuple((draw(st.integers(lowest, 4)), draw(st.integers(lowest, 4))) for _ in range(ndim))
    padding = {"int": pairs[0][1] if pairs[0][1] >= 0 else 0, "tuple": tuple(abs(p[0]) for p in pairs),
               "pairs": pairs, "valid": "valid", "same": "same"}[style]
    mode = "zeros"
    if not transposed and style != "pairs":
        mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    op = (0,) * ndim
    if transposed:
        op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    return ndim, k, s, d, padding, mode, op, sizes


def _explicit_pairs(padding, k, d, ndim):
    """The (lo, hi) pairs a padding argument means, written from its definition."""
    if padding == "valid":
        return ((0, 0),) * ndim
    if padding == "same":  # total d*(k-1) so that out == n at stride 1; the odd extra goes at the end
        return tuple((di * (ki - 1) // 2, di * (ki - 1) - di * (ki - 1) // 2) for ki, di in zip(k, d))
    if isinstance(padding, int):
        return ((padding, padding),) * ndim
    return tuple(p if isinstance(p, tuple) else (p, p) for p in padding)


@given(conv_case())
def test_conv_output_size_is_the_number_of_window_positions(case) -> None:
    ndim, k, s, d, padding, mode, _, sizes = case
    layer = Conv(k, stride=s, padding=padding, dilation=d, padding_mode=mode)
    assert layer.ndim == ndim
    pairs = _explicit_pairs(padding, k, d, ndim)
    assert layer.padding == pairs
    expected = tuple(conv_positions(n, *a) for n, a in zip(sizes, zip(k, s, d, *zip(*pairs))))
    too_big = any(
        (mode == "reflect" and max(p) >= n) or (mode == "circular" and max(p) > n) for n, p in zip(sizes, pairs)
    )
    if too_big and min(expected) >= 1:
        with pytest.raises(SpecError, match="padding"):
            layer.output_shape(sizes)
        return
    check_layer(layer, sizes, expected)
    if padding == "same":
        assert layer.output_shape(sizes) == sizes


@given(conv_case(transposed=True))
def test_conv_transpose_output_size_is_the_scatter_extent(case) -> None:
    ndim, k, s, d, padding, _, op, sizes = case
    layer = ConvTranspose(k, stride=s, padding=padding, dilation=d, output_padding=op)
    pairs = _explicit_pairs(padding, k, d, ndim)
    expected = tuple(transpose_extent(n, *a) for n, a in zip(sizes, zip(k, s, d, *zip(*pairs), op)))
    check_layer(layer, sizes, expected)


@st.composite
def pool_case(draw: st.DrawFn, dilated: bool = True):
    ndim = draw(st.integers(1, 4))
    k = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    s = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 4)] * ndim)))
    d = tuple(draw(st.integers(1, 3)) if dilated else 1 for _ in range(ndim))
    pads = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    sizes = tuple(draw(st.integers(1, 24)) for _ in range(ndim))
    return ndim, k, s, d, pads, draw(st.booleans()), sizes


@given(pool_case())
def test_max_pool_output_size_is_the_number_of_windows(case) -> None:
    ndim, k, s, d, pads, ceil_mode, sizes = case
    layer = MaxPool(k, stride=s, padding=pads, dilation=d, ceil_mode=ceil_mode)
    stride = k if s is None else s  # stride defaults to the kernel size
    assert layer.stride == stride
    expected = tuple(pool_positions(n, ki, si, di, p, p, ceil_mode)
                     for n, ki, si, di, p in zip(sizes, k, stride, d, pads))
    check_layer(layer, sizes, expected)


@given(pool_case(dilated=False), st.booleans())
def test_avg_pool_output_size_is_the_number_of_windows(case, include_pad) -> None:
    ndim, k, s, _, pads, ceil_mode, sizes = case
    layer = AvgPool(k, stride=s, padding=pads, ceil_mode=ceil_mode, count_include_pad=include_pad)
    stride = k if s is None else s
    expected = tuple(pool_positions(n, ki, si, 1, p, p, ceil_mode) for n, ki, si, p in zip(sizes, k, stride, pads))
    check_layer(layer, sizes, expected)


@st.composite
def asymmetric_pool_case(draw: st.DrawFn):
    k = draw(st.integers(1, 12))
    return k, draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 40)), \
        draw(st.integers(0, k // 2)), draw(st.integers(0, k // 2))


@given(asymmetric_pool_case())
def test_pool_asymmetric_pads_follow_the_last_window_rule(case) -> None:
    k, s, d, n, lo, hi = case
    for ceil_mode in (False, True):
        expected = pool_positions(n, k, s, d, lo, hi, ceil_mode)
        layer = MaxPool(k, stride=s, padding=((lo, hi),), dilation=d, ceil_mode=ceil_mode)
        if expected < 1:  # no window fits: the layer refuses the size
            with pytest.raises(SpecError):
                layer.output_shape((n,))
            continue
        assert formulas.pool_output_size(n, k, s, d, lo, hi, ceil_mode) == expected
        check_layer(layer, (n,), (expected,))


def test_ceil_mode_drops_a_window_that_would_start_in_the_right_padding() -> None:
    # pytorch#57178: n=32, k=1, s=2, ceil_mode -> 16 (the doc formula says 17)
    assert MaxPool(1, stride=2, ceil_mode=True).output_shape((32,)) == (16,)
    assert pool_positions(32, 1, 2, 1, 0, 0, True) == 16
    # n=5, k=2, s=2, p=1: the 4th window would start at 5 = n (right padding) -> 3, not 4
    assert AvgPool(2, stride=2, padding=1, ceil_mode=True).output_shape((5,)) == (3,)
    assert AvgPool(2, stride=2, padding=1, ceil_mode=False).output_shape((5,)) == (3,)
    assert AvgPool(2, stride=2, padding=1, ceil_mode=True).output_shape((6,)) == (4,)


@st.composite
def adaptive_case(draw: st.DrawFn):
    ndim = draw(st.integers(1, 4))
    sizes = tuple(draw(st.integers(1, 30)) for _ in range(ndim))
    outs = tuple(draw(st.one_of(st.none(), st.integers(1, 12))) for _ in range(ndim))
    return sizes, outs


@given(adaptive_case(), st.sampled_from([AdaptiveAvgPool, AdaptiveMaxPool]))
def test_adaptive_pool_size_and_windows(case, cls) -> None:
    sizes, outs = case
    layer = cls(outs)
    expected = tuple(n if o is None else o for n, o in zip(sizes, outs))
    check_layer(layer, sizes, expected)
    for n, o in zip(sizes, expected):
        windows = adaptive_windows(n, o)
        assert [formulas.adaptive_window(i, n, o) for i in range(o)] == windows
        # the windows are non-empty, in order and cover [0, n)
        assert windows[0][0] == 0 and windows[-1][1] == n
        assert all(a < b for a, b in windows)
        assert set().union(*(range(a, b) for a, b in windows)) == set(range(n))
        if n % o == 0:  # divisible: an ordinary pool with kernel = stride = n/o
            assert windows == [(i * (n // o), (i + 1) * (n // o)) for i in range(o)]


@given(st.lists(st.integers(1, 30), min_size=1, max_size=4), st.sampled_from([GlobalAvgPool, GlobalMaxPool]))
def test_global_pool_is_one_window_per_axis(sizes, cls) -> None:
    check_layer(cls(), tuple(sizes), (1,) * len(sizes))
    check_layer(cls(ndim=len(sizes)), tuple(sizes), (1,) * len(sizes))
    # the single window is adaptive window 0 of size n: the whole axis
    assert all(adaptive_windows(n, 1) == [(0, n)] for n in sizes)


@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.integers(-2, 4), st.integers(-2, 4),
       st.integers(1, 40))
def test_formula_functions_match_brute_force(k, s, d, lo, hi, n) -> None:
    expected = conv_positions(n, k, s, d, lo, hi)
    assert formulas.conv_output_size(n, k, s, d, lo, hi) == expected or expected == 0
    taps = [d * j for j in range(k)]
    assert formulas.effective_kernel(k, d) == max(taps) - min(taps) + 1
    if lo >= 0 and hi >= 0:
        assert formulas.conv_transpose_output_size(n, k, s, d, lo, hi, 0) == transpose_extent(n, k, s, d, lo, hi, 0)


def test_non_integer_sizes_are_rejected_but_symbol_expressions_work() -> None:
    H = sp.Symbol("H", integer=True, positive=True)
    assert Conv(3, stride=2).output_shape((2 * H + 3,)) == (H + 1,)
    for bad in (sp.Rational(1, 2), sp.Symbol("x", integer=False), 0, -3, 2.0, True, sp.nan, sp.oo):
        with pytest.raises(SpecError):
            Conv(1).output_shape((bad,))
