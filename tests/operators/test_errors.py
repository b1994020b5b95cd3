"""Bad input gives a SpecError naming the parameter, value and rule."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from convalg import AvgPool, Conv, ConvTranspose, MaxPool, Sequential, SpecError
from convalg.operators import Budget, affine, kronecker_terms, matrix, max_pool_mask, weight_symbols

H = sp.Symbol("H", integer=True, positive=True)


def test_too_large_suggests_the_index_map():
    layer = Conv(3, padding=1, in_channels=64, out_channels=64, ndim=2)
    with pytest.raises(SpecError, match=r"exceeds the budget.*index_map"):
        matrix(layer, (64, 64))
    with pytest.raises(SpecError, match="max_nnz=10"):
        matrix(Conv(3, in_channels=1, out_channels=1, ndim=1), (8,), budget=Budget(max_nnz=10))
    with pytest.raises(SpecError, match="exceeds the budget"):
        matrix(AvgPool(2, ndim=2), (4096, 4096))
    with pytest.raises(SpecError, match="exceeds the budget"):
        kronecker_terms(layer, (64, 64))


def test_symbolic_sizes_need_the_index_map_form():
    with pytest.raises(SpecError, match=r"input\[0\]=H: .*concrete sizes.*index_map"):
        matrix(Conv(3, in_channels=1, out_channels=1, ndim=2), (H, 4))
    assert Conv(3, in_channels=1, out_channels=1, ndim=2).index_map((H, 4)).kind == "conv"


def test_channels_missing_or_not_divisible():
    with pytest.raises(SpecError, match="in_channels: missing"):
        matrix(Conv(3, out_channels=2, ndim=1), (4,))
    with pytest.raises(SpecError, match="out_channels: missing"):
        matrix(Conv(3, in_channels=2, ndim=1), (4,))
    with pytest.raises(SpecError, match=r"in_channels=3: must be divisible by groups=2"):
        matrix(Conv(3, groups=2, out_channels=2, ndim=1), (4,), in_channels=3)
    with pytest.raises(SpecError, match="the layer has in_channels=2"):
        matrix(Conv(3, in_channels=2, out_channels=2, ndim=1), (4,), in_channels=4)
    with pytest.raises(SpecError, match="in_channels=0"):
        matrix(Conv(3, out_channels=2, ndim=1), (4,), in_channels=0)
    with pytest.raises(SpecError, match="weight_shape needs"):
        weight_symbols(ConvTranspose(2, in_channels=2, ndim=1))
    # the argument fills in the layer's channel count
    assert matrix(Conv(3, out_channels=2, ndim=1), (4,), in_channels=1).shape == (4, 4)


def test_other_bad_arguments():
    layer = Conv(3, in_channels=1, out_channels=1, ndim=1)
    with pytest.raises(SpecError, match=r"weights: shape \(3,\) does not match"):
        matrix(layer, (4,), weights=np.ones(3))
    with pytest.raises(SpecError, match="bias: shape"):
        affine(layer, (4,), bias=[1, 2])
    with pytest.raises(SpecError, match="bias=False"):
        affine(layer.replace(bias=False), (4,), bias=[1])
    with pytest.raises(SpecError, match="not linear.*max_pool_mask"):
        matrix(MaxPool(2, ndim=1), (4,))
    with pytest.raises(SpecError, match="Sequential"):
        matrix(Sequential(layer, layer), (6,))
    with pytest.raises(SpecError, match="has no weights"):
        matrix(AvgPool(2, ndim=1), (4,), weights=[1])
    with pytest.raises(SpecError, match=r"x: shape"):
        max_pool_mask(MaxPool(2, ndim=2), np.ones(4))
    with pytest.raises(SpecError, match="spatial sizes"):
        matrix(layer, (4, 4))


def test_huge_weights_and_symbolic_masks_are_refused_fast():
    """Audit regression: weight_symbols of a 1e5-channel conv raised MemoryError (after a long allocation), and a
    symbolic 20x20 max-pool mask with a 5x5 window ran ~100 s inside the budget."""
    import time

    from convalg.operators import max_pool_mask_symbolic, symbol_array

    start = time.monotonic()
    with pytest.raises(SpecError, match=r"w: 30000000000 symbols .* exceed the budget"):
        weight_symbols(Conv(3, in_channels=10**5, out_channels=10**5, ndim=1))
    with pytest.raises(SpecError, match="exceed the budget"):
        _ = Conv(3, in_channels=10**9, out_channels=10**9, ndim=2).weight_symbols
    x = symbol_array("x", (1, 20, 20))
    with pytest.raises(SpecError, match=r"symbolic MaxPool mask \(153600 comparisons"):
        max_pool_mask_symbolic(MaxPool(5, stride=1, ndim=2), x)
    with pytest.raises(SpecError, match="exceeds the budget"):
        max_pool_mask(MaxPool(5, stride=1, ndim=2), x)
    assert time.monotonic() - start < 5
    small = max_pool_mask_symbolic(MaxPool(2, ndim=1), symbol_array("x", (1, 4)))  # still fine when small
    assert small.mask.shape == (2, 4)


@pytest.mark.parametrize("x", [np.array([["a", "b"]]), np.array([[1j, 2.0]]), np.array([[sp.I, 1]], dtype=object)])
def test_max_pool_mask_rejects_non_real_input(x):
    """Audit regression: strings gave a bare ValueError and complex input dropped the imaginary part silently."""
    with pytest.raises(TypeError):
        max_pool_mask(MaxPool(2, ndim=1), x)


@pytest.mark.parametrize("bad", [3, None, "conv", object()])
def test_index_map_of_a_non_layer_is_a_spec_error(bad):
    """Audit regression: ``index_map(3, (4,))`` raised AttributeError."""
    from convalg.index_map import index_map

    with pytest.raises(SpecError, match="must be a convalg layer"):
        index_map(bad, (4,))


def test_adaptive_axis_bounds_are_exact_and_fast():
    """Audit regression: ``AdaptiveAxisMap.max_window`` substituted each output into SymPy (``F.adaptive_avg_pool``
    to 100000 outputs took ~50 s); ``bounds()`` evaluates the window expressions in exact integer arithmetic."""
    import time

    from convalg.index_map import AdaptiveAxisMap

    for n in range(1, 13):
        for m in range(1, 15):
            amap = AdaptiveAxisMap(n, m)
            start, stop = amap.bounds()
            assert start.tolist() == [o * n // m for o in range(m)]
            assert stop.tolist() == [-(-(o + 1) * n // m) for o in range(m)]
            assert amap.max_window == max(stop - start)
    begin = time.monotonic()
    assert AdaptiveAxisMap(5, 200_000).max_window == 1 and AdaptiveAxisMap(7, 200_001).max_window == 2
    assert time.monotonic() - begin < 2
    with pytest.raises(SpecError, match="concrete sizes"):
        AdaptiveAxisMap(H, 3).bounds()
