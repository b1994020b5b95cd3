"""The error model neither flakes on correct low-precision results nor hides real bugs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import convalg.reference as ref
from convalg.testing import strategies as S
from convalg.testing.tolerance import (
    UNIT_ROUNDOFF,
    accumulation_length,
    assert_within_bound,
    compare,
    error_bound,
    unit_roundoff,
)

from .kernels import make_im2col_conv


def test_unit_roundoffs():
    assert UNIT_ROUNDOFF["float32"] == np.finfo(np.float32).eps / 2
    assert UNIT_ROUNDOFF["float64"] == np.finfo(np.float64).eps / 2
    assert UNIT_ROUNDOFF["float16"] == np.finfo(np.float16).eps / 2
    assert unit_roundoff("bfloat16") == 2.0**-8 and unit_roundoff("tf32") == 2.0**-11
    with pytest.raises(TypeError, match="no error model"):
        unit_roundoff(np.int32)


def _sequential_conv(x, w, dtype):
    """1-D valid correlation accumulated term by term in ``dtype`` (the worst summation order)."""
    cout, cin, k = w.shape
    out = x.shape[-1] - k + 1
    acc = np.zeros((x.shape[0], cout, out), dtype=dtype)
    for ci in range(cin):
        for t in range(k):
            acc = (acc + (w[None, :, ci, t, None].astype(dtype) * x[:, None, ci, t:t + out].astype(dtype))).astype(dtype)
    return acc


@settings(max_examples=60)
@given(S.case_arrays(S.conv_cases(ndim=1, stride=False, dilation=False, groups=False, bias=False,
                                  same_padding=False, asymmetric_padding=False, max_channels=6, max_kernel=5),
                     "float16", kinds=("normal", "uniform", "wide")))
def test_float16_sequential_accumulation_stays_within_the_strict_bound(drawn):
    case, recipes = drawn
    x, w = recipes["x"].build(), recipes["weight"].build()
    x = np.pad(x, [(0, 0), (0, 0), case.layer.padding[0]])
    got = _sequential_conv(x, w, np.float16)
    assert np.isfinite(got).all()
    expected = ref.direct.conv(x, w)
    assert_within_bound(got, expected, error_bound("conv", x, w, dtype="float16"))


@settings(max_examples=60)
@given(S.case_arrays(S.conv_cases(max_channels=4), "float32", kinds=("normal", "wide", "uniform")))
def test_float32_im2col_within_strict_and_typical_bounds(drawn):
    case, recipes = drawn
    a = {k: r.build() for k, r in recipes.items()}
    kw = case.kwargs()
    got = make_im2col_conv()(a["x"], a["weight"], a.get("bias"), kw["stride"], kw["padding"], kw["dilation"],
                             kw["groups"])
    expected = ref.direct.conv(a["x"], a["weight"], a.get("bias"), **kw)
    args = (a["x"], a["weight"], a.get("bias"))
    assert_within_bound(got, expected, error_bound("conv", *args, dtype="float32", **kw))
    assert_within_bound(got, expected, error_bound("conv", *args, dtype="float32", growth="sqrt", **kw))


@settings(max_examples=40)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros",), same_padding=False), "float32",
                     kinds=("normal", "wide")))
def test_a_small_weight_slip_is_caught_exactly_where_it_matters(drawn):
    """One weight scaled by (1 + 2**-12): below the tf32 bound, above the float32 one where it contributes."""
    case, recipes = drawn
    a = {k: r.build() for k, r in recipes.items()}
    kw = case.kwargs()
    w_bad = a["weight"].copy()
    w_bad.reshape(-1)[0] *= np.float32(1 + 2.0**-12)
    got = ref.direct.conv(a["x"], w_bad, a.get("bias"), **kw).astype(np.float32)
    expected = ref.direct.conv(a["x"], a["weight"], a.get("bias"), **kw)
    bound = error_bound("conv", a["x"], a["weight"], a.get("bias"), dtype="float32", **kw)
    # never a false alarm under the tf32 model
    tf32 = error_bound("conv", a["x"], a["weight"], a.get("bias"), dtype="tf32", **kw)
    assert compare(got, expected, tf32).ok
    # the float32 model flags it exactly where its effect is above the bound (beyond the output rounding)
    effect = np.abs(ref.direct.conv(a["x"], w_bad.astype(np.float64) - a["weight"], **kw))
    rounding = 2.0**-24 * np.abs(expected)
    verdict = compare(got, expected, bound).ok
    if (effect - rounding > bound).any():
        assert not verdict
    elif (effect + rounding <= bound).all():
        assert verdict


def test_compare_handles_nan_inf_and_shapes():
    nan, inf = np.nan, np.inf
    assert compare(np.array([nan, inf, 1.0]), np.array([nan, inf, 1.0]), np.zeros(3)).ok
    assert not compare(np.array([1.0, inf]), np.array([nan, inf]), np.ones(2)).ok
    assert not compare(np.array([-inf]), np.array([inf]), np.array([inf])).ok
    assert compare(np.ones(2), np.ones(3), 1.0).shape_error.startswith("shape mismatch")
    with pytest.raises(AssertionError, match=r"worst element at index \(1,\)"):
        assert_within_bound(np.array([1.0, 2.0]), np.array([1.0, 3.0]), np.array([0.5, 0.5]))


def test_bounds_for_every_op_have_the_output_shape():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 2, 3, 2))
    g = ref.conv(x, w, groups=2)
    assert error_bound("conv", x, w, groups=2).shape == g.shape
    assert error_bound("conv_grad_input", g, w, x.shape, groups=2).shape == x.shape
    assert error_bound("conv_grad_weight", x, g, w.shape, groups=2).shape == w.shape
    assert error_bound("conv_transpose", g, w, groups=2).shape == ref.conv_transpose(g, w, groups=2).shape
    assert error_bound("avg_pool", x, 2, ceil_mode=True).shape == ref.avg_pool(x, 2, ceil_mode=True).shape
    assert (error_bound("max_pool", x, 2) == 0).all()
    assert accumulation_length("conv_grad_weight", x, g, w.shape) == 2 * 4 * 4
    with pytest.raises(ValueError, match="growth"):
        error_bound("conv", x, w, groups=2, growth="linear")


def test_bad_op_and_safety_factor_are_value_errors() -> None:
    """Audit regression: an unknown op raised AttributeError, and c <= 0 gave negative bounds."""
    x, w = np.ones((1, 1, 5)), np.ones((1, 1, 3))
    with pytest.raises(ValueError, match="op='nope'"):
        error_bound("nope", x, w)
    for c in (-1.0, 0.0, float("nan")):
        with pytest.raises(ValueError, match="safety factor"):
            error_bound("conv", x, w, c=c)
    assert not compare(np.ones((1, 1, 3)) + 0j, np.ones((1, 1, 3)), np.zeros((1, 1, 3))).ok
