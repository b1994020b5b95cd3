"""convalg.functional: argument checking, layouts, dtypes, empty batches, NaN/inf, dispatch."""

from __future__ import annotations

import numpy as np
import pytest

import convalg.functional as F
from convalg import SpecError
from convalg.reference import direct

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 4, 7, 6)).astype(np.float32)
W = RNG.standard_normal((6, 2, 3, 3)).astype(np.float32)


def test_wrong_ranks_and_channels() -> None:
    with pytest.raises(SpecError, match="x: expected shape"):
        F.conv(X[0, 0], W)
    with pytest.raises(SpecError, match="weight: expected 4 dims"):
        F.conv(X, W[0])
    with pytest.raises(SpecError, match="needs x with 2\\*groups = 2 channels"):
        F.conv(X, W)  # groups=1 but weight expects 2 input channels
    with pytest.raises(SpecError, match="bias: expected shape"):
        F.conv(X, W, np.zeros(5, np.float32), groups=2)
    with pytest.raises(SpecError, match="groups"):
        F.conv(X, W, groups=0)
    with pytest.raises(SpecError, match="ConvTranspose weight"):
        F.conv_transpose(X, W)
    with pytest.raises(SpecError, match="stride"):
        F.conv(X, W, groups=2, stride=0)
    with pytest.raises(SpecError, match="algorithm"):
        F.conv(X, W, groups=2, algorithm="magic")


def test_dtype_errors_name_the_argument() -> None:
    with pytest.raises(TypeError, match="weight: dtype float64 does not match x's dtype float32"):
        F.conv(X, W.astype(np.float64), groups=2)
    with pytest.raises(TypeError, match="x: dtype int64"):
        F.conv(X.astype(np.int64), W, groups=2)
    with pytest.raises(TypeError, match="bias"):
        F.conv(X, W, np.zeros(6, np.float64), groups=2)
    with pytest.raises(TypeError, match="indices"):
        F.max_pool_grad(np.zeros((1, 1, 2)), np.zeros((1, 1, 2)), (1, 1, 4))


def test_gradient_shape_checks() -> None:
    with pytest.raises(SpecError, match="grad_out"):
        F.conv_grad_weight(X, np.zeros((2, 6, 3, 3), np.float32), W.shape, groups=2)
    with pytest.raises(SpecError, match="indices"):
        F.max_pool_grad(np.zeros((1, 1, 2)), np.full((1, 1, 2), 9), (1, 1, 4))
    with pytest.raises(SpecError, match="grad_out"):
        F.avg_pool_grad(np.zeros((1, 1, 3)), (1, 1, 4), 2)
    with pytest.raises(SpecError, match="cols"):
        F.fold(np.zeros((1, 4, 5)), (4, 4), 2)


@pytest.mark.parametrize("alg", ["gemm", "fft", "winograd", "direct"])
def test_non_contiguous_and_negative_strides(alg: str) -> None:
    x = X[:, :, ::-1, ::2]  # negative and non-unit strides
    w = np.asfortranarray(W[:, :, ::-1, :])
    expected = direct.conv(x.astype(np.float64), w.astype(np.float64), groups=2, padding=1)
    got = F.conv(x, w, groups=2, padding=1, algorithm=alg)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_float16_accumulates_in_float32() -> None:
    x, w = X.astype(np.float16), W.astype(np.float16)
    y = F.conv(x, w, groups=2)
    assert y.dtype == np.float16
    expected = direct.conv(x.astype(np.float64), w.astype(np.float64), groups=2)
    np.testing.assert_allclose(y.astype(np.float64), expected, rtol=2e-3, atol=2e-2)
    assert F.max_pool(x, 2).dtype == np.float16


@pytest.mark.parametrize("alg", ["auto", "gemm", "fft", "winograd", "direct"])
def test_empty_batch(alg: str) -> None:
    y = F.conv(X[:0], W, groups=2, padding=1, algorithm=alg)
    assert y.shape == (0, 6, 7, 6)
    assert F.conv_transpose(np.zeros((0, 6, 3, 3), np.float32), W, groups=2).shape == (0, 4, 5, 5)
    assert F.max_pool(X[:0], 2, return_indices=True)[1].shape == (0, 4, 3, 3)
    assert F.avg_pool(X[:0], 2).shape == (0, 4, 3, 3)
    assert F.conv_grad_weight(X[:0], np.zeros((0, 6, 5, 4), np.float32), W.shape, groups=2).shape == W.shape
    assert F.adaptive_avg_pool(X[:0], 2).shape == (0, 4, 2, 2)


@pytest.mark.parametrize("alg", ["auto", "gemm", "fft", "winograd", "direct"])
def test_nan_inf_propagate(alg: str) -> None:
    x = X.copy()
    x[0, 0, 3, 3] = np.nan
    x[1, 1, 0, 0] = np.inf
    y = F.conv(x, W, groups=2, padding=1, algorithm=alg)
    expected = direct.conv(x.astype(np.float64), W.astype(np.float64), groups=2, padding=1)
    # every algorithm keeps NaN/inf exactly where the reference has them (transforms fall back to GEMM)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    assert np.isnan(F.max_pool(x, 3)[0, 0]).any()


def test_cupy_dispatch_error_is_clear(monkeypatch) -> None:
    class FakeCupyArray:
        __module__ = "cupy._core.core"

    import importlib

    real = importlib.import_module

    def fail(name, *a):
        if name == "convalg.kernels.cuda.ops":
            raise ImportError("no CUDA here")
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", fail)
    with pytest.raises(TypeError, match="CUDA kernels are unavailable"):
        F.backend(FakeCupyArray())


def test_list_input_is_converted() -> None:
    y = F.conv([[[1.0, 2.0, 3.0]]], [[[1.0, 1.0]]])
    np.testing.assert_array_equal(y, [[[3.0, 5.0]]])


@pytest.mark.parametrize("shape,k,alg", [((1, 8, 64, 64), 11, "auto"), ((1, 8, 64, 64), 11, "fft"),
                                         ((1, 64, 40, 40), 3, "auto"), ((1, 64, 40, 40), 3, "winograd")])
def test_transform_falls_back_on_nan(shape, k, alg) -> None:
    """Large enough for 'auto' to pick FFT / Winograd: a NaN or inf still stays element-wise (GEMM fallback)."""
    from convalg.kernels.base import conv_layer
    from convalg.kernels.numpy.conv import conv_plan

    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((shape[1], shape[1], k, k)).astype(np.float32)
    assert conv_plan(conv_layer(x.shape, w.shape, 1, k // 2, 1, 1), x.shape, "float32", alg).algorithm in ("fft", "winograd")
    x[0, 1, 5, 7] = np.nan
    x[0, 2, 30, 30] = np.inf
    y = F.conv(x, w, padding=k // 2, algorithm=alg)
    expected = direct.conv(x.astype(np.float64), w.astype(np.float64), padding=k // 2)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))


GRAD_SPECS = [  # (spatial, kernel, stride, padding, dilation, groups)
    ((7, 6), (3, 2), (1, 2), ((1, 2), (0, 1)), (1, 1), 2),
    ((9,), (3,), (2,), (2,), (2,), 1),
    ((5, 4, 6), (2, 3, 1), 1, 1, 1, 1),
    ((8, 8), (3, 3), 1, "same", 2, 1),
]


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("flip_kernel", [False, True])
@pytest.mark.parametrize("alg", ["auto", "gemm", "fft", "direct"])
def test_gradients_take_padding_mode_and_flip_kernel(padding_mode, flip_kernel, alg) -> None:
    """Both gradients match the float64 direct reference for every padding mode, true convolution and algorithm."""
    from convalg.reference import direct as reference
    from convalg.testing.tolerance import assert_within_bound, error_bound

    rng = np.random.default_rng(11)
    for spatial, k, s, p, d, g in GRAD_SPECS:
        x = rng.standard_normal((2, 4, *spatial))
        w = rng.standard_normal((6, 4 // g, *k))
        kw = dict(stride=s, padding=p, dilation=d, groups=g, padding_mode=padding_mode, flip_kernel=flip_kernel)
        gy = rng.standard_normal(reference.conv(x, w, **kw).shape)
        context = f"{spatial} k={k} {kw} algorithm={alg}"
        gx = F.conv_grad_input(gy, w, x.shape, algorithm=alg, **kw)
        assert_within_bound(gx, reference.conv_grad_input(gy, w, x.shape, **kw),
                            error_bound("conv_grad_input", gy, w, x.shape, dtype="float64",
                                        algorithm="fft" if alg == "fft" else "direct", **kw), context)
        gw = F.conv_grad_weight(x, gy, w.shape, algorithm=alg, **kw)
        assert_within_bound(gw, reference.conv_grad_weight(x, gy, w.shape, **kw),
                            error_bound("conv_grad_weight", x, gy, w.shape, dtype="float64",
                                        algorithm="fft" if alg == "fft" else "direct", **kw), context)


def test_padded_gradients_are_adjoint_to_the_forward() -> None:
    """<conv(x), g> == <x, grad_input(g)> and == <w, grad_weight(x, g)> with a reflect-padded true convolution."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 2))
    kw = dict(stride=(2, 1), padding=((2, 1), (1, 0)), padding_mode="reflect", flip_kernel=True)
    y = F.conv(x, w, **kw)
    g = rng.standard_normal(y.shape)
    assert np.isclose(np.vdot(y, g), np.vdot(x, F.conv_grad_input(g, w, x.shape, **kw)), rtol=1e-12)
    assert np.isclose(np.vdot(y, g), np.vdot(w, F.conv_grad_weight(x, g, w.shape, **kw)), rtol=1e-12)


def _grad_input(shape):
    return F.conv_grad_input(np.ones((1, 3, 3, 3)), np.ones((3, 2, 3, 3)), shape)


def _grad_weight(shape):
    return F.conv_grad_weight(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3)), shape)


@pytest.mark.parametrize("call,match", [
    (lambda: _grad_input("abc"), "input_shape='abc'"),
    (lambda: _grad_input((1, 2, 5, 5.5)), r"input_shape\[3\]=5.5: must be an integer"),
    (lambda: _grad_input((1, 2, True, 5)), r"input_shape\[2\]=True: must be an integer"),
    (lambda: _grad_weight((3, 2, 10**10, 3)), "output size"),
    (lambda: _grad_weight((3, 2, -3, 3)), r"weight_shape\[2\]=-3: must be a non-negative integer"),
    (lambda: _grad_weight((3, 2, 3.5, 3)), r"weight_shape\[2\]=3.5: must be an integer"),
    (lambda: F.max_pool_grad(np.ones((1, 1, 2)), np.zeros((1, 1, 2), int), "ab"), "input_shape='ab'"),
    (lambda: F.conv_grad_input(np.ones((1, 1, 3)), np.ones((1, 1, 2)), (1, 1, 4), padding_mode="mirror"),
     "padding_mode='mirror'"),
    (lambda: F.conv_grad_weight(np.ones((1, 1, 3)), np.ones((1, 1, 6)), (1, 1, 2), padding=3,
                                padding_mode="reflect"), "reflect padding must be < the input size 3"),
    (lambda: F.conv_grad_input(np.ones((1, 1, 3)), np.ones((1, 1, 2)), (1, 1, 4), flip_kernel="yes"),
     "flip_kernel='yes'"),
    (lambda: F.fold(np.ones((1, 4, 4)), (3, 3.5), 2), r"output_size\[1\]=3.5: must be an integer"),
])
def test_bad_arguments_get_spec_errors(call, match) -> None:
    with pytest.raises(SpecError, match=match):
        call()


def test_ragged_input_is_a_type_error_like_the_references() -> None:
    with pytest.raises(TypeError, match="x: expected a real numeric array"):
        F.conv([[[1.0, 2.0], [1.0]]], [[[1.0]]])
