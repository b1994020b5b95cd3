"""Global stores of the generated kernels coalesce: the host shim traces every store through an output pointer,
and for each warp's k-th store (one store instruction) the useful bytes over the 32-byte sectors touched must be
high.  Skipped without ``g++``.
"""

from __future__ import annotations

import numpy as np
import pytest

from convalg import Conv
from convalg.kernels.cuda import direct, igemm
from convalg.kernels.cuda.hostshim import HostModule, host_compiler

pytestmark = pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")


def store_efficiency(stores: np.ndarray, warp: int = 32, sector_bytes: int = 32, item: int = 4) -> float:
    """Bytes stored / bytes of the sectors touched, over all (warp, k-th store of each thread) groups."""
    thread, index = stores[:, 0], stores[:, 1]
    order = np.argsort(thread, kind="stable")  # each thread's stores stay in program order
    thread, index = thread[order], index[order]
    first = np.r_[0, np.flatnonzero(np.diff(thread)) + 1]
    k = np.arange(len(thread)) - np.repeat(first, np.diff(np.r_[first, len(thread)]))
    groups = (thread // warp) * (k.max() + 1) + k
    sectors = np.unique(np.stack([groups, index * item // sector_bytes]), axis=1).shape[1]
    return len(index) * item / (sectors * sector_bytes)


LAYER = Conv(3, padding=1, ndim=2)
IMAP = LAYER.index_map((6, 70))


def _run(ks, *arrays):
    mod = HostModule([ks], trace=True)
    mod.launch(ks, 2, *arrays)
    return mod.stores()


def test_direct_conv_stores_coalesce():
    ks = direct.direct_conv(IMAP, 3, 4, 1, has_bias=False)
    x, w = np.ones((2, 3, 6, 70), np.float32), np.ones((4, 3, 3, 3), np.float32)
    y = np.zeros((2, 4, 6, 70), np.float32)
    stores = _run(ks, x, w, np.zeros(1, np.float32), y)
    assert sorted(stores[:, 1]) == list(range(y.size))  # every output once
    assert store_efficiency(stores) > 0.6


@pytest.mark.parametrize("name", list(igemm.TILES))
@pytest.mark.parametrize("conv_pass", ["fwd", "bwd_data"])
def test_igemm_epilogue_stores_coalesce(name, conv_pass):
    ks = igemm.igemm(IMAP, conv_pass, 3, 4, 1, False, igemm.TILES[name])
    x, w, dy = np.ones((2, 3, 6, 70), np.float32), np.ones((4, 3, 3, 3), np.float32), np.ones((2, 4, 6, 70), np.float32)
    out = np.zeros(x.shape if conv_pass == "bwd_data" else dy.shape, np.float32)
    stores = _run(ks, w, x if conv_pass == "fwd" else dy, np.zeros(1, np.float32), out)
    assert sorted(stores[:, 1]) == list(range(out.size))
    assert store_efficiency(stores) > 0.6


def test_store_efficiency_of_known_patterns():
    t = np.arange(64)
    assert store_efficiency(np.stack([t, t], 1)) == 1.0  # consecutive
    strided = np.stack([np.repeat(t, 4), (t[:, None] * 4 + np.arange(4)).ravel()], 1)  # 4 consecutive per thread
    assert store_efficiency(strided) == 0.25
