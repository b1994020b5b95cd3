"""The references agree with torch.nn.functional in float64 (skipped without torch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import convalg.reference as ref
from convalg.testing import strategies as S
from convalg.testing.tolerance import assert_within_bound, error_bound

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch


def _t(a: np.ndarray | None):
    return None if a is None else torch.from_numpy(np.asarray(a, dtype=np.float64))


def _torch_padded(x: np.ndarray, padding, nd: int, mode: str = "constant"):
    """Pre-pad for (lo, hi) pairs, which torch's conv does not take."""
    pairs = [p if isinstance(p, tuple) else (p, p) for p in padding]
    flat = [v for lo_hi in reversed(pairs) for v in lo_hi]
    return F.pad(_t(x), flat, mode=mode)


def _build(recipes):
    return {k: r.build().astype(np.float64) for k, r in recipes.items()}


def _agree(got, want, op, args, kw, algorithm):
    """Both sides are float64 computations: the sum of their bounds (c = 2 each; torch is a direct sum)."""
    bound = error_bound(op, *args, dtype="float64", c=4.0, algorithm=algorithm, **kw)
    assert_within_bound(got, want, bound, context=f"{op} ({algorithm} reference vs torch)")


@settings(max_examples=60)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular")), dtype="float64"))
def test_conv_matches_torch(drawn):
    case, recipes = drawn
    a = _build(recipes)
    kw = case.kwargs()
    nd = case.ndim
    conv = getattr(F, f"conv{nd}d")
    if isinstance(case.padding_arg, str) and case.padding_mode == "zeros":
        want = conv(_t(a["x"]), _t(a["weight"]), _t(a.get("bias")), kw["stride"], case.padding_arg, kw["dilation"],
                    kw["groups"])
    else:
        mode = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect", "circular": "circular"}
        xp = _torch_padded(a["x"], case.layer.padding, nd, mode[case.padding_mode])
        want = conv(xp, _t(a["weight"]), _t(a.get("bias")), kw["stride"], 0, kw["dilation"], kw["groups"])
    args = (a["x"], a["weight"], a.get("bias"))
    _agree(ref.conv(*args, **kw), want.numpy(), "conv", args, kw, "fft")
    _agree(ref.direct.conv(*args, **kw), want.numpy(), "conv", args, kw, "direct")


@settings(max_examples=60)
@given(S.case_arrays(S.conv_transpose_cases(), dtype="float64"))
def test_conv_transpose_matches_torch(drawn):
    case, recipes = drawn
    a = _build(recipes)
    kw = case.kwargs()
    fn = getattr(F, f"conv_transpose{case.ndim}d")
    want = fn(_t(a["x"]), _t(a["weight"]), _t(a.get("bias")), kw["stride"], kw["padding"], kw["output_padding"],
              kw["groups"], kw["dilation"]).numpy()
    args = (a["x"], a["weight"], a.get("bias"))
    _agree(ref.conv_transpose(*args, **kw), want, "conv_transpose", args, kw, "fft")
    _agree(ref.direct.conv_transpose(*args, **kw), want, "conv_transpose", args, kw, "direct")


@settings(max_examples=50)
@given(S.case_arrays(S.conv_cases(asymmetric_padding=False, bias=False), dtype="float64"))
def test_conv_gradients_match_torch_autograd(drawn):
    case, recipes = drawn
    a = _build(recipes)
    kw = case.kwargs()
    x, w = _t(a["x"]).requires_grad_(), _t(a["weight"]).requires_grad_()
    y = getattr(F, f"conv{case.ndim}d")(x, w, None, kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
    g = np.random.default_rng(0).standard_normal(tuple(y.shape))
    y.backward(_t(g))
    for mod, algorithm in ((ref, "fft"), (ref.direct, "direct")):
        gi_args = (g, a["weight"], a["x"].shape)
        _agree(mod.conv_grad_input(*gi_args, **kw), x.grad.numpy(), "conv_grad_input", gi_args, kw, algorithm)
        gw_args = (a["x"], g, a["weight"].shape)
        _agree(mod.conv_grad_weight(*gw_args, **kw), w.grad.numpy(), "conv_grad_weight", gw_args, kw, algorithm)
    np.testing.assert_allclose(ref.conv_grad_bias(g), g.sum(axis=(0, *range(2, g.ndim))))


@settings(max_examples=80)
@given(S.case_arrays(S.pool_cases("max"), dtype="float64", allow_nan=True))
def test_max_pool_values_indices_and_gradient_match_torch(drawn):
    case, recipes = drawn
    x = recipes["x"].build()
    kw = {**case.kwargs(), "return_indices": True}
    fn = getattr(F, f"max_pool{case.ndim}d")
    xt = _t(x).requires_grad_()
    y, idx = fn(xt, kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"], kw["ceil_mode"], True)
    got_y, got_idx = ref.max_pool(x, **kw)
    np.testing.assert_array_equal(got_y, y.detach().numpy())
    np.testing.assert_array_equal(got_idx, idx.numpy())
    g = np.random.default_rng(1).standard_normal(got_y.shape)
    y.backward(_t(g))
    np.testing.assert_allclose(ref.max_pool_grad(g, got_idx, x.shape), xt.grad.numpy(), rtol=1e-13, atol=1e-13)


def torch_avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """``F.avg_pool{1,2,3}d`` with ``divisor_override`` also in 1-D (through avg_pool2d)."""
    nd = x.ndim - 2
    if nd == 1:
        y = F.avg_pool2d(x.unsqueeze(2), (1, *kernel_size), (1, *(stride or kernel_size)), (0, *padding), ceil_mode,
                         count_include_pad, divisor_override)
        return y.squeeze(2)
    return getattr(F, f"avg_pool{nd}d")(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                        divisor_override)


@settings(max_examples=80)
@given(S.case_arrays(S.pool_cases("avg", input_smaller_than_kernel=False), dtype="float64"))
def test_avg_pool_and_gradient_match_torch(drawn):
    case, recipes = drawn
    x = recipes["x"].build()
    kw = case.kwargs()
    xt = _t(x).requires_grad_()
    y = torch_avg_pool(xt, **kw)
    got = ref.avg_pool(x, **kw)
    _agree(got, y.detach().numpy(), "avg_pool", (x,), kw, "direct")
    g = np.random.default_rng(2).standard_normal(got.shape)
    y.backward(_t(g))
    _agree(ref.avg_pool_grad(g, x.shape, **kw), xt.grad.numpy(), "avg_pool_grad", (g, x.shape), kw, "direct")


@settings(max_examples=60)
@given(S.array_recipes((2, 2, 7, 5), "float64", kinds=S.VALUE_KINDS), S.array_recipes((2,), "float64", ["ties"]))
def test_adaptive_pools_match_torch(recipe, sizes):
    x = recipe.build()
    out = tuple(int(v) + 1 for v in np.random.default_rng(sizes.seed).integers(0, 6, 2))
    _agree(ref.adaptive_avg_pool(x, out), F.adaptive_avg_pool2d(_t(x), out).numpy(), "adaptive_avg_pool", (x,),
           {"output_size": out}, "direct")
    y, idx = ref.adaptive_max_pool(x, out, return_indices=True)
    yt, it = F.adaptive_max_pool2d(_t(x), out, return_indices=True)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(idx, it.numpy())


def test_adaptive_pools_every_small_size_nan_and_upsampling():
    """Audit: every (n, out) pair up to 12 x 14 (out > n included; windows from exact integer bounds), NaN
    and -inf inputs, 2-D / 3-D boxes, against torch; and a huge output size is fast (it looped per window)."""
    rng = np.random.default_rng(5)
    for n in range(1, 13):
        for out in range(1, 15):
            x = rng.integers(0, 3, (2, 2, n)).astype(float)
            x[0, 0, rng.random(n) < 0.3] = np.nan
            x[1, 1] = -np.inf
            np.testing.assert_allclose(ref.adaptive_avg_pool(x, out), F.adaptive_avg_pool1d(_t(x), out).numpy(),
                                       rtol=1e-13, atol=0)
            y, idx = ref.adaptive_max_pool(x, out, return_indices=True)
            yt, it = F.adaptive_max_pool1d(_t(x), out, return_indices=True)
            np.testing.assert_array_equal(y, yt.numpy())
            np.testing.assert_array_equal(idx, it.numpy())
    for shape, out in [((4, 7), (3, 9)), ((3, 4, 5), (2, 7, 3)), ((6, 5, 4), (4, 4, 4))]:
        x = rng.integers(0, 3, (1, 2, *shape)).astype(float)
        x[0, 1][rng.random(shape) < 0.2] = np.nan
        f_avg, f_max = {2: (F.adaptive_avg_pool2d, F.adaptive_max_pool2d),
                        3: (F.adaptive_avg_pool3d, F.adaptive_max_pool3d)}[len(shape)]
        np.testing.assert_allclose(ref.adaptive_avg_pool(x, out), f_avg(_t(x), out).numpy(), rtol=1e-13, atol=0)
        y, idx = ref.adaptive_max_pool(x, out, return_indices=True)
        yt, it = f_max(_t(x), out, return_indices=True)
        np.testing.assert_array_equal(y, yt.numpy())
        np.testing.assert_array_equal(idx, it.numpy())
    np.testing.assert_array_equal(ref.adaptive_avg_pool(np.ones((1, 1, 5)), 200_000), np.ones((1, 1, 200_000)))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_gradients_for_every_padding_mode_and_true_convolution_match_torch(mode):
    """Audit: the gradient oracles took neither padding_mode nor flip_kernel (only zero-padded correlation);
    both FFT and direct now match torch autograd through F.pad for every mode, flipped or not, 1-D to 3-D."""
    rng = np.random.default_rng(11)
    for nd, flip in [(1, False), (1, True), (2, True), (3, False)]:
        n, k = (7, 5, 4)[:nd], (3, 2, 2)[:nd]
        stride, dilation, pads = (2, 1, 1)[:nd], (1, 2, 1)[:nd], ((2, 1), (0, 1), (1, 1))[:nd]
        x, w = rng.standard_normal((2, 4, *n)), rng.standard_normal((6, 2, *k))
        xt, wt = _t(x).requires_grad_(), _t(w).requires_grad_()
        flat = [v for pair in reversed(pads) for v in pair]
        xpad = F.pad(xt, flat, mode="constant" if mode == "zeros" else mode)
        y = getattr(F, f"conv{nd}d")(xpad, wt.flip(list(range(2, 2 + nd))) if flip else wt, None, stride, 0,
                                     dilation, 2)
        g = rng.standard_normal(tuple(y.shape))
        y.backward(_t(g))
        for mod in (ref, ref.direct):
            gx = mod.conv_grad_input(g, w, x.shape, stride, pads, dilation, 2, padding_mode=mode, flip_kernel=flip)
            gw = mod.conv_grad_weight(x, g, w.shape, stride, pads, dilation, 2, padding_mode=mode, flip_kernel=flip)
            np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10, atol=1e-10)
