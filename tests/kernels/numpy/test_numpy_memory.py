"""Memory is part of correctness: peak memory per call, caches bounded by bytes, RSS over many shapes."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import convalg.functional as F
from convalg.kernels import cache, clear_caches

MIB = 1 << 20
ROOT = Path(__file__).resolve().parents[3]


def _peak(fn):
    clear_caches()  # a first call: plans, tables and scratch buffers are all allocated inside the measurement
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, out


def _nbytes(*arrays):
    total = 0
    for a in arrays:
        if isinstance(a, tuple):
            total += _nbytes(*a)
        elif isinstance(a, np.ndarray):
            total += a.nbytes
    return total


def _check(fn, *inputs):
    peak, out = _peak(fn)
    io = _nbytes(*inputs, out)
    assert peak <= 4 * io + 32 * MIB, f"peak {peak / MIB:.1f} MiB > 4 x {io / MIB:.1f} MiB + 32 MiB"
    return peak / io


rng = np.random.default_rng(0)
X1 = rng.standard_normal((1, 1, 512, 512)).astype(np.float32)
W31 = rng.standard_normal((1, 1, 31, 31)).astype(np.float32)
X16 = rng.standard_normal((2, 16, 96, 96)).astype(np.float32)
W3 = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
G16 = rng.standard_normal((2, 16, 96, 96)).astype(np.float32)


@pytest.mark.parametrize("algorithm", ("auto", "gemm", "fft", "winograd", "direct"))
def test_conv_and_gradients_peak(algorithm):
    _check(lambda: F.conv(X16, W3, padding=1, algorithm=algorithm), X16, W3)
    _check(lambda: F.conv_grad_input(G16, W3, X16.shape, padding=1, algorithm=algorithm), G16, W3)
    _check(lambda: F.conv_grad_weight(X16, G16, W3.shape, padding=1, algorithm=algorithm), X16, G16)
    if algorithm != "winograd":
        _check(lambda: F.conv_transpose(X16, W3, stride=2, padding=1, algorithm=algorithm), X16, W3)


def test_large_kernel_single_channel_peak():
    _check(lambda: F.conv(X1, W31, padding=15), X1, W31)
    w = W31.copy()
    w[0, 0, 3, 3] = np.nan  # the scatter form, a chunk of taps at a time
    _check(lambda: F.conv_grad_input(X1, w, X1.shape, padding=15), X1, w)


def test_pooling_peak():
    x = rng.standard_normal((1, 8, 256, 256)).astype(np.float32)
    _check(lambda: F.max_pool(x, 3, 1, 1, return_indices=True), x)
    y, idx = F.max_pool(x, 3, 2, 1, return_indices=True)
    _check(lambda: F.max_pool_grad(y, idx, x.shape), y, idx)
    _check(lambda: F.avg_pool(x, 31, 1, 15), x)
    _check(lambda: F.avg_pool_grad(x, x.shape, 31, 1, 15), x)
    _check(lambda: F.adaptive_avg_pool(x, 7), x)
    _check(lambda: F.adaptive_max_pool(x, 7, return_indices=True), x)


def test_cache_is_bounded_by_bytes_and_clearable():
    clear_caches()
    for n in range(40, 90):
        F.conv(np.ones((1, 1, n, n), np.float32), np.ones((1, 1, 5, 5), np.float32), padding=2)
        F.max_pool(np.ones((1, 1, n, n), np.float32), 3, 1, 1)
    stats = cache.stats()
    assert 0 < stats["bytes"] <= cache.BUDGET and stats["entries"] >= 100
    clear_caches()
    assert cache.stats() == {"entries": 0, "bytes": 0, "budget": cache.BUDGET}


_RSS_SCRIPT = """
import json, resource, numpy as np
import convalg.functional as F
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20
F.conv(np.ones((1, 1, 64, 64), np.float32), np.ones((1, 1, 3, 3), np.float32), padding=1)
F.max_pool(np.ones((1, 1, 64, 64), np.float32), 3, 1, 1)
start = rss()
rng = np.random.default_rng(0)
for i in range(50):
    n = 200 + 7 * i
    x = rng.standard_normal((1, 1, n, n + 3)).astype(np.float32)
    F.conv(x, rng.standard_normal((1, 1, 31, 31)).astype(np.float32), padding=15)
    F.avg_pool(x, 31, 1, 15)
    F.max_pool(x, 3, 1, 1, return_indices=True)
print(json.dumps({"start": start, "end": rss(), "max": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

#: RSS growth allowed over 50 shapes (the largest call's arrays are ~3 MiB; plans are KiB).
RSS_GROWTH_MIB = 150


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_rss_stays_bounded_over_50_shapes():
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT], capture_output=True, text=True, env=env, timeout=300,
                          cwd=str(ROOT),
                          check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["end"] - r["start"] <= RSS_GROWTH_MIB, r


def test_cost_model_does_not_choose_an_algorithm_past_the_memory_bound():
    import math

    import convalg
    from convalg.kernels.numpy import cost
    from convalg.kernels.numpy.plan import window_plan

    plan = window_plan(convalg.Conv(31, stride=2, padding=15, ndim=2), (256, 256))
    est = cost.estimate(plan, 1, 64, 64, 1, "float32")
    assert min(est, key=est.__getitem__) == "fft"  # fastest by time alone: its kernel spectrum is 1.3 GB
    io = 4 * (64 * 256 * 256 + 64 * math.prod(plan.output_shape) + 64 * 64 * 31 * 31)
    peak = cost.peak_bytes(plan, 1, 64, 64, 1, "float32")
    chosen = cost.choose(plan, 1, 64, 64, 1, "float32")
    assert chosen != "fft" and peak[chosen] <= cost.MEMORY_FACTOR * io + cost.MEMORY_SLACK
