"""Winograd F(m, r): exact SymPy matrices, symbolic verification, and the float32 error of the kernel."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given

import convalg.functional as F
from convalg import Conv, SpecError
from convalg.kernels.numpy import parallel, winograd
from convalg.kernels.numpy.plan import pad_input, window_plan
from convalg.operators.winograd import verify_winograd, winograd_matrices
from convalg.reference import direct
from convalg.testing.strategies import case_arrays, conv_cases


@pytest.mark.parametrize("m,r", [(2, 3), (4, 3), (6, 3), (2, 5), (4, 2), (1, 1), (3, 4)])
def test_matrices_exact_and_verified(m: int, r: int) -> None:
    AT, G, BT = winograd_matrices(m, r)
    assert AT.shape == (m, m + r - 1) and G.shape == (m + r - 1, r) and BT.shape == (m + r - 1, m + r - 1)
    assert all(isinstance(v, sp.Rational) for M in (AT, G, BT) for v in M)
    assert all(v.q == 1 for v in BT)  # the fractions live in G
    assert verify_winograd(m, r)


def test_verification_catches_a_wrong_matrix(monkeypatch) -> None:
    import convalg.operators.winograd as mod

    AT, G, BT = winograd_matrices(2, 3)
    bad = BT.copy()
    bad[1, 1] += 1
    monkeypatch.setattr(mod, "winograd_matrices", lambda m, r, points=None: (AT, G, bad))
    assert not mod.verify_winograd(2, 3)


def test_bad_points() -> None:
    with pytest.raises(SpecError, match="distinct"):
        winograd_matrices(2, 3, points=[0, 0, 1])
    with pytest.raises(SpecError, match="float"):
        winograd_matrices(2, 3, points=[0, 0.5, 1])
    with pytest.raises(SpecError, match="exactly"):
        winograd_matrices(2, 3, points=[0])
    assert verify_winograd(2, 3, points=[0, sp.Rational(1, 2), -3])


@pytest.mark.parametrize("tile,measured_limit", [(2, 1e-6), (4, 1e-5), (6, 1e-4)])
def test_float32_error_within_documented_bound(tile: int, measured_limit: float) -> None:
    """The norm-wise bound holds, and the typical error (documented in the module) is what we say it is."""
    rng = np.random.default_rng(tile)
    x = rng.standard_normal((2, 16, 20, 19)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    plan = window_plan(Conv(3, padding=1, ndim=2), (20, 19))
    got = winograd.conv_winograd(pad_input(x, plan, winograd.winograd_extent(plan, tile)), w, plan, 1, tile)
    expected = direct.conv(x.astype(np.float64), w.astype(np.float64), padding=1)
    err = np.abs(got - expected)
    assert (err <= winograd.error_bound(x, w, plan, tile)).all()
    assert err.max() / np.abs(expected).max() < measured_limit


def test_winograd_rejects_strided() -> None:
    x = np.zeros((1, 1, 8, 8), np.float32)
    with pytest.raises(SpecError, match="winograd"):
        F.conv(x, np.zeros((1, 1, 3, 3), np.float32), stride=2, algorithm="winograd")


@given(case_arrays(conv_cases(stride=False, dilation=False, same_padding=False, max_kernel=5)))
def test_weight_gradient_f_r_m(problem) -> None:
    """F(r, m) weight gradient in float64 and float32, within the norm-wise bound."""
    case, recipes = problem
    x, w = recipes["x"].build().astype(np.float64), recipes["weight"].build()
    kw = case.kwargs()
    plan = window_plan(case.layer, case.spatial)
    gy = np.random.default_rng(2).standard_normal(case.output_shape).astype(np.float32).astype(np.float64)
    expected = direct.conv_grad_weight(x, gy, w.shape, **kw)
    for dtype in (np.float64, np.float32):
        xp = pad_input(x.astype(dtype), plan, winograd.winograd_extent(plan))
        got = winograd.weight_grad_winograd(xp, gy.astype(dtype), plan, case.layer.groups)
        assert got.dtype == dtype and got.shape == w.shape
        bound = winograd.weight_grad_error_bound(x, gy, plan, dtype=dtype) + 1e-300
        assert (np.abs(got - expected) <= bound).all(), (case, np.abs(got - expected).max())
    got = F.conv_grad_weight(x, gy, w.shape, algorithm="winograd", **kw)  # float64 through the functional API
    assert (np.abs(got - expected) <= winograd.weight_grad_error_bound(x, gy, plan) + 1e-300).all()


def test_weight_gradient_large_float32() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 16, 30, 29)).astype(np.float32)
    gy = rng.standard_normal((2, 8, 30, 29)).astype(np.float32)
    plan = window_plan(Conv(3, padding=1, ndim=2), (30, 29))
    got = F.conv_grad_weight(x, gy, (8, 16, 3, 3), padding=1, algorithm="winograd")
    expected = direct.conv_grad_weight(x.astype(np.float64), gy.astype(np.float64), (8, 16, 3, 3), padding=1)
    err = np.abs(got - expected)
    assert (err <= winograd.weight_grad_error_bound(x, gy, plan)).all()
    assert err.max() / np.abs(expected).max() < 1e-5


def test_batch_chunks_match(monkeypatch) -> None:
    """Chunked over the batch (one entry per chunk) the results equal the one-chunk run."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 9, 10))
    w = rng.standard_normal((5, 4, 3, 3))
    gy = rng.standard_normal((3, 5, 9, 10))
    whole = F.conv(x, w, padding=1, algorithm="winograd"), F.conv_grad_weight(x, gy, w.shape, padding=1,
                                                                              algorithm="winograd")
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 1)
    chunked = F.conv(x, w, padding=1, algorithm="winograd"), F.conv_grad_weight(x, gy, w.shape, padding=1,
                                                                                algorithm="winograd")
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole[0], direct.conv(x, w, padding=1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("batch,spatial,kernel,groups", [(4, (13, 11), 3, 1), (3, (9, 10), 3, 2), (2, (17,), 5, 1),
                                                         (2, (6, 7, 5), 3, 1)])
def test_batch_chunks_on_threads_match(batch, spatial, kernel, groups, monkeypatch) -> None:
    """Batch chunks run on two threads (BLAS pinned to one) equal the serial run; BLAS threads come back."""

    rng = np.random.default_rng(7)
    x = rng.standard_normal((batch, 4, *spatial))
    w = rng.standard_normal((6, 4 // groups, *(kernel,) * len(spatial)))
    gy = rng.standard_normal((batch, 6, *spatial))
    pad = kernel // 2

    def run():
        return (F.conv(x, w, padding=pad, groups=groups, algorithm="winograd"),
                F.conv_grad_weight(x, gy, w.shape, padding=pad, groups=groups, algorithm="winograd"))

    monkeypatch.setattr(parallel, "KERNEL_WORKERS", 1)
    serial = run()
    before = parallel.blas_threads()
    monkeypatch.setattr(parallel, "KERNEL_WORKERS", 2)
    monkeypatch.setattr(winograd, "MIN_CHUNK_BYTES", 1)
    monkeypatch.setattr(winograd, "MIN_CHUNK_COLUMNS", 1)
    items = winograd._work_items(batch, (4, 3), 100)
    assert len(items) >= 2 and [b for b0, nb in items for b in range(b0, b0 + nb)] == list(range(batch))
    chunked = run()
    assert parallel.blas_threads() == before  # BLAS threads restored
    for a, b in zip(serial, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chunked[0], direct.conv(x, w, padding=pad, groups=groups), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(chunked[1], direct.conv_grad_weight(x, gy, w.shape, padding=pad, groups=groups),
                               rtol=1e-9, atol=1e-9)


def test_chunk_threads_with_copy_threads_finish(monkeypatch) -> None:
    """Four chunk threads whose copies are split over the copy pool too: no deadlock, same result."""
    import threading

    from convalg.kernels.numpy import parallel

    rng = np.random.default_rng(12)
    x = rng.standard_normal((8, 3, 11, 9))
    w = rng.standard_normal((4, 3, 3, 3))
    expected = direct.conv(x, w, padding=1)
    for name, value in (("KERNEL_WORKERS", 4), ("WORKERS", 3), ("MIN_BYTES", 0)):
        monkeypatch.setattr(parallel, name, value)
    monkeypatch.setattr(winograd, "MIN_CHUNK_BYTES", 1)
    monkeypatch.setattr(winograd, "MIN_CHUNK_COLUMNS", 1)
    assert len(winograd._work_items(8, (3, 3), 10)) == 4
    result: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: result.append(F.conv(x, w, padding=1, algorithm="winograd")),
                              daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert result, "chunk threads did not finish"
    np.testing.assert_allclose(result[0], expected, rtol=1e-9, atol=1e-9)


def test_single_threaded_blas_pins_and_restores() -> None:
    """The chunk threads rely on BLAS running on one thread inside the block (threadpoolctl), nested uses counted."""
    if not parallel.blas_controllable():
        pytest.skip("no BLAS that threadpoolctl can control")
    before = parallel.blas_threads()
    with parallel.single_threaded_blas():
        with parallel.single_threaded_blas():
            assert set(parallel.blas_threads()) == {1}
        assert set(parallel.blas_threads()) == {1}  # still pinned: the outer block is open
    assert parallel.blas_threads() == before
