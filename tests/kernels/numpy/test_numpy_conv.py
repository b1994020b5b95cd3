"""Generated NumPy convolution kernels (every algorithm) against the float64 references, within the error model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import convalg.functional as F
from convalg.kernels.base import conv_flops, conv_layer
from convalg.kernels.numpy import winograd
from convalg.kernels.numpy.conv import conv_plan
from convalg.kernels.numpy.plan import window_plan
from convalg.reference import direct as reference
from convalg.testing.strategies import case_arrays, conv_cases, conv_transpose_cases
from convalg.testing.tolerance import assert_within_bound, error_bound

ALGS = ("gemm", "direct", "fft", "winograd")


def _layer(x, w, stride, padding, dilation, groups):
    return conv_layer(x.shape, w.shape, stride, padding, dilation, groups)


def _arrays(case, recipes):
    x = recipes["x"].build()
    w = recipes["weight"].build()
    b = recipes["bias"].build() if "bias" in recipes else None
    return x, w, b


def _winograd_ok(case) -> bool:
    """Stride 1 and supported kernel sizes (dilated layers run Winograd on their undilated phases)."""
    plan = window_plan(case.layer.replace(padding_mode="zeros"), case.spatial)
    return all(s == 1 for s in plan.step) and all(k in winograd.DEFAULT_TILE for k in plan.kernel)


def _bound(op, args, kw, alg, layer=None, spatial=None):
    if alg == "winograd":  # norm-wise per tile (convalg.kernels.numpy.winograd.error_bound) + bias rounding
        plan = window_plan(layer, spatial)
        direct_part = error_bound(op, *args, dtype="float32", **kw)
        return direct_part + winograd.error_bound(args[0], args[1], plan, dtype=np.float32)
    return error_bound(op, *args, dtype="float32", algorithm="fft" if alg == "fft" else "direct", **kw)


@given(case_arrays(conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular"), flip_kernel=True)))
def test_conv_every_algorithm(problem) -> None:
    case, recipes = problem
    x, w, b = _arrays(case, recipes)
    kw = dict(case.kwargs(), flip_kernel=case.layer.flip_kernel)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    b64 = None if b is None else b.astype(np.float64)
    expected = reference.conv(x64, w64, b64, **kw)
    for alg in ALGS:
        if alg == "winograd" and not _winograd_ok(case):
            continue
        got = F.conv(x, w, b, algorithm=alg, **kw)
        assert got.dtype == np.float32 and got.shape == expected.shape
        layer = case.layer.replace(padding_mode="zeros", flip_kernel=False)
        bound = _bound("conv", (x64, w64, b64), kw, alg, layer, case.spatial)
        assert_within_bound(got, expected, bound, f"conv algorithm={alg} {case}")


@given(case_arrays(conv_transpose_cases()))
def test_conv_transpose_every_algorithm(problem) -> None:
    case, recipes = problem
    x, w, b = _arrays(case, recipes)
    kw = case.kwargs()
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    b64 = None if b is None else b.astype(np.float64)
    expected = reference.conv_transpose(x64, w64, b64, **kw)
    bounds = {fft: error_bound("conv_transpose", x64, w64, b64, dtype="float32", algorithm=fft, **kw)
              for fft in ("fft", "direct")}
    for alg in ("auto", "gemm", "direct", "fft"):
        got = F.conv_transpose(x, w, b, algorithm=alg, **kw)
        bound = bounds["fft" if alg == "fft" else "direct"]  # small problems: 'auto' is element-wise (GEMM)
        assert_within_bound(got, expected, bound, f"conv_transpose algorithm={alg} {case}")


@given(case_arrays(conv_cases(same_padding=False), dtype="float64"))
def test_conv_gradients(problem) -> None:
    case, recipes = problem
    x, w, _ = _arrays(case, recipes)
    kw = case.kwargs()
    gy = np.random.default_rng(0).standard_normal(case.output_shape)
    gx_ref = reference.conv_grad_input(gy, w, x.shape, **kw)
    gw_ref = reference.conv_grad_weight(x, gy, w.shape, **kw)
    bounds = {fft: (error_bound("conv_grad_input", gy, w, x.shape, dtype="float64", algorithm=fft, **kw),
                    error_bound("conv_grad_weight", x, gy, w.shape, dtype="float64", algorithm=fft, **kw))
              for fft in ("fft", "direct")}
    for alg in ("auto", "gemm", "direct", "fft"):
        gx_bound, gw_bound = bounds["fft" if alg == "fft" else "direct"]  # small: 'auto' is element-wise
        gx = F.conv_grad_input(gy, w, x.shape, algorithm=alg, **kw)
        assert_within_bound(gx, gx_ref, gx_bound, f"grad_input {alg} {case}")
        gw = F.conv_grad_weight(x, gy, w.shape, algorithm=alg, **kw)
        assert_within_bound(gw, gw_ref, gw_bound, f"grad_weight {alg} {case}")
    gb = F.conv_grad_bias(gy)
    assert_within_bound(gb, reference.conv_grad_bias(gy), error_bound("conv_grad_bias", gy, dtype="float64"))


def test_plan_cached_on_values_and_source_printed() -> None:
    x = np.zeros((1, 2, 8, 8), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    p1 = conv_plan(_layer(x, w, 1, 1, 1, 1), x.shape, "float32", "gemm")
    p2 = conv_plan(_layer(x.copy(), w.copy(), [1, 1], (1, 1), (1, 1), 1), tuple(x.shape), "float32", "gemm")
    assert p1 is p2
    assert "i0 = k0 + o0 - 1" in p1.source and "algorithm: gemm" in p1.source
    assert conv_plan(_layer(x, w, 1, 1, 1, 1), x.shape, "float32", "fft") is not p1


def test_auto_picks_by_cost_model() -> None:
    x = np.zeros((1, 16, 64, 64), np.float32)
    cases = {(1, 0): "gemm", (11, 5): "fft"}
    for (k, p), alg in cases.items():
        w = np.zeros((16, 16, k, k), np.float32)
        assert conv_plan(_layer(x, w, 1, p, 1, 1), x.shape, "float32", "auto").algorithm == alg


def test_auto_stays_element_wise_below_the_size_threshold() -> None:
    """Tiny problems: 'auto' never picks a transform (their error is norm-wise: exact zeros come out as ~1e-10)."""
    from convalg.kernels.numpy import cost

    rng = np.random.default_rng(4)
    x = np.zeros((1, 4, 40), np.float32)
    x[0, :, :8] = rng.standard_normal((4, 8))
    w = rng.standard_normal((4, 4, 9)).astype(np.float32)
    layer = _layer(x, w, 1, 4, 1, 1)
    assert conv_flops(1, 4, 4, 1, layer.kernel_size, window_plan(layer, (40,)).output_shape) < cost.TRANSFORM_MIN_FLOPS
    assert conv_plan(layer, x.shape, "float32", "auto").algorithm in ("gemm", "direct")
    got = F.conv(x, w, padding=4)
    assert (got[0, :, 16:] == 0).all()  # exact zeros stay exact
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    assert_within_bound(got, reference.conv(x64, w64, padding=4), error_bound("conv", x64, w64, padding=4))
    big = np.zeros((1, 64, 56, 56), np.float32)
    assert conv_plan(_layer(big, np.zeros((64, 64, 3, 3), np.float32), 1, 1, 1, 1), big.shape, "float32",
                     "auto").algorithm == "winograd"


@pytest.mark.parametrize("alg", ALGS)
def test_large_channel_sum_float32(alg: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 24, 13, 11)).astype(np.float32)
    w = rng.standard_normal((8, 24, 3, 3)).astype(np.float32)
    got = F.conv(x, w, padding=1, algorithm=alg)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    expected = reference.conv(x64, w64, padding=1)
    layer = _layer(x, w, 1, 1, 1, 1)
    assert_within_bound(got, expected, _bound("conv", (x64, w64, None), dict(padding=1), alg, layer, (13, 11)))


@given(case_arrays(conv_cases(stride=False, same_padding=False), dtype="float64"))
def test_fft_overlap_save_tiles(problem) -> None:
    """Forward and weight gradient through small forced FFT tiles (anchors use them on large planes)."""
    from convalg.kernels.numpy import fft as fftmod
    from convalg.kernels.numpy.plan import pad_input

    case, recipes = problem
    x, w, _ = _arrays(case, recipes)
    kw = case.kwargs()
    layer = case.layer
    window = window_plan(layer, case.spatial)
    tiles = tuple(d * (k - 1) + 2 for d, k in zip(window.tap_step, window.kernel))  # 2 valid outputs per tile
    xp = pad_input(x, window, fftmod.fft_extent(window, tiles))
    got = fftmod.conv_fft_tiled(xp, w, window, layer.groups, tiles)
    expected = reference.conv(x, w, **kw)
    assert_within_bound(got, expected, error_bound("conv", x, w, dtype="float64", algorithm="fft", **kw),
                        f"tiled fft {tiles} {case}")
    gy = np.random.default_rng(1).standard_normal(expected.shape)
    gw = fftmod.weight_grad_fft_tiled(xp, gy, window, layer.groups, tiles)
    bound = error_bound("conv_grad_weight", x, gy, w.shape, dtype="float64", algorithm="fft", **kw)
    assert_within_bound(gw, reference.conv_grad_weight(x, gy, w.shape, **kw), bound, f"tiled fft dW {case}")


@given(case_arrays(conv_cases(stride=False, same_padding=False, groups=True), dtype="float64"))
def test_dilated_winograd_polyphase_gradients(problem) -> None:
    """Dilated layers through the polyphase split: input and weight gradients by Winograd."""
    from convalg.kernels.numpy.conv import gather_layer, gather_weight

    case, recipes = problem
    x, w, _ = _arrays(case, recipes)
    kw = case.kwargs()
    gy = np.random.default_rng(3).standard_normal(case.output_shape)
    out_spatial = case.output_shape[2:]
    conv_layer, _ = gather_layer(case.layer.transpose(case.spatial), out_spatial)
    wg = gather_weight(w, case.layer.groups)
    gx_bound = (error_bound("conv_grad_input", gy, w, x.shape, dtype="float64", **kw)
                + winograd.error_bound(gy, wg, window_plan(conv_layer, out_spatial), dtype=np.float64))
    gx = F.conv_grad_input(gy, w, x.shape, algorithm="winograd", **kw)
    assert_within_bound(gx, reference.conv_grad_input(gy, w, x.shape, **kw), gx_bound, f"winograd dX {case}")
    plan = window_plan(case.layer, case.spatial)
    gw_bound = (error_bound("conv_grad_weight", x, gy, w.shape, dtype="float64", **kw)
                + winograd.weight_grad_error_bound(x, gy, plan, dtype=np.float64))
    gw = F.conv_grad_weight(x, gy, w.shape, algorithm="winograd", **kw)
    assert_within_bound(gw, reference.conv_grad_weight(x, gy, w.shape, **kw), gw_bound, f"winograd dW {case}")


@pytest.mark.parametrize("alg", ALGS)
def test_parallel_copies_change_nothing(alg: str, monkeypatch) -> None:
    """Every copy split over the thread pool (threshold 0) gives bit-identical results."""
    from convalg.kernels.numpy import parallel

    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4, 13, 11)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((3, 6, 13, 11)).astype(np.float32)
    kw = dict(padding=2, dilation=2) if alg in ("winograd", "direct") else dict(padding=1)

    def run():
        return (F.conv(x, w, algorithm=alg, **kw), F.conv_grad_input(gy, w, x.shape, algorithm=alg, **kw),
                F.conv_grad_weight(x, gy, w.shape, algorithm=alg, **kw))

    serial = run()
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "WORKERS", 3)
    for a, b in zip(serial, run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=2, dilation=2), dict(padding=(0, 1))])
def test_stride1_input_gradient_scatter_form(kw: dict) -> None:
    """Many channels on few pixels: 'auto' takes the scatter form (W_k^T gy per tap) for the stride-1 input
    gradient."""
    from convalg.kernels.numpy import ops

    rng = np.random.default_rng(11)
    groups = kw.get("groups", 1)
    x = rng.standard_normal((1, 32, 3, 2))
    w = rng.standard_normal((24, 32 // groups, 3, 3))
    gy = rng.standard_normal(F.conv(x, w, **kw).shape)
    layer = conv_layer(x.shape, w.shape, 1, kw.get("padding", 0), kw.get("dilation", 1), groups)
    transposed = ops._transposed(layer, (3, 2))
    assert ops._scatter_cheaper(transposed, gy.shape, "float64")
    got = F.conv_grad_input(gy, w, x.shape, **kw)
    np.testing.assert_allclose(got, reference.conv_grad_input(gy, w, x.shape, **kw), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got, F.conv_grad_input(gy, w, x.shape, algorithm="gemm", **kw), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("budget", [1, 500])
def test_im2col_in_row_chunks_matches_the_reference(budget) -> None:
    """A column budget smaller than one batch entry's columns: the forward and the weight gradient run
    one chunk of output rows at a time (one row per chunk with ``budget=1``)."""
    from convalg import Conv
    from convalg.kernels.numpy import gemm
    from convalg.kernels.numpy.plan import pad_input, window_plan

    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 4, 13, 11)), rng.standard_normal((6, 2, 3, 3))
    plan = window_plan(Conv(3, padding=1, groups=2, in_channels=4, out_channels=6, ndim=2), (13, 11))
    xp = pad_input(x, plan)
    y = gemm.conv_im2col(xp, w, plan, 2, budget=budget)
    np.testing.assert_allclose(y, reference.conv(x, w, padding=1, groups=2), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(gemm.weight_grad_im2col(xp, gy, plan, 2, budget=budget),
                               reference.conv_grad_weight(x, gy, w.shape, padding=1, groups=2), rtol=1e-12, atol=1e-12)
