"""Pooling identities: avg-pool = conv with a constant kernel; max-pool ties go to the first maximum."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import convalg.reference as ref
from convalg.testing import strategies as S
from convalg.testing.tolerance import assert_within_bound, error_bound

D = ref.direct


@settings(max_examples=40)
@given(S.case_arrays(S.pool_cases("avg", ceil_mode=False, count_include_pad=False, divisor_override=False),
                     "float64"))
def test_avg_pool_is_conv_with_a_constant_kernel(drawn):
    """Floor mode, count_include_pad: every divisor is prod(k), so avg_pool = conv with ones / prod(k)."""
    case, recipes = drawn
    x = recipes["x"].build()
    L = case.layer
    n, c = x.shape[:2]
    kernel = np.full((1, 1, *L.kernel_size), 1.0 / np.prod(L.kernel_size))
    planes = x.reshape(n * c, 1, *case.spatial)
    want = D.conv(planes, kernel, stride=L.stride, padding=L.padding).reshape(case.output_shape)
    got = D.avg_pool(x, **case.kwargs())
    assert_within_bound(got, want, error_bound("avg_pool", x, dtype="float64", c=4.0, **case.kwargs()))


def _first_max_brute(x_plane: np.ndarray, layer, spatial):
    """Scan each window in row-major tap order; keep the first maximum (NaN: the last NaN)."""
    out_shape = layer.output_shape(spatial)
    values, indices = np.empty(out_shape), np.empty(out_shape, dtype=np.int64)
    for o in itertools.product(*[range(m) for m in out_shape]):
        best, best_i = -np.inf, None
        for k in itertools.product(*[range(kk) for kk in layer.kernel_size]):
            pos = tuple(s * oo - lo + d * kk for s, oo, (lo, _), d, kk in
                        zip(layer.stride, o, layer.padding, layer.dilation, k))
            if not all(0 <= p < n for p, n in zip(pos, spatial)):
                continue
            v = x_plane[pos]
            if best_i is None:
                best_i = pos
            if v > best or np.isnan(v):
                best, best_i = v, pos
        values[o], indices[o] = best, np.ravel_multi_index(best_i, spatial)
    return values, indices


@settings(max_examples=40)
@given(S.case_arrays(S.pool_cases("max", max_channels=1, max_batch=1), "float64", kinds=("ties",),
                     allow_nan=True))
def test_max_pool_ties_go_to_the_first_maximum(drawn):
    case, recipes = drawn
    x = recipes["x"].build()
    y, idx = D.max_pool(x, **{**case.kwargs(), "return_indices": True})
    want_y, want_idx = _first_max_brute(x[0, 0], case.layer, case.spatial)
    np.testing.assert_array_equal(y[0, 0], want_y)
    np.testing.assert_array_equal(idx[0, 0], want_idx)


@settings(max_examples=40)
@given(S.case_arrays(S.pool_cases("avg"), "float64", kinds=("small_int",)), st.integers(0, 2**31))
def test_avg_pool_grad_is_the_adjoint(drawn, seed):
    case, recipes = drawn
    x = recipes["x"].build()
    kw = case.kwargs()
    g = S.make_array(case.output_shape, "float64", "small_int", seed)
    lhs = float(np.vdot(D.avg_pool(x, **kw), g))
    rhs = float(np.vdot(x, D.avg_pool_grad(g, x.shape, **kw)))
    assert abs(lhs - rhs) <= 1e-12 * (1 + float(np.vdot(np.abs(x), D.avg_pool_grad(np.abs(g), x.shape, **kw))))


@settings(max_examples=30)
@given(S.array_recipes((1, 2, 6, 5), "float64", kinds=("ties", "normal")), st.integers(1, 6), st.integers(1, 5))
def test_adaptive_pools_with_divisible_sizes_are_plain_pools(recipe, oh, ow):
    """When the output size divides the input size, adaptive pooling is pooling with k = s = n / out."""
    x = recipe.build()
    if 6 % oh or 5 % ow:
        oh, ow = 3, 5
    k = (6 // oh, 5 // ow)
    # two summation orders of the same K window values: each is within K*eps*sum|x| / K of the exact mean
    taps = k[0] * k[1]
    bound = 2 * taps * np.finfo(np.float64).eps * D.avg_pool(np.abs(x), k)
    assert np.all(np.abs(D.adaptive_avg_pool(x, (oh, ow)) - D.avg_pool(x, k)) <= bound)
    y, i = D.adaptive_max_pool(x, (oh, ow), return_indices=True)
    y2, i2 = D.max_pool(x, k, return_indices=True)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(i, i2)
