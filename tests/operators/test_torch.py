"""Cross-checks against PyTorch (optional) on small cases: conv / conv-transpose / avg-pool matrices."""

from __future__ import annotations

import numpy as np
import pytest

from convalg import AdaptiveAvgPool, AvgPool, Conv, ConvTranspose
from convalg.operators import matrix, weight_symbols

from .small_cases import dense

torch = pytest.importorskip("torch")
F = torch.nn.functional
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
PAD_MODE = {"zeros": "constant", "circular": "circular", "reflect": "reflect", "replicate": "replicate"}


def _apply(A, x):
    return (dense(A) @ x.reshape(-1)).reshape(-1)


CONV_CASES = [
    (Conv(3, stride=2, padding=((1, 2),), dilation=2, groups=2, in_channels=4, out_channels=2, ndim=1), (9,)),
    (Conv((3, 2), stride=(1, 2), padding=((1, 1), (0, 1)), padding_mode="circular", in_channels=2, out_channels=3,
          ndim=2), (4, 5)),
    (Conv(3, padding=1, padding_mode="reflect", in_channels=1, out_channels=2, ndim=2), (3, 4)),
    (Conv((2, 3, 2), stride=(1, 1, 2), padding=((1, 0), (1, 1), (0, 1)), padding_mode="replicate", groups=2,
          in_channels=2, out_channels=2, ndim=3), (3, 3, 3)),
    (Conv(3, padding=1, in_channels=1, out_channels=1, flip_kernel=True, ndim=1), (5,)),
]


@pytest.mark.parametrize("layer,spatial", CONV_CASES, ids=repr)
def test_conv_matrix_matches_torch(layer, spatial):
    rng = np.random.default_rng(0)
    w = rng.standard_normal(weight_symbols(layer).shape)
    x = rng.standard_normal((layer.in_channels, *spatial))
    pad = [p for lo_hi in reversed(layer.padding) for p in lo_hi]  # F.pad: last axis first
    xt = F.pad(torch.tensor(x[None]), pad, mode=PAD_MODE[layer.padding_mode])
    wt = torch.tensor(np.flip(w, axis=tuple(range(2, w.ndim))).copy() if layer.flip_kernel else w)
    y = CONV[layer.ndim](xt, wt, stride=layer.stride, dilation=layer.dilation, groups=layer.groups)
    np.testing.assert_allclose(_apply(matrix(layer, spatial, weights=w), x), y.numpy().reshape(-1), atol=1e-12)


@pytest.mark.parametrize("layer,spatial", [
    (ConvTranspose(3, stride=2, padding=1, output_padding=1, groups=2, in_channels=2, out_channels=4, ndim=1), (4,)),
    (ConvTranspose((2, 3), stride=(2, 1), padding=(0, 2), output_padding=(1, 1), dilation=(1, 2), in_channels=1,
                   out_channels=2, ndim=2), (3, 3)),
    (ConvTranspose(2, stride=2, in_channels=1, out_channels=1, ndim=3), (2, 2, 2)),
], ids=repr)
def test_conv_transpose_matrix_matches_torch(layer, spatial):
    rng = np.random.default_rng(1)
    w = rng.standard_normal(weight_symbols(layer).shape)
    x = rng.standard_normal((layer.in_channels, *spatial))
    y = CONVT[layer.ndim](torch.tensor(x[None]), torch.tensor(w), stride=layer.stride,
                          padding=tuple(lo for lo, _ in layer.padding), output_padding=layer.output_padding,
                          groups=layer.groups, dilation=layer.dilation)
    np.testing.assert_allclose(_apply(matrix(layer, spatial, weights=w), x), y.numpy().reshape(-1), atol=1e-12)


@pytest.mark.parametrize("kw,spatial", [
    (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True), (6,)),
    (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (6, 5)),
    (dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), divisor_override=5), (3, 4)),
    (dict(kernel_size=2, stride=1, padding=1, ceil_mode=True, count_include_pad=True), (3, 2, 3)),
], ids=str)
def test_avg_pool_matrix_matches_torch(kw, spatial):
    layer = AvgPool(**kw, ndim=len(spatial))
    x = np.random.default_rng(2).standard_normal((2, *spatial))
    y = AVG[len(spatial)](torch.tensor(x), **kw)
    np.testing.assert_allclose(_apply(matrix(layer, spatial, in_channels=2), x), y.numpy().reshape(-1), atol=1e-12)


def test_adaptive_avg_pool_matrix_matches_torch():
    x = np.random.default_rng(3).standard_normal((2, 7, 5))
    y = F.adaptive_avg_pool2d(torch.tensor(x), (3, 4))
    got = _apply(matrix(AdaptiveAvgPool((3, 4)), (7, 5), in_channels=2), x)
    np.testing.assert_allclose(got, y.numpy().reshape(-1), atol=1e-12)
