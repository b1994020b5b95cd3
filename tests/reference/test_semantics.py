"""Hand-worked cases of the references' semantics (values computed on paper)."""

from __future__ import annotations

import numpy as np
import pytest

import convalg.reference as ref
from convalg import SpecError

D = ref.direct
BOTH = [ref, D]


@pytest.mark.parametrize("mod", BOTH, ids=["fft", "direct"])
def test_strided_dilated_asymmetric_conv_by_hand(mod):
    x = np.arange(1.0, 8.0).reshape(1, 1, 7)  # 1..7
    w = np.array([[[1.0, 10.0]]])
    # pads (2, 0): xpad = 0 0 1 2 3 4 5 6 7; taps at t and t + 2 (dilation 2); stride 3 -> t = 0, 3, 6
    y = mod.conv(x, w, padding=((2, 0),), dilation=2, stride=3)
    np.testing.assert_allclose(y, [[[0 + 10 * 1, 2 + 10 * 4, 5 + 10 * 7]]], atol=1e-12)


@pytest.mark.parametrize("mode,want", [("reflect", [2.0, 1.0, 2.0, 3.0, 2.0]), ("replicate", [1.0, 1.0, 2.0, 3.0, 3.0]),
                                       ("circular", [3.0, 1.0, 2.0, 3.0, 1.0]), ("zeros", [0.0, 1.0, 2.0, 3.0, 0.0])])
@pytest.mark.parametrize("mod", BOTH, ids=["fft", "direct"])
def test_padding_modes_by_hand(mod, mode, want):
    x = np.array([[[1.0, 2.0, 3.0]]])
    pads = ((1, 1),)
    y = mod.conv(x, np.ones((1, 1, 1)), padding=pads, padding_mode=mode)  # 1x1 identity: shows the padded input
    np.testing.assert_allclose(y[0, 0], want, atol=1e-12)


@pytest.mark.parametrize("mod", BOTH, ids=["fft", "direct"])
def test_conv_transpose_output_padding_extends_the_computed_output(mod):
    x = np.array([[[1.0, 2.0]]])
    w = np.array([[[1.0, 1.0, 1.0]]])
    # y[2*o - 1 + k] += x[o]: o=0 -> y[0], y[1]; o=1 -> y[1], y[2], y[3]; output_padding=1 -> size 4
    y = mod.conv_transpose(x, w, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(y, [[[1.0, 3.0, 2.0, 2.0]]], atol=1e-12)


def test_direct_conv_skips_taps_outside_the_input():
    """A tap in the zero padding contributes nothing, even with an infinite weight (not inf * 0 = NaN)."""
    y = D.conv(np.array([[[2.0]]]), np.array([[[np.inf, 1.0, np.inf]]]), padding=1)
    assert y.tolist() == [[[2.0]]]


def test_max_pool_nan_and_ties_by_hand():
    x = np.array([[[3.0, 3.0, np.nan, 1.0, np.nan, 0.0]]])
    y, i = D.max_pool(x, 3, stride=1, return_indices=True)
    assert i.tolist() == [[[2, 2, 4, 4]]]  # a NaN replaces the max; the last NaN of a window wins
    y, i = D.max_pool(np.array([[[3.0, 3.0, 1.0]]]), 2, stride=1, return_indices=True)
    assert i.tolist() == [[[0, 1]]]  # tie: the first maximum


def test_avg_pool_divisors_by_hand():
    x = np.ones((1, 1, 5))
    # k=2, s=2, pad 1, ceil: windows [-1,1) [1,3) [3,5) [5,7) -> dropped? (o-1)*s = 6 >= n + lo = 6: last dropped
    assert D.avg_pool(x, 2, 2, 1, ceil_mode=True).tolist() == [[[0.5, 1.0, 1.0]]]
    assert D.avg_pool(x, 2, 2, 1, ceil_mode=True, count_include_pad=False).tolist() == [[[1.0, 1.0, 1.0]]]
    # k=3, s=2, pad 1, ceil, n=6: windows start -1, 1, 3, 5; the last [5, 8) is clipped to n + pad = 7: divisor 2
    y = D.avg_pool(np.ones((1, 1, 6)), 3, 2, 1, ceil_mode=True)
    np.testing.assert_allclose(y, [[[2 / 3, 1.0, 1.0, 0.5]]])
    assert D.avg_pool(x, 2, 2, 1, divisor_override=4).tolist() == [[[0.25, 0.5, 0.5]]]


def test_bad_arguments_raise_spec_errors():
    x, w = np.ones((1, 2, 5)), np.ones((2, 2, 3))
    with pytest.raises(SpecError, match="spatial dims"):
        ref.conv(np.ones((1, 2, 5, 5)), w)
    with pytest.raises(SpecError, match="bias"):
        D.conv(x, w, np.ones(3))
    with pytest.raises(SpecError, match="reflect"):
        ref.conv(x, w, padding=5, padding_mode="reflect")
    with pytest.raises(SpecError, match="kernel_size // 2"):
        ref.max_pool(x, 2, padding=2)
    with pytest.raises(SpecError, match="grad_out"):
        D.conv_grad_input(np.ones((1, 2, 9)), w, x.shape)
    with pytest.raises(SpecError, match="grad_out"):
        ref.conv_grad_weight(x, np.ones((1, 2, 9)), w.shape)
    with pytest.raises(TypeError, match="real numeric"):
        ref.conv(np.ones((1, 2, 5), dtype=complex), w)


def test_fft_reference_keeps_non_finite_values_local():
    """Audit regression: one inf / NaN in the input made every FFT output NaN (the transform spreads it)."""
    x = np.zeros((1, 1, 6))
    x[0, 0, 0] = np.inf
    w = np.ones((1, 1, 2))
    np.testing.assert_array_equal(ref.conv(x, w), [[[np.inf, 0.0, 0.0, 0.0, 0.0]]])
    x[0, 0, 0] = np.nan
    y = ref.conv(x, w)
    assert np.isnan(y[0, 0, 0]) and np.array_equal(y[0, 0, 1:], np.zeros(4))
    y = ref.conv_transpose(x, w)  # y[i] = x[i] + x[i-1]: the NaN reaches outputs 0 and 1 only
    assert np.isnan(y[0, 0, :2]).all() and np.array_equal(y[0, 0, 2:], np.zeros(5))
    g = ref.conv_grad_input(x[..., :5], w, (1, 1, 6))
    assert np.isnan(g[0, 0, :2]).all() and np.array_equal(g[0, 0, 2:], np.zeros(4))
    gw = ref.conv_grad_weight(np.ones((1, 1, 6)), x[..., :5], (1, 1, 2))
    assert np.isnan(gw).all()  # every tap meets the NaN gradient: not a spread, the true value
    gw = ref.conv_grad_weight(x, np.ones((1, 1, 3)), (1, 1, 4))  # taps k see x[k:k+3]: only tap 0 meets x[0]
    assert np.isnan(gw[0, 0, 0]) and np.array_equal(gw[0, 0, 1:], np.zeros(3))


@pytest.mark.parametrize("call, needle", [
    (lambda: ref.conv_grad_weight(np.ones((1, 2, 5)), np.ones((1, 3, 3)), (3, 2, 10**10)), "larger than the padded"),
    (lambda: ref.conv_grad_weight(np.ones((1, 2, 5)), np.ones((1, 3, 3)), (3, 2, -3)), "weight_shape[2]=-3"),
    (lambda: ref.conv_grad_weight(np.ones((1, 2, 5)), np.ones((1, 3, 3)), (3, 2, 3.5)), "weight_shape[2]=3.5"),
    (lambda: D.conv_grad_weight(np.ones((1, 2, 5)), np.ones((1, 3, 3)), (3, 2, 3.5)), "weight_shape[2]=3.5"),
    (lambda: ref.conv_grad_input(np.ones((1, 3, 3)), np.ones((3, 2, 3)), "abc"), "input_shape='abc'"),
    (lambda: D.conv_grad_input(np.ones((1, 3, 3)), np.ones((3, 2, 3)), (1, 2, 5.0)), "input_shape[2]=5.0"),
    (lambda: ref.max_pool_grad(np.ones((1, 2, 2)), np.full((1, 2, 2), 99), (1, 2, 5)), "indices: values in"),
    (lambda: ref.max_pool_grad(np.ones((1, 2, 2)), np.full((1, 2, 2), 1), "ab"), "input_shape='ab'"),
    (lambda: ref.avg_pool_grad(np.ones((1, 2, 2)), (1, 2, None), 2), "input_shape[2]=None"),
])
def test_bad_shapes_and_indices_raise_spec_error(call, needle):
    """Audit regression: these gave MemoryError / ValueError / IndexError, or truncated 3.5 to 3 silently."""
    with pytest.raises(SpecError) as info:
        call()
    assert needle in str(info.value)


def test_bad_array_contents_raise_type_error():
    with pytest.raises(TypeError, match="real numeric array"):
        ref.conv([[[1.0, 2.0, 3.0], [1.0]]], np.ones((1, 1, 2)))  # ragged
    with pytest.raises(TypeError, match="integer array"):
        ref.max_pool_grad(np.ones((1, 2, 2)), np.full((1, 2, 2), 1.5), (1, 2, 5))
