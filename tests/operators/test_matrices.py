"""Operator matrices with random numbers for the weights equal independent brute-force loops
(tests/operators/_brute.py, written from PyTorch's formulas), N-d, every parameter."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convalg import AdaptiveAvgPool, AvgPool, Conv, GlobalAvgPool
from convalg.operators import affine, matrix, weight_symbols

from . import _brute
from .small_cases import conv_cases, conv_transpose_cases, dense


def _numeric(layer, spatial, rng):
    w = rng.standard_normal(weight_symbols(layer).shape)
    A = dense(matrix(layer, spatial, weights=w))
    x = rng.standard_normal((2, layer.in_channels, *spatial))
    return w, A, x


@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_conv_matrix_equals_brute_force(case, seed):
    layer, spatial = case
    rng = np.random.default_rng(seed)
    w, A, x = _numeric(layer, spatial, rng)
    want = _brute.conv(x, w, layer.stride, [tuple(p) for p in layer.padding], layer.dilation, layer.groups,
                       layer.padding_mode, layer.flip_kernel)
    assert A.shape == (want[0].size, x[0].size)
    got = np.stack([A @ xb.reshape(-1) for xb in x])
    np.testing.assert_allclose(got, want.reshape(2, -1), rtol=1e-12, atol=1e-12)


@given(conv_transpose_cases(), st.integers(0, 2**32 - 1))
def test_conv_transpose_matrix_equals_brute_force(case, seed):
    layer, spatial = case
    rng = np.random.default_rng(seed)
    w, A, x = _numeric(layer, spatial, rng)
    want = _brute.conv_transpose(x, w, layer.stride, [tuple(p) for p in layer.padding], layer.dilation,
                                 layer.output_padding, layer.groups, layer.flip_kernel)
    got = np.stack([A @ xb.reshape(-1) for xb in x])
    np.testing.assert_allclose(got, want.reshape(2, -1), rtol=1e-12, atol=1e-12)


def test_symbolic_matrix_substituted_equals_numeric_build():
    layer = Conv((2, 3), stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2,
                 in_channels=2, out_channels=4, padding_mode="zeros")
    rng = np.random.default_rng(0)
    w = rng.integers(-9, 9, weight_symbols(layer).shape)
    sym = matrix(layer, (4, 5))
    subs = dict(zip(weight_symbols(layer).flat, (sp.Integer(int(v)) for v in w.flat)))
    assert sym.xreplace(subs) == matrix(layer, (4, 5), weights=w)


@st.composite
def avg_cases(draw):
    ndim = draw(st.integers(1, 3))
    ks = [draw(st.integers(1, 3)) for _ in range(ndim)]
    ss = [draw(st.integers(1, 3)) for _ in range(ndim)]
    pads = [(draw(st.integers(0, k // 2)), draw(st.integers(0, k // 2))) for k in ks]
    spatial = [draw(st.integers(max(1, k - lo - hi), 5 if ndim < 3 else 3)) for k, (lo, hi) in zip(ks, pads)]
    layer = AvgPool(tuple(ks), stride=tuple(ss), padding=tuple(pads), ceil_mode=draw(st.booleans()),
                    count_include_pad=draw(st.booleans()),
                    divisor_override=draw(st.one_of(st.none(), st.integers(1, 5))), ndim=ndim)
    return layer, tuple(spatial), draw(st.integers(1, 2))


@given(avg_cases(), st.integers(0, 2**32 - 1))
def test_avg_pool_matrix_equals_brute_force(case, seed):
    layer, spatial, channels = case
    A = matrix(layer, spatial, in_channels=channels)
    assert all(isinstance(v, sp.Rational) for v in A.todok().values())
    x = np.random.default_rng(seed).standard_normal((1, channels, *spatial))
    want = _brute.avg_pool(x, layer.kernel_size, layer.stride, [tuple(p) for p in layer.padding], layer.ceil_mode,
                           layer.count_include_pad, layer.divisor_override)
    np.testing.assert_allclose(dense(A) @ x.reshape(-1), want.reshape(-1), rtol=1e-12, atol=1e-12)


@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 4)), min_size=1, max_size=3), st.integers(0, 2**32 - 1))
def test_adaptive_avg_pool_matrix_equals_brute_force(sizes, seed):
    spatial = tuple(n for n, _ in sizes)
    out = tuple(m for _, m in sizes)
    A = matrix(AdaptiveAvgPool(out), spatial, in_channels=2)
    x = np.random.default_rng(seed).standard_normal((1, 2, *spatial))
    np.testing.assert_allclose(dense(A) @ x.reshape(-1), _brute.adaptive_avg_pool(x, out).reshape(-1), rtol=1e-12)


def test_global_avg_pool_is_the_mean():
    A = matrix(GlobalAvgPool(), (3, 4))
    assert A == sp.SparseMatrix(1, 12, {(0, j): sp.Rational(1, 12) for j in range(12)})


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@settings(max_examples=15)
@given(m=st.integers(1, 5), n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_1d_toeplitz_equals_scipy_convolution_matrix(mode, m, n, seed):
    """True convolution (flip_kernel) with the pads of np.convolve's full / valid / same output."""
    assume(mode != "valid" or n >= m)  # a layer's output needs n >= m; scipy would swap the roles
    a = np.random.default_rng(seed).integers(-9, 10, m)
    if mode == "full":
        lo = hi = m - 1
    elif mode == "valid":
        lo = hi = 0
    else:  # 'same': length max(m, n), starting at (min(m, n) - 1) // 2 of the full output
        start = (min(m, n) - 1) // 2
        lo = m - 1 - start
        hi = max(m, n) - n - lo + m - 1
    layer = Conv(m, padding=((lo, hi),), in_channels=1, out_channels=1, flip_kernel=True, ndim=1)
    A = matrix(layer, (n,), weights=a.reshape(1, 1, m))
    want = scipy.linalg.convolution_matrix(a, n, mode)
    assert dense(A).shape == want.shape
    np.testing.assert_array_equal(dense(A), want)


def test_affine_bias_and_weights():
    layer = Conv(2, in_channels=1, out_channels=2, ndim=1)
    A, b = affine(layer, (3,), weights=np.ones((2, 1, 2)), bias=[5, 7])
    assert b.T.tolist() == [[5, 5, 7, 7]]
    assert dense(A).tolist() == [[1, 1, 0], [0, 1, 1], [1, 1, 0], [0, 1, 1]]
    _, b0 = affine(layer.replace(bias=False), (3,))
    assert b0 == sp.zeros(4, 1)


@pytest.mark.parametrize("n", [7, 8])
def test_size_dependent_tf_same_padding(n):
    """Pads that are expressions in the input size (TF 'SAME', stride 2) are evaluated at the concrete size."""
    from convalg.spec.conventions import explicit_padding

    pads = explicit_padding("SAME", 3, stride=2)
    layer = Conv(3, stride=2, padding=pads, in_channels=1, out_channels=1, ndim=1)
    lo, hi = layer.axis_specs((n,))[0][3:5]
    assert (lo, hi) == {7: (1, 1), 8: (0, 1)}[n]  # TF: total = max((ceil(n/2) - 1)*2 + 3 - n, 0), extra at the end
    rng = np.random.default_rng(n)
    w = rng.standard_normal((1, 1, 3))
    x = rng.standard_normal((1, 1, n))
    want = _brute.conv(x, w, (2,), [(lo, hi)], (1,), 1, "zeros", False)
    np.testing.assert_allclose(dense(matrix(layer, (n,), weights=w)) @ x.reshape(-1), want.reshape(-1), atol=1e-12)
