"""Generated NumPy pooling kernels, their gradients, adaptive pooling and unfold/fold against the references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convalg.functional as F
from convalg.reference import direct as reference
from convalg.testing.strategies import case_arrays, pool_cases
from convalg.testing.tolerance import assert_within_bound, error_bound


@given(case_arrays(pool_cases("max", asymmetric_padding=True), allow_nan=True, allow_infinity=True))
def test_max_pool_values_indices_and_grad(problem) -> None:
    case, recipes = problem
    x = recipes["x"].build()
    kw = dict(case.kwargs(), return_indices=True)
    y, idx = F.max_pool(x, **kw)
    y_ref, idx_ref = reference.max_pool(x.astype(np.float64), **kw)
    np.testing.assert_array_equal(y, y_ref.astype(x.dtype))  # max pooling is exact (NaN == NaN here)
    np.testing.assert_array_equal(idx, idx_ref)
    gy = np.random.default_rng(1).standard_normal(y.shape)
    gx = F.max_pool_grad(gy, idx, x.shape)
    gx_ref = reference.max_pool_grad(gy, idx_ref, x.shape)
    assert_within_bound(gx, gx_ref, error_bound("max_pool_grad", gy, idx_ref, x.shape, dtype="float64"))


@given(case_arrays(pool_cases("avg", asymmetric_padding=True), dtype="float64"))
def test_avg_pool_and_grad(problem) -> None:
    case, recipes = problem
    x = recipes["x"].build()
    kw = case.kwargs()
    y = F.avg_pool(x, **kw)
    assert_within_bound(y, reference.avg_pool(x, **kw), error_bound("avg_pool", x, dtype="float64", **kw))
    gy = np.random.default_rng(2).standard_normal(y.shape)
    gx = F.avg_pool_grad(gy, x.shape, **kw)
    assert_within_bound(gx, reference.avg_pool_grad(gy, x.shape, **kw),
                        error_bound("avg_pool_grad", gy, x.shape, dtype="float64", **kw))


@st.composite
def adaptive_problems(draw):
    nd = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 9)) for _ in range(nd))
    out = tuple(draw(st.one_of(st.none(), st.integers(1, 9))) for _ in range(nd))
    x = np.random.default_rng(draw(st.integers(0, 99))).integers(0, 4, (2, 2, *spatial)).astype(np.float32)
    if draw(st.booleans()):
        x.flat[draw(st.integers(0, x.size - 1))] = np.nan
    return x, out


@given(adaptive_problems())
def test_adaptive_pools(problem) -> None:
    x, out = problem
    y, idx = F.adaptive_max_pool(x, out, return_indices=True)
    y_ref, idx_ref = reference.adaptive_max_pool(x.astype(np.float64), out, return_indices=True)
    np.testing.assert_array_equal(y, y_ref.astype(np.float32))
    np.testing.assert_array_equal(idx, idx_ref)
    avg = F.adaptive_avg_pool(x.astype(np.float64), out)
    np.testing.assert_allclose(avg, reference.adaptive_avg_pool(x.astype(np.float64), out), rtol=1e-14, atol=0)


def test_max_pool_nan_and_ties_follow_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, 3.0, 3.0, np.nan], [3.0, 2.0, np.nan, 0.0], [-np.inf, -np.inf, 5.0, 5.0]]]])
    y, idx = F.max_pool(x, 2, stride=1, padding=1, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, 1, 1, return_indices=True)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(idx, it.numpy())


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_unfold_fold_are_adjoint(nd: int) -> None:
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((2, 3, *[6, 5, 4][:nd]))
    kw = dict(kernel_size=(3, 2, 2)[:nd], dilation=(1, 2, 1)[:nd], padding=(1, 0, 1)[:nd], stride=(2, 1, 1)[:nd])
    cols = F.unfold(x, **kw)
    r = rng.standard_normal(cols.shape)
    # <unfold(x), r> == <x, fold(r)>
    np.testing.assert_allclose((cols * r).sum(), (x * F.fold(r, x.shape[2:], **kw)).sum(), rtol=1e-12)
    if nd == 2:
        torch = pytest.importorskip("torch")
        np.testing.assert_array_equal(cols, torch.nn.functional.unfold(torch.from_numpy(x), **kw).numpy())
        np.testing.assert_allclose(F.fold(r, x.shape[2:], **kw),
                                   torch.nn.functional.fold(torch.from_numpy(r), x.shape[2:], **kw).numpy())


@pytest.mark.parametrize("stride,dilation", [((2, 3), (3, 2)), ((3, 2), (1, 1)), ((2, 2), (2, 2))])
def test_fold_strided_phases_match_torch(stride, dilation) -> None:
    """Strided fold adds each tap into one phase of the frame (tap_step*k mod stride): against torch's fold."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    kw = dict(kernel_size=(3, 2), dilation=dilation, padding=(1, 2), stride=stride)
    size = (11, 10)
    n_cols = F.unfold(np.zeros((1, 2, *size)), **kw).shape
    r = rng.standard_normal(n_cols)
    np.testing.assert_allclose(F.fold(r, size, **kw),
                               torch.nn.functional.fold(torch.from_numpy(r), size, **kw).numpy(), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_keeps_the_first_zeros_sign_like_torch(nd: int) -> None:
    """``-0.0 == 0.0``: the value is the first maximum's (its index), whatever sign ``numpy.maximum`` returns."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(nd)
    shape = (2, 3) + (7, 6, 5)[:nd]
    x = np.where(rng.random(shape) < 0.5, -0.0, 0.0).astype(np.float32)
    x[rng.random(shape) < 0.1] = -1.0
    y, idx = F.max_pool(x, 3, stride=1, padding=1, return_indices=True)
    pool_t = getattr(torch.nn.functional, f"max_pool{nd}d")
    yt, it = pool_t(torch.from_numpy(x), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(idx, it.numpy())
    np.testing.assert_array_equal(np.signbit(y), np.signbit(yt.numpy()))


@pytest.mark.parametrize("kernel", [(3, 300), (300, 3)])
def test_max_pool_many_taps_carries_winners(kernel) -> None:
    """More than 256 live taps on an axis (two-byte tap numbers), carried through the other axis's pass."""
    x = np.random.default_rng(0).integers(-3, 4, size=(1, 2, 301, 302)).astype(np.float64)
    x[0, 0, 5, 7] = np.nan
    kw = dict(kernel_size=kernel, stride=1, padding=(1, 1), return_indices=True)
    y, idx = F.max_pool(x, **kw)
    y_ref, idx_ref = reference.max_pool(x, **kw)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)


@pytest.mark.parametrize("shape", [(2, 3, 9, 10), (1, 2, 260, 260)])  # many small planes; planes of > 2**16
def test_max_pool_grad_float32_sums_like_torch(shape) -> None:
    """float32 gradients are summed in float32 in output order, as PyTorch does: equal bit for bit."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=shape).astype(np.float32)  # many ties: overlapping windows share winners
    gy_shape = (*shape[:2], *(n - 1 for n in shape[2:]))
    gy = (rng.standard_normal(gy_shape) * 10.0 ** rng.integers(-4, 4, size=gy_shape)).astype(np.float32)
    _, idx = F.max_pool(x, 3, stride=1, padding=0, return_indices=True)
    gy = gy[..., : idx.shape[2], : idx.shape[3]].copy()
    xt = torch.from_numpy(x)
    _, it = torch.nn.functional.max_pool2d(xt, 3, 1, 0, return_indices=True)
    gt = torch.ops.aten.max_pool2d_with_indices_backward(torch.from_numpy(gy), xt, [3, 3], [1, 1], [0, 0], [1, 1],
                                                         False, it)
    gx = F.max_pool_grad(gy, idx, x.shape)
    assert gx.dtype == np.float32
    np.testing.assert_array_equal(gx, gt.numpy())
