"""The FFT passes (run here on NumPy arrays) where every output reads padding only: the slab lies wholly in the
padding, so the output, the input gradient and the weight gradient are all zero (the frame's crop is empty)."""

from __future__ import annotations

import numpy as np
import pytest

from convalg import Conv
from convalg.index_map import slab_geometry
from convalg.kernels.cuda import fft

# (layer, input spatial): the only window lies left of the input (pads before it are at least the dilated
# kernel): 1-D, dilated, and 2-D with the other axis ordinary
CASES = [
    (Conv(2, stride=5, padding=((3, 0),), ndim=1), (3,)),
    (Conv(2, stride=9, dilation=2, padding=((5, 0),), ndim=1), (4,)),
    (Conv((2, 3), stride=(7, 1), padding=((4, 0), (1, 1)), ndim=2), (3, 4)),
]


@pytest.mark.parametrize("layer, spatial", CASES, ids=[str(s) for _, s in CASES])
def test_all_padding_slab(layer, spatial):
    m = layer.index_map(spatial)
    assert any(s.crop[0] == s.crop[1] for s in slab_geometry(m))  # the case really is degenerate on some axis
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, *spatial))
    w = rng.standard_normal((3, 2, *layer.kernel_size))
    y = fft.fft_conv(np, x, w, None, m, 1)
    assert y.shape == (2, 3, *m.output_shape)
    np.testing.assert_allclose(y, 0.0, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(fft.fft_conv_grad_input(np, dy, w, m, 1, x.shape), 0.0, atol=1e-12)
    np.testing.assert_allclose(fft.fft_conv_grad_weight(np, x, dy, m, 1, w.shape), 0.0, atol=1e-12)
