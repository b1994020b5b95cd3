"""The harness's extra references (conv_transpose gradients, unfold / fold, adaptive-avg gradient) against torch,
and the NaN allowance for non-finite weights."""

from __future__ import annotations

import numpy as np
import pytest

from convalg.reference import direct
from convalg.testing import references as R

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("seed", range(6))
def test_conv_transpose_gradients_match_torch_autograd(seed):
    rng = np.random.default_rng(seed)
    groups, cin_g, cout_g = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    k, s, d = tuple(rng.integers(1, 4, 2)), tuple(rng.integers(1, 4, 2)), tuple(rng.integers(1, 3, 2))
    op = tuple(int(rng.integers(0, max(a, b))) for a, b in zip(s, d))
    p = tuple(int(v) for v in rng.integers(0, 2, 2))
    x = rng.standard_normal((2, groups * cin_g, 5, 4))
    w = rng.standard_normal((groups * cin_g, cout_g, *k))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = F.conv_transpose2d(xt, wt, None, s, p, op, groups, d)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(R.conv_transpose_grad_input(g, w, x.shape, s, p, op, groups, d), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(R.conv_transpose_grad_weight(x, w.shape, g, s, p, op, groups, d), wt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k,d,p,s", [((2, 3), (1, 2), (1, 0), (2, 1)), ((3, 3), (1, 1), (1, 1), (1, 1)),
                                     ((1, 2), (2, 1), (0, 1), (3, 2))])
def test_unfold_fold_and_adaptive_avg_gradient_match_torch(k, d, p, s):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    cols = R.unfold(x, k, d, p, s)
    np.testing.assert_array_equal(cols, F.unfold(torch.tensor(x), k, d, p, s).numpy())
    np.testing.assert_allclose(R.fold(cols, (7, 6), k, d, p, s), F.fold(torch.tensor(cols), (7, 6), k, d, p, s),
                               rtol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    y = F.adaptive_avg_pool2d(xt, (3, 4))
    g = np.random.default_rng(1).standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(R.adaptive_avg_pool_grad(g, x.shape, (3, 4)), xt.grad.numpy(), rtol=1e-12)


def test_nan_is_allowed_only_where_an_infinite_weight_meets_padding():
    x = np.ones((1, 1, 4))
    w = np.array([[[np.inf, 1.0, 1.0]]])
    params = {"stride": (1,), "padding": (1,), "dilation": (1,), "groups": 1}
    mask = R.nan_allowed("conv", x.shape, w, params)
    assert mask.tolist() == [[[True, False, False, False]]]  # only output 0 reads the left padding with w[0]
    stored = F.conv1d(F.pad(torch.tensor(x), (1, 1)), torch.tensor(w)).numpy()  # a kernel that stores the zeros
    assert np.isnan(stored[0, 0, 0]) and not np.isnan(direct.conv(x, w, padding=1)[0, 0, 0])
    assert R.nan_allowed("conv", x.shape, np.ones((1, 1, 3)), params) is None
