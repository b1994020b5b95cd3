"""The public strategies draw jointly valid problems and honour their switches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from convalg import AvgPool, Conv, ConvTranspose, MaxPool
from convalg.testing import strategies as S


@settings(max_examples=80)
@given(S.case_arrays(S.conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular"), flip_kernel=True)))
def test_conv_cases_are_jointly_valid(drawn):
    case, recipes = drawn
    L = case.layer
    assert isinstance(L, Conv) and L.ndim == case.ndim and 1 <= case.ndim <= 3
    assert case.channels % L.groups == 0 and L.out_channels % L.groups == 0
    assert all(n >= 1 for n in case.output_shape)  # the kernel fits the padded input
    assert recipes["x"].shape == case.input_shape and recipes["weight"].shape == L.weight_shape
    assert ("bias" in recipes) == L.bias
    for (lo, hi), n in zip(L.padding, case.spatial):
        if case.padding_mode == "reflect":
            assert lo < n and hi < n
        if case.padding_mode == "circular":
            assert lo <= n and hi <= n
    if case.padding_arg == "same":
        assert L.stride == (1,) * case.ndim


@settings(max_examples=80)
@given(S.conv_transpose_cases())
def test_conv_transpose_cases_are_jointly_valid(case):
    L = case.layer
    assert isinstance(L, ConvTranspose)
    assert all(op < s or op < d for op, s, d in zip(L.output_padding, L.stride, L.dilation))
    assert all(n >= 1 for n in case.output_shape) and not isinstance(case.padding_arg, str)


@settings(max_examples=80)
@given(S.pool_cases("max"), S.pool_cases("avg", input_smaller_than_kernel=False))
def test_pool_cases_are_jointly_valid(max_case, avg_case):
    from convalg.reference.pooling import axis_taps

    for case, cls in ((max_case, MaxPool), (avg_case, AvgPool)):
        L = case.layer
        assert isinstance(L, cls)
        assert all(max(lo, hi) <= k // 2 for (lo, hi), k in zip(L.padding, L.kernel_size))
        for a in L.index_map(case.spatial).axes:  # every window reads an input element
            assert np.logical_or.reduce([v for _, v in axis_taps(a)]).all()
    assert all(n >= k for n, k in zip(avg_case.spatial, avg_case.layer.kernel_size))


@settings(max_examples=40)
@given(S.conv_cases(ndim=2, dilation=False, groups=False, stride=False, asymmetric_padding=False,
                    same_padding=False, bias=False, max_kernel=2))
def test_switches_restrict_the_draws(case):
    L = case.layer
    assert L.ndim == 2 and L.dilation == (1, 1) and L.groups == 1 and L.stride == (1, 1) and not L.bias
    assert max(L.kernel_size) <= 2 and case.padding_arg != "same"
    assert not any(isinstance(p, tuple) for p in case.padding_arg if case.padding_arg != "valid")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("kind", S.VALUE_KINDS)
def test_make_array_kinds_and_dtypes(kind, dtype):
    a = S.make_array((3, 4, 5), dtype, kind, seed=3)
    assert a.dtype == np.dtype("float32" if dtype == "bfloat16" else dtype)
    assert np.isfinite(a).all()
    assert np.array_equal(a, S.make_array((3, 4, 5), dtype, kind, seed=3))  # rebuildable
    if dtype == "bfloat16":
        assert (a.view(np.uint32) & 0xFFFF == 0).all()
    if kind == "ties":
        assert len(np.unique(a)) <= 4
    if kind == "wide" and dtype in ("float32", "float64"):
        mags = np.abs(a[a != 0])
        assert mags.max() / mags.min() > 1e6


@settings(max_examples=30)
@given(S.array_recipes((4, 5), allow_nan=True, allow_infinity=True), S.array_recipes((4, 5)))
def test_nan_and_inf_only_when_asked(special, plain):
    assert np.isfinite(plain.build()).all()
    built = special.build()
    assert np.isnan(built).sum() == special.nan and np.isinf(built).sum() == special.inf
