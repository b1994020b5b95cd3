"""Regression tests: behaviours that once differed from PyTorch (expected values from its definitions)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import convalg
import convalg.functional as F
from convalg import SpecError
from convalg.kernels import clear_caches
from convalg.kernels.numpy.plan import window_plan

ALGORITHMS = ("auto", "gemm", "fft", "winograd", "direct")
nan, inf = np.nan, np.inf


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("algorithm", ("auto", "gemm", "fft", "direct"))
def test_nan_weight_stays_elementwise_in_transposed_ops(algorithm):
    # y[2i + k] = x[i] w[k]: only the odd positions meet the NaN tap
    y = F.conv_transpose(np.ones((1, 1, 3)), np.array([[[1.0, nan]]]), stride=2, algorithm=algorithm)
    _same(y, [[[1, nan, 1, nan, 1, nan]]])
    # gx[i] = sum_o gy[o] w[i - o]: gx[0] reads only w[0]
    gx = F.conv_grad_input(np.ones((1, 1, 4)), np.array([[[1.0, nan]]]), (1, 1, 5), algorithm=algorithm)
    _same(gx, [[[1, nan, nan, nan, nan]]])


@pytest.mark.parametrize("algorithm", ("auto", "winograd", "fft"))
def test_inf_weight_in_2d_input_gradient_with_padding(algorithm):
    w = np.ones((1, 1, 3, 3))
    w[0, 0, 0, 0] = inf
    gx = F.conv_grad_input(np.ones((1, 1, 6, 6)), w, (1, 1, 6, 6), padding=1, algorithm=algorithm)
    # the inf tap (k = (0, 0)) reaches x[o - 1 + 0] only for o >= 1: the last row and column never see it
    assert np.isinf(gx[0, 0, :5, :5]).all()
    assert np.isfinite(gx[0, 0, 5, :]).all() and np.isfinite(gx[0, 0, :, 5]).all()


@pytest.mark.parametrize("algorithm", ALGORITHMS[:2] + ("direct",))
def test_inf_in_x_reaches_only_the_taps_that_read_it(algorithm):
    x = np.zeros((1, 1, 4, 6))
    x[0, 0, 1, 4] = inf  # read by tap (0, 1) only (column c + 3 for outputs c < 3)
    dw = F.conv_grad_weight(x, np.ones((1, 1, 4, 3)), (1, 1, 1, 2), dilation=3, algorithm=algorithm)
    _same(dw, [[[[0.0, inf]]]])


def test_max_pool_grad_checks_batch_and_channels():
    y, idx = F.max_pool(np.random.default_rng(0).random((2, 3, 4, 4)), 2, return_indices=True)
    with pytest.raises(SpecError, match="input_shape"):
        F.max_pool_grad(y, idx, (4, 3, 4, 4))
    with pytest.raises(SpecError, match="input_shape"):
        F.max_pool_grad(y, idx, (2, 1, 8, 6))


@pytest.mark.parametrize("bad", (2.0, True, np.array(2), (2, 1.0)))
def test_validation_does_not_depend_on_call_history(bad):
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))
    clear_caches()
    with pytest.raises(SpecError, match="stride"):
        F.conv(x, w, stride=bad)
    F.conv(x, w, stride=2)
    F.conv(x, w, stride=1)
    F.max_pool(x, 2, stride=2)
    with pytest.raises(SpecError, match="stride"):
        F.conv(x, w, stride=bad)
    with pytest.raises(SpecError, match="stride"):
        F.max_pool(x, 2, stride=bad)
    with pytest.raises(SpecError, match="stride"):
        F.conv_transpose(x, w, stride=bad)


def test_negative_padding_pairs_in_input_gradient_and_transpose():
    rng = np.random.default_rng(1)
    x, w, gy = rng.random((1, 2, 9)), rng.random((3, 2, 3)), rng.random((1, 3, 5))
    pad = ((-2, 0),)
    assert F.conv(x, w, padding=pad).shape == gy.shape
    for algorithm in ("auto", "gemm", "fft", "direct"):
        gx = F.conv_grad_input(gy, w, x.shape, padding=pad, algorithm=algorithm)
        np.testing.assert_allclose(np.sum(gx * x), np.sum(F.conv(x, w, padding=pad) * gy), rtol=1e-12)
    t = convalg.Conv(3, padding=pad, ndim=1).transpose((9,))
    assert t.padding == ((-2, 0),) and t.output_shape((5,)) == (9,)


def test_empty_batch_and_channels():
    for shape in ((0, 3, 4, 4), (2, 0, 4, 4)):
        y, idx = F.adaptive_max_pool(np.ones(shape), 2, return_indices=True)
        assert y.shape == idx.shape == (*shape[:2], 2, 2)
        assert F.unfold(np.ones(shape), 2).shape == (shape[0], shape[1] * 4, 9)
    for op in (F.adaptive_max_pool, F.adaptive_avg_pool):
        with pytest.raises(SpecError, match="zero-size"):
            op(np.ones((1, 1, 0, 4)), 2)


def test_window_mostly_padding_costs_its_taps_inside_only():
    x = np.random.default_rng(2).random((1, 1, 4, 5))
    t0 = time.perf_counter()
    y = F.avg_pool(x, 10**9, 1, 5 * 10**8, count_include_pad=False)
    assert time.perf_counter() - t0 < 2.0
    assert y.shape == (1, 1, 5, 6)
    np.testing.assert_allclose(y, np.full(y.shape, x.mean()), rtol=1e-12)
    t0 = time.perf_counter()
    y, idx = F.max_pool(x, (2, 10**6), 1, (1, 5 * 10**5), return_indices=True)
    assert time.perf_counter() - t0 < 2.0
    rows = np.maximum(np.vstack([x[0, 0, :1] * 0 - inf, x[0, 0]]), np.vstack([x[0, 0], x[0, 0, :1] * 0 - inf]))
    np.testing.assert_array_equal(y[0, 0], np.repeat(rows.max(axis=1, keepdims=True), 6, axis=1))
    assert (x.reshape(-1)[idx[0, 0]] == y[0, 0]).all()
    plan = window_plan(convalg.AvgPool(10**9, 1, 5 * 10**8, ndim=2), (4, 5), True)
    assert plan.nbytes < 1 << 20


def test_wrong_argument_types_and_huge_values():
    x, w = np.ones((1, 1, 5)), np.ones((1, 1, 2))
    with pytest.raises(TypeError, match="weight"):
        F.conv(x, None)
    with pytest.raises(TypeError, match="grad_out"):
        F.conv_grad_bias(None)
    with pytest.raises(TypeError, match="grad_out"):
        F.conv_grad_input(None, w, (1, 1, 5))
    _same(F.conv(x, w, stride=10**18), [[[2.0]]])
    with pytest.raises(SpecError, match="2\\*\\*62"):
        F.conv(x, w, stride=10**30)
    with pytest.raises(SpecError, match="2\\*\\*62"):
        F.conv(x, w, padding=10**30)
    with pytest.raises(SpecError, match="input_shape"):
        F.conv_grad_input(np.ones((1, 1, 4)), w, np.array(2))


def test_bias_gradient_sums_big_endian_float64_in_float64():
    g = np.array([[[1e-9, 1.0, 1e-9]]], dtype=">f8")
    assert F.conv_grad_bias(g)[0] == pytest.approx(1 + 2e-9, abs=1e-15)


def test_max_pool_window_without_input_is_an_error_like_max_pool_mask():
    from convalg.operators import max_pool_mask

    layer = convalg.MaxPool(2, 1, 1, dilation=3, ndim=1)
    with pytest.raises(SpecError):
        max_pool_mask(layer, np.ones((1, 2)))
    with pytest.raises(SpecError, match="no position inside the input"):
        F.max_pool(np.ones((1, 1, 2)), 2, 1, 1, dilation=3)
    y, idx = F.max_pool(np.ones((1, 1, 5)), 2, 1, 1, dilation=3, return_indices=True)  # every window reads x
    _same(idx, [[[2, 0, 1, 2]]])


def test_huge_padding_is_a_clear_memory_error_not_a_plan():
    t0 = time.perf_counter()
    plan = window_plan(convalg.Conv(1, padding=10**6, ndim=2), (1, 1))
    assert plan.nbytes < 1 << 20 and time.perf_counter() - t0 < 2.0
    with pytest.raises(MemoryError, match="conv output: shape \\(1, 1, 2000001, 2000001\\)"):
        F.conv(np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), padding=10**6)
