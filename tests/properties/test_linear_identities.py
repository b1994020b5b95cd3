"""Algebraic identities of the convolution references (float64; exact on small-integer data).

Small-integer inputs make every direct-reference sum exact in float64, so most
identities are checked with ``==``; FFT results are checked under the error
model (``algorithm='fft'``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convalg.reference as ref
from convalg import Conv
from convalg.reference.fft import zero_stuff
from convalg.testing import strategies as S
from convalg.testing.tolerance import assert_within_bound, error_bound

D = ref.direct
INT = ("small_int",)


def _arrays(recipes):
    return {k: r.build().astype(np.float64) for k, r in recipes.items()}


def _flip(a, nd):
    return a[(Ellipsis, *[slice(None, None, -1)] * nd)]


def _vdot(a, b):
    return float(np.vdot(a.astype(np.float64), b.astype(np.float64)))


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular"), flip_kernel=True),
                     "float64"))
def test_fft_reference_equals_direct_reference(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs() | {"flip_kernel": case.layer.flip_kernel}
    args = (a["x"], a["weight"], a.get("bias"))
    bound = error_bound("conv", *args, dtype="float64", c=4.0, algorithm="fft", **kw)
    assert_within_bound(ref.conv(*args, **kw), D.conv(*args, **kw), bound)


@settings(max_examples=30)
@given(S.case_arrays(S.conv_transpose_cases(), "float64"))
def test_fft_conv_transpose_equals_direct(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    args, kw = (a["x"], a["weight"], a.get("bias")), case.kwargs()
    bound = error_bound("conv_transpose", *args, dtype="float64", c=4.0, algorithm="fft", **kw)
    assert_within_bound(ref.conv_transpose(*args, **kw), D.conv_transpose(*args, **kw), bound)


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(bias=False), "float64", kinds=INT), st.integers(0, 2**31))
def test_adjointness_of_conv_and_its_gradients(drawn, seed):
    """<A x, y> = <x, A^T y> with A^T = conv_grad_input; <A(w) x, y> = <w, conv_grad_weight(x, y)>."""
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    y = S.make_array(case.output_shape, "float64", "small_int", seed)
    lhs = _vdot(D.conv(a["x"], a["weight"], **kw), y)
    assert lhs == _vdot(a["x"], D.conv_grad_input(y, a["weight"], a["x"].shape, **kw))
    assert lhs == _vdot(a["weight"], D.conv_grad_weight(a["x"], y, a["weight"].shape, **kw))
    assert _vdot(np.ones(case.layer.out_channels), ref.conv_grad_bias(y)) == float(y.sum())
    # the FFT versions, under the error model
    gi = ref.conv_grad_input(y, a["weight"], a["x"].shape, **kw)
    bound = error_bound("conv_grad_input", y, a["weight"], a["x"].shape, dtype="float64", algorithm="fft", **kw)
    assert_within_bound(gi, D.conv_grad_input(y, a["weight"], a["x"].shape, **kw), bound)
    gw = ref.conv_grad_weight(a["x"], y, a["weight"].shape, **kw)
    bound = error_bound("conv_grad_weight", a["x"], y, a["weight"].shape, dtype="float64", algorithm="fft", **kw)
    assert_within_bound(gw, D.conv_grad_weight(a["x"], y, a["weight"].shape, **kw), bound)


@settings(max_examples=40)
@given(S.case_arrays(S.conv_transpose_cases(bias=False), "float64", kinds=INT), st.integers(0, 2**31))
def test_conv_transpose_is_the_adjoint_of_conv(drawn, seed):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    y = S.make_array(case.output_shape, "float64", "small_int", seed)
    lhs = _vdot(D.conv_transpose(a["x"], a["weight"], **kw), y)
    conv_kw = {k: kw[k] for k in ("stride", "padding", "dilation", "groups")}
    assert lhs == _vdot(a["x"], D.conv(y, a["weight"], **conv_kw)[(Ellipsis, *[slice(0, n) for n in case.spatial])])


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular")), "float64",
                     kinds=INT), st.integers(0, 2**31), st.integers(-3, 3), st.integers(-3, 3))
def test_linearity_in_x_and_in_w(drawn, seed, alpha, beta):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    x2 = S.make_array(a["x"].shape, "float64", "small_int", seed)
    w2 = S.make_array(a["weight"].shape, "float64", "small_int", seed + 1)
    x, w = a["x"], a["weight"]
    assert np.array_equal(D.conv(alpha * x + beta * x2, w, **kw), alpha * D.conv(x, w, **kw) + beta * D.conv(x2, w, **kw))
    assert np.array_equal(D.conv(x, alpha * w + beta * w2, **kw), alpha * D.conv(x, w, **kw) + beta * D.conv(x, w2, **kw))


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular")), "float64",
                     kinds=INT))
def test_cross_correlation_is_convolution_with_the_flipped_kernel(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    flipped = D.conv(a["x"], _flip(a["weight"], case.ndim), a.get("bias"), flip_kernel=True, **kw)
    assert np.array_equal(D.conv(a["x"], a["weight"], a.get("bias"), **kw), flipped)


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(max_kernel=1, groups=False, padding_modes=("zeros",), same_padding=False,
                                  asymmetric_padding=False), "float64", kinds=INT))
def test_1x1_conv_is_a_matmul_over_channels(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    layer = case.layer.replace(padding=0)
    x, w = a["x"], a["weight"]
    sub = x[(Ellipsis, *[slice(None, None, s) for s in layer.stride])]
    want = np.einsum("oi,ni...->no...", w.reshape(w.shape[:2]), sub)
    got = D.conv(x, w, stride=layer.stride)
    assert np.array_equal(got, want)
    assert_within_bound(ref.conv(x, w, stride=layer.stride), want,
                        error_bound("conv", x, w, stride=layer.stride, dtype="float64", algorithm="fft"))


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "circular")), "float64", kinds=INT))
def test_dilated_conv_is_conv_with_zero_stuffed_kernel(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    stuffed = zero_stuff(a["weight"], case.layer.dilation, range(2, 2 + case.ndim))
    undilated = {**kw, "dilation": 1, "padding": case.layer.padding}
    assert np.array_equal(D.conv(a["x"], a["weight"], **kw), D.conv(a["x"], stuffed, **undilated))


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular"), same_padding=False),
                     "float64", kinds=INT))
def test_strided_conv_is_subsampled_stride_1_conv(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    dense = D.conv(a["x"], a["weight"], **{**kw, "stride": 1})
    want = dense[(Ellipsis, *[slice(None, None, s) for s in case.layer.stride])]
    assert np.array_equal(D.conv(a["x"], a["weight"], **kw), want)


@settings(max_examples=40)
@given(S.case_arrays(S.conv_transpose_cases(), "float64", kinds=INT))
def test_transposed_conv_is_conv_of_zero_stuffed_input_with_flipped_kernel(drawn):
    """``conv_transpose(x) = conv(stuff_s(x), flip(w)^T, pads (d(k-1) - lo, d(k-1) - hi + op), dilation d)``."""
    case, recipes = drawn
    a = _arrays(recipes)
    L, nd = case.layer, case.ndim
    G, cin, cout = L.groups, L.in_channels, L.out_channels
    w = a["weight"]
    w_conv = w.reshape(G, cin // G, cout // G, *w.shape[2:]).swapaxes(1, 2).reshape(cout, cin // G, *w.shape[2:])
    pads = tuple((d * (k - 1) - lo, d * (k - 1) - hi + op)
                 for d, k, (lo, hi), op in zip(L.dilation, L.kernel_size, L.padding, L.output_padding))
    want = D.conv(zero_stuff(a["x"], L.stride, range(2, 2 + nd)), _flip(w_conv, nd), a.get("bias"), padding=pads,
                  dilation=L.dilation, groups=G)
    assert np.array_equal(D.conv_transpose(a["x"], w, a.get("bias"), **case.kwargs()), want)


@settings(max_examples=30)
@given(S.case_arrays(S.conv_cases(stride=False, dilation=False, groups=False, padding_modes=("circular",),
                                  same_padding=False, max_ndim=2, flip_kernel=False, bias=False), "float64"))
def test_convolution_theorem_for_circular_convolution(drawn):
    """True circular convolution (flip_kernel, pads (k-1, 0)) is the pointwise product of DFTs."""
    case, recipes = drawn
    a = _arrays(recipes)
    x, w = a["x"], a["weight"]
    nd, spatial = case.ndim, case.spatial
    assume(all(k <= n for k, n in zip(case.layer.kernel_size, spatial)))  # else the kernel aliases mod n
    pads = tuple((k - 1, 0) for k in case.layer.kernel_size)
    got = D.conv(x, w, padding=pads, padding_mode="circular", flip_kernel=True)
    axes = tuple(range(2, 2 + nd))
    fx = np.fft.fftn(x, axes=axes)
    fw = np.fft.fftn(w, s=spatial, axes=axes)
    want = np.fft.ifftn(np.einsum("ni...,oi...->no...", fx, fw), axes=axes).real
    bound = error_bound("conv", x, w, padding=pads, padding_mode="circular", dtype="float64", algorithm="fft")
    assert_within_bound(got, want, bound)


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "circular"), stride=False, same_padding=False,
                                  bias=False), "float64", kinds=INT), st.integers(0, 3), st.integers(0, 2))
def test_translation_equivariance(drawn, shift, axis_pick):
    """Circular: exact on the whole output; zeros: on outputs whose windows avoid the shifted-in zeros."""
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    ax = 2 + axis_pick % case.ndim
    y = D.conv(a["x"], a["weight"], **kw)
    L = case.layer
    assume(min(n - d * (k - 1) for n, d, k in zip(case.spatial, L.dilation, L.kernel_size)) >= 1)
    if case.padding_mode == "circular" and sum(L.padding[ax - 2]) == L.dilation[ax - 2] * (L.kernel_size[ax - 2] - 1):
        assert np.array_equal(D.conv(np.roll(a["x"], shift, ax), a["weight"], **kw), np.roll(y, shift, ax))
    xs = np.zeros_like(a["x"])
    n = a["x"].shape[ax]
    dst = [slice(None)] * xs.ndim
    src = [slice(None)] * xs.ndim
    dst[ax], src[ax] = slice(min(shift, n), None), slice(0, max(n - shift, 0))
    xs[tuple(dst)] = a["x"][tuple(src)]
    ys = D.conv(xs, a["weight"], **{**kw, "padding": 0, "padding_mode": "zeros"})
    y0 = D.conv(a["x"], a["weight"], **{**kw, "padding": 0, "padding_mode": "zeros"})
    keep = [slice(None)] * y0.ndim
    keep_src = [slice(None)] * y0.ndim
    keep[ax], keep_src[ax] = slice(shift, None), slice(0, max(y0.shape[ax] - shift, 0))
    assert np.array_equal(ys[tuple(keep)], y0[tuple(keep_src)])


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros",), bias=False, same_padding=False,
                                  asymmetric_padding=False), "float64", kinds=INT), st.integers(0, 2))
def test_stride_s_shift_in_input_is_a_shift_by_1_in_output(drawn, axis_pick):
    case, recipes = drawn
    a = _arrays(recipes)
    ax = 2 + axis_pick % case.ndim
    s = case.layer.stride[ax - 2]
    kw = {**case.kwargs(), "padding": 0}
    x = a["x"]
    L = case.layer
    assume(x.shape[ax] > s)
    assume(min(n - d * (k - 1) for n, d, k in zip(case.spatial, L.dilation, L.kernel_size)) >= 1)
    xs = np.zeros_like(x)
    dst, src = [slice(None)] * x.ndim, [slice(None)] * x.ndim
    dst[ax], src[ax] = slice(s, None), slice(0, x.shape[ax] - s)
    xs[tuple(dst)] = x[tuple(src)]
    y, ys = D.conv(x, a["weight"], **kw), D.conv(xs, a["weight"], **kw)
    keep, keep_src = [slice(None)] * y.ndim, [slice(None)] * y.ndim
    keep[ax], keep_src[ax] = slice(1, None), slice(0, y.shape[ax] - 1)
    assert np.array_equal(ys[tuple(keep)], y[tuple(keep_src)])


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(bias=False), "float64", kinds=INT), st.integers(0, 2**31))
def test_exact_finite_differences_with_step_1(drawn, seed):
    """Conv is bilinear: ``<g, conv(x + e_i, w) - conv(x, w)> = grad_input[i]`` exactly (same for w)."""
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    x, w = a["x"], a["weight"]
    g = S.make_array(case.output_shape, "float64", "small_int", seed)
    rng = np.random.default_rng(seed)
    gi = D.conv_grad_input(g, w, x.shape, **kw)
    gw = D.conv_grad_weight(x, g, w.shape, **kw)
    base = D.conv(x, w, **kw)
    for _ in range(3):
        i = tuple(int(rng.integers(0, n)) for n in x.shape)
        xe = x.copy()
        xe[i] += 1.0
        assert _vdot(g, D.conv(xe, w, **kw) - base) == gi[i]
        j = tuple(int(rng.integers(0, n)) for n in w.shape)
        we = w.copy()
        we[j] += 1.0
        assert _vdot(g, D.conv(x, we, **kw) - base) == gw[j]


def test_conv_layer_spec_errors_come_from_convalg():
    import pytest

    from convalg import SpecError

    x, w = np.ones((1, 4, 5)), np.ones((6, 2, 3))
    with pytest.raises(SpecError, match="groups"):
        ref.conv(x, w, groups=3)
    with pytest.raises(SpecError, match="stride"):
        D.conv(x, w, groups=2, stride=0)
    with pytest.raises(SpecError, match="same"):
        ref.conv(x, w, groups=2, padding="same", stride=2)
    with pytest.raises(SpecError, match="dim 1"):
        ref.conv(x, np.ones((6, 3, 3)), groups=2)
    with pytest.raises(SpecError, match="output padding|output_padding"):
        ref.conv_transpose(x, np.ones((4, 1, 3)), stride=2, output_padding=2)
    assert Conv(3, ndim=1).output_shape((5,)) == D.conv(np.ones((1, 1, 5)), np.ones((1, 1, 3))).shape[2:]
