"""Max-pool selection masks: one 1 per row at the first maximum (PyTorch CPU scan rule), y = M x,
dL/dx = M^T g, PyTorch-format indices; symbolic Piecewise masks; adaptive max pooling."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from convalg import AdaptiveMaxPool, GlobalMaxPool, MaxPool, SpecError
from convalg.operators import max_pool_mask, max_pool_mask_symbolic, symbol_array

from . import _brute
from .small_cases import dense


@st.composite
def max_cases(draw):
    ndim = draw(st.integers(1, 3))
    ks = [draw(st.integers(1, 3)) for _ in range(ndim)]
    ss = [draw(st.integers(1, 3)) for _ in range(ndim)]
    ds = [draw(st.integers(1, 2)) for _ in range(ndim)]
    pads = [(draw(st.integers(0, k // 2)), draw(st.integers(0, k // 2))) for k in ks]
    lows = [max(1, d * (k - 1) + 1 - lo - hi) for k, d, (lo, hi) in zip(ks, ds, pads)]
    spatial = [draw(st.integers(low, low + (3 if ndim < 3 else 1))) for low in lows]
    layer = MaxPool(tuple(ks), stride=tuple(ss), padding=tuple(pads), dilation=tuple(ds),
                    ceil_mode=draw(st.booleans()), ndim=ndim)
    batch = draw(st.sampled_from([(2,), (1, 2)]))  # unbatched (C,) or batched (N, C)
    return layer, (*batch, *spatial)


@given(max_cases(), st.integers(0, 2**32 - 1))
def test_mask_picks_the_first_maximum_on_ties(case, seed):
    layer, shape = case
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(float)  # few values: many ties
    xb = x if x.ndim == layer.ndim + 2 else x[None]
    want = _brute.max_pool_indices(xb, layer.kernel_size, layer.stride, [tuple(p) for p in layer.padding],
                                   layer.dilation, layer.ceil_mode)
    if (want < 0).any():  # a dilated window that reads only padding: PyTorch gives -inf, no input index
        with pytest.raises(SpecError, match="only padding"):
            max_pool_mask(layer, x)
        return
    sel = max_pool_mask(layer, x)
    M = dense(sel.mask)
    assert np.all(M.sum(axis=1) == 1) and set(np.unique(M)) <= {0.0, 1.0}
    np.testing.assert_array_equal(sel.indices.reshape(want.shape), want)
    np.testing.assert_array_equal(M @ x.reshape(-1), sel.output.reshape(-1))
    g = np.random.default_rng(seed + 1).standard_normal(sel.output.shape)
    np.testing.assert_allclose(sel.grad(g).reshape(-1), M.T @ g.reshape(-1))


def test_all_equal_window_selects_its_first_tap_and_padding_never_wins():
    sel = max_pool_mask(MaxPool(3, stride=1, padding=1, ndim=1), np.array([[-5.0, -5.0, -5.0]]))
    assert sel.indices.tolist() == [[0, 0, 1]]
    sel = max_pool_mask(MaxPool((2, 2), stride=1, ndim=2), np.ones((1, 2, 3)))
    assert sel.indices.tolist() == [[[0, 1]]]


def test_overlapping_windows_add_their_gradients():
    sel = max_pool_mask(MaxPool(3, stride=1, ndim=1), np.array([[0.0, 1.0, 9.0, 1.0, 0.0]]))
    assert sel.indices.tolist() == [[2, 2, 2]]
    assert sel.grad(np.array([[1.0, 2.0, 4.0]])).tolist() == [[0, 0, 7.0, 0, 0]]


def test_nan_wins_and_the_last_nan_in_scan_order_is_taken():
    nan = np.nan
    sel = max_pool_mask(MaxPool(4, ndim=1), np.array([[1.0, nan, 5.0, nan]]))
    assert sel.indices.tolist() == [[3]]
    assert np.isnan(sel.output[0, 0])
    sel = max_pool_mask(MaxPool(3, ndim=1), np.array([[9.0, nan, 1.0]]))
    assert sel.indices.tolist() == [[1]]


def test_symbolic_mask_substituted_equals_numeric_mask():
    layer = MaxPool((2, 2), stride=1, padding=((1, 0), (0, 1)), ndim=2)
    x = symbol_array("x", (1, 2, 3))
    sym = max_pool_mask_symbolic(layer, x)
    assert any(isinstance(v, sp.Piecewise) for v in sym.mask.todok().values())
    rng = np.random.default_rng(3)
    for _ in range(20):
        vals = rng.integers(0, 2, (1, 2, 3))
        subs = {s: int(v) for s, v in zip(x.flat, vals.flat)}
        assert sym.mask.xreplace(subs) == max_pool_mask(layer, vals.astype(float)).mask
    # dispatch: an object array of symbols goes the symbolic way
    assert max_pool_mask(layer, x).mask == sym.mask


@given(st.lists(st.tuples(st.integers(1, 6), st.integers(1, 4)), min_size=1, max_size=2), st.integers(0, 2**32 - 1))
def test_adaptive_max_pool_first_maximum(sizes, seed):
    spatial = tuple(n for n, _ in sizes)
    out = tuple(m for _, m in sizes)
    x = np.random.default_rng(seed).integers(0, 3, (2, *spatial)).astype(float)
    sel = max_pool_mask(AdaptiveMaxPool(out), x)
    M = dense(sel.mask)
    assert np.all(M.sum(axis=1) == 1)
    wins = [_brute.adaptive_windows(n, m) for n, m in zip(spatial, out)]
    for c in range(2):
        for o in np.ndindex(*out):
            region = tuple(slice(*wins[a][o[a]]) for a in range(len(out)))
            block = x[(c, *region)]
            local = np.unravel_index(int(np.argmax(block)), block.shape)  # argmax: first maximum
            want = np.ravel_multi_index(tuple(wins[a][o[a]][0] + local[a] for a in range(len(out))), spatial)
            assert sel.indices[(c, *o)] == want


def test_global_max_pool_mask():
    sel = max_pool_mask(GlobalMaxPool(ndim=2), np.array([[[1.0, 4.0], [4.0, 0.0]]]))
    assert sel.indices.tolist() == [[[1]]] and sel.output.tolist() == [[[4.0]]]


def test_torch_max_pool_indices_and_gradient():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    cases = [
        (MaxPool(2, stride=1, padding=1, ndim=1), (2, 3, 6), F.max_pool1d, dict(kernel_size=2, stride=1, padding=1)),
        (MaxPool((3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), ceil_mode=True, ndim=2), (1, 2, 5, 6),
         F.max_pool2d, dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), ceil_mode=True)),
        (MaxPool(2, stride=1, ndim=3), (1, 1, 3, 3, 3), F.max_pool3d, dict(kernel_size=2, stride=1)),
    ]
    for layer, shape, fn, kw in cases:
        x = rng.integers(0, 3, shape).astype(np.float64)
        sel = max_pool_mask(layer, x)
        xt = torch.tensor(x, requires_grad=True)
        y, idx = fn(xt, return_indices=True, **kw)
        np.testing.assert_array_equal(sel.indices, idx.numpy())
        g = rng.standard_normal(y.shape)
        y.backward(torch.tensor(g))
        np.testing.assert_allclose(sel.grad(g), xt.grad.numpy())
    x = rng.integers(0, 3, (2, 7, 5)).astype(np.float64)
    _, idx = F.adaptive_max_pool2d(torch.tensor(x), (3, 2), return_indices=True)
    np.testing.assert_array_equal(max_pool_mask(AdaptiveMaxPool((3, 2)), x).indices, idx.numpy())
