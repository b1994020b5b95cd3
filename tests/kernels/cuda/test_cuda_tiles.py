"""Every implicit-GEMM tile, every pass, and split-K with 8 and 64 slices, against the references.

The cost model picks these configurations for real workloads (the GPU benchmark cases), never for test-sized
shapes, so they are forced here: on the host shim (skipped without ``g++``) and, marked ``gpu``, on a CUDA
device.  The shape leaves partial tiles on both GEMM sides, several ``BK`` steps, and, with 64 slices, empty
split-K slices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from convalg import Conv
from convalg.errors import SpecError
from convalg.kernels.arrays import cuda_device
from convalg.kernels.cuda import cost, igemm, ops
from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
from convalg.kernels.cuda.runtime import CupyBackend
from convalg.reference import direct as reference
from convalg.testing.tolerance import assert_within_bound, error_bound

LAYER = Conv(3, padding=1, dilation=(1, 2), groups=2, ndim=2)
SPATIAL, C_IN, C_OUT, N = (9, 10), 6, 20, 2
IMAP = LAYER.index_map(SPATIAL)
PARAMS = dict(stride=1, padding=1, dilation=(1, 2), groups=2)
CONFIGS = [(conv_pass, name, 1) for conv_pass in ("fwd", "bwd_data") for name in igemm.TILES]
CONFIGS += [("bwd_weight", name, s) for name in igemm.TILES for s in (8, 64)]


def _kernel(conv_pass, name, splits):
    return igemm.igemm(IMAP, conv_pass, C_IN, C_OUT, 2, conv_pass == "fwd", igemm.TILES[name], splits)


@pytest.fixture(scope="module", params=[
    pytest.param("host-shim", marks=pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")),
    pytest.param("cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(not cuda_device(), reason="no CUDA device")])])
def backend(request):
    if request.param == "cupy":
        return CupyBackend()
    b = HostBackend()
    w_size = C_OUT * (C_IN // 2) * 9
    b.preload([_kernel(*c) for c in CONFIGS] + [igemm.splitk_sum(w_size, s) for s in (8, 64)])  # one g++ call
    return b


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((N, C_IN, *SPATIAL)).astype(np.float32)
    w = rng.standard_normal((C_OUT, C_IN // 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(C_OUT).astype(np.float32)
    dy = rng.standard_normal((N, C_OUT, *IMAP.output_shape)).astype(np.float32)
    return x, w, b, dy


@pytest.mark.parametrize("conv_pass,name,splits", CONFIGS, ids=[f"{k}-{n}-x{s}" for k, n, s in CONFIGS])
def test_tile_and_split(backend, data, conv_pass, name, splits):
    x, w, b, dy = data
    xp = backend.xp
    put = xp.asarray
    get = (lambda a: a) if xp is np else (lambda a: a.get())
    ks = _kernel(conv_pass, name, splits)
    m, _, p = igemm.gemm_sizes(IMAP, conv_pass, C_IN, C_OUT, 2, N)
    tile = igemm.TILES[name]
    assert m % tile.bm and p % tile.bn  # partial tiles on both sides
    zero = xp.zeros(1, np.float32)
    if conv_pass == "fwd":
        y = xp.empty((N, C_OUT, *IMAP.output_shape), np.float32)
        backend.launch(ks, N, put(w), put(x), put(b), y)
        assert_within_bound(get(y), reference.conv(x, w, b, **PARAMS), error_bound("conv", x, w, bias=b, **PARAMS),
                            conv_pass)
    elif conv_pass == "bwd_data":
        dx = xp.empty(x.shape, np.float32)
        backend.launch(ks, N, put(w), put(dy), zero, dx)
        assert_within_bound(get(dx), reference.conv_grad_input(dy, w, x.shape, **PARAMS),
                            error_bound("conv_grad_input", dy, w, x.shape, **PARAMS), conv_pass)
    else:
        part = xp.full((splits, *w.shape), np.nan, np.float32)  # every slice must write its whole partial sum
        backend.launch(ks, N, put(dy), put(x), zero, part)
        dw = xp.empty(w.shape, np.float32)
        backend.launch(igemm.splitk_sum(math.prod(w.shape), splits), 1, part, dw)
        assert_within_bound(get(dw), reference.conv_grad_weight(x, dy, w.shape, **PARAMS),
                            error_bound("conv_grad_weight", x, dy, w.shape, **PARAMS), f"{conv_pass} x{splits}")


def test_forced_gemm_uses_the_cost_models_best_tile_and_split():
    """``algorithm='gemm'`` on a shape where the model prefers ``direct`` still gets the best tile and split-K."""
    layer = Conv(3, padding=1, in_channels=4, out_channels=4, ndim=2)
    imap = layer.index_map((32, 32))
    assert cost.choose(imap, 4, 4, 1, 8, "bwd_weight").algorithm != "gemm"
    best = cost.choose(imap, 4, 4, 1, 8, "bwd_weight", gemm_only=True)
    assert best.algorithm == "gemm" and best.splits > 1
    p = ops._conv_plan(layer, (32, 32), "bwd_weight", 8, "gemm")
    assert p[2].notes == {"tile": best.tile, "splits": best.splits} and p[3] == best.splits


@pytest.mark.parametrize("conv_pass", ["bwd", "gemm", "fwd_data"])
def test_unknown_pass_is_refused(conv_pass):
    with pytest.raises(SpecError, match=f"conv_pass={conv_pass!r}: must be one of 'fwd', 'bwd_data', 'bwd_weight'"):
        igemm.igemm(IMAP, conv_pass, C_IN, C_OUT, 2, False, igemm.TILES["64x64"])
    with pytest.raises(SpecError, match="conv_pass"):
        igemm.gemm_sizes(IMAP, conv_pass, C_IN, C_OUT, 2, N)
