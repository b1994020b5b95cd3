"""FFT oracle = direct reference = operator matrix (convalg.operators) at small sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import convalg.reference as ref
from convalg.testing import strategies as S
from convalg.testing.tolerance import assert_within_bound, error_bound

operators = pytest.importorskip("convalg.operators")
D = ref.direct
SMALL = dict(max_ndim=2, max_channels=2, max_side=5, max_batch=1)


def _dense(M) -> np.ndarray:
    return np.array(M.tolist(), dtype=np.float64)


def _arrays(recipes):
    return {k: r.build().astype(np.float64) for k, r in recipes.items()}


@settings(max_examples=25)
@given(S.case_arrays(S.conv_cases(**SMALL, padding_modes=("zeros", "reflect", "replicate", "circular"), bias=False,
                                  flip_kernel=True), "float64", kinds=("small_int",)))
def test_conv_matrix_equals_direct_and_fft(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs() | {"flip_kernel": case.layer.flip_kernel}
    A = _dense(operators.matrix(case.layer, case.spatial, in_channels=case.channels, weights=a["weight"]))
    x = a["x"]
    from_matrix = (A @ x[0].reshape(-1)).reshape(case.output_shape[1:])
    direct = D.conv(x, a["weight"], **kw)[0]
    assert np.array_equal(from_matrix, direct)
    bound = error_bound("conv", x, a["weight"], dtype="float64", algorithm="fft", **kw)[0]
    assert_within_bound(ref.conv(x, a["weight"], **kw)[0], from_matrix, bound)
    if case.padding_mode == "zeros":
        g = S.make_array(case.output_shape, "float64", "small_int", 7)
        at_g = (A.T @ g[0].reshape(-1)).reshape(x.shape[1:])
        w = a["weight"][(Ellipsis, *[slice(None, None, -1)] * case.ndim)] if case.layer.flip_kernel else a["weight"]
        assert np.array_equal(at_g, D.conv_grad_input(g, w, x.shape, **case.kwargs())[0])


@settings(max_examples=25)
@given(S.case_arrays(S.conv_transpose_cases(**SMALL, bias=False), "float64", kinds=("small_int",)))
def test_conv_transpose_matrix_equals_direct_and_fft(drawn):
    case, recipes = drawn
    a = _arrays(recipes)
    kw = case.kwargs()
    A = _dense(operators.matrix(case.layer, case.spatial, in_channels=case.channels, weights=a["weight"]))
    from_matrix = (A @ a["x"][0].reshape(-1)).reshape(case.output_shape[1:])
    assert np.array_equal(from_matrix, D.conv_transpose(a["x"], a["weight"], **kw)[0])
    bound = error_bound("conv_transpose", a["x"], a["weight"], dtype="float64", algorithm="fft", **kw)[0]
    assert_within_bound(ref.conv_transpose(a["x"], a["weight"], **kw)[0], from_matrix, bound)


@settings(max_examples=25)
@given(S.case_arrays(S.pool_cases("avg", max_ndim=2, max_channels=1, max_batch=1, max_side=6), "float64"))
def test_avg_pool_matrix_equals_direct(drawn):
    case, recipes = drawn
    x = recipes["x"].build()
    kw = case.kwargs()
    A = _dense(operators.matrix(case.layer, case.spatial))
    got = (A @ x[0, 0].reshape(-1)).reshape(case.output_shape[2:])
    want = D.avg_pool(x, **kw)[0, 0]
    assert_within_bound(want, got, error_bound("avg_pool", x, dtype="float64", **kw)[0, 0])
    g = S.make_array(case.output_shape, "float64", "normal", 3)
    at_g = (A.T @ g[0, 0].reshape(-1)).reshape(case.spatial)
    np.testing.assert_allclose(D.avg_pool_grad(g, x.shape, **kw)[0, 0], at_g, rtol=1e-13, atol=1e-13)


@settings(max_examples=40)
@given(S.case_arrays(S.pool_cases("max", max_ndim=2, max_side=6), "float64", kinds=("ties", "small_int"),
                     allow_nan=True))
def test_max_pool_gradient_is_the_mask_transpose(drawn):
    """``max_pool_grad(g, indices) = M^T g`` with the selection mask of convalg.operators (first max on ties)."""
    case, recipes = drawn
    x = recipes["x"].build()
    kw = {**case.kwargs(), "return_indices": True}
    y, idx = D.max_pool(x, **kw)
    sel = operators.max_pool_mask(case.layer, x, batched=True)
    np.testing.assert_array_equal(idx, sel.indices.reshape(idx.shape))
    np.testing.assert_array_equal(y, sel.output.reshape(y.shape))
    g = S.make_array(y.shape, "float64", "small_int", 5)
    assert np.array_equal(D.max_pool_grad(g, idx, x.shape), sel.grad(g))
