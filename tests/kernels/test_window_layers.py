"""The pooling and unfold / fold layers of both backends come from the one builder in ``convalg.kernels.base``
(cached on the frozen arguments); the CUDA backend runs on the CPU through the host shim (skipped without ``g++``)."""

from __future__ import annotations

import numpy as np
import pytest

from convalg import AdaptiveMaxPool, AvgPool, Conv, MaxPool, SpecError
from convalg.kernels import base, cache
from convalg.kernels.cuda import ops as cuda_ops
from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
from convalg.kernels.cuda.runtime import using_backend
from convalg.kernels.numpy import ops as numpy_ops

needs_shim = pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")
BUILDERS = ("max_pool_layer", "avg_pool_layer", "adaptive_pool_layer", "window_layer")


def _run_pool_ops(ops, x):
    """Every pooling / window op of ``ops`` once; returns their outputs."""
    y, idx = ops.max_pool(x, 3, 2, 1, return_indices=True)
    out = [y, idx, ops.avg_pool(x, 2, padding=1, count_include_pad=False),
           ops.avg_pool_grad(np.ones((1, 2, 5, 4), np.float32), x.shape, 2, padding=1, count_include_pad=False),
           ops.adaptive_max_pool(x, (3, None)), ops.adaptive_avg_pool(x, 2)]
    cols = ops.unfold(x, (2, 3), padding=1)
    return [*out, cols, ops.fold(cols, x.shape[2:], (2, 3), padding=1)]


@needs_shim
def test_both_backends_take_their_pool_and_window_layers_from_the_one_builder(monkeypatch):
    calls: list[str] = []
    for name in BUILDERS:
        real = getattr(base, name)
        monkeypatch.setattr(base, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    x = np.random.default_rng(0).standard_normal((1, 2, 8, 7)).astype(np.float32)
    want = _run_pool_ops(numpy_ops, x)
    assert set(calls) == set(BUILDERS)
    calls.clear()
    with using_backend(HostBackend()):
        got = _run_pool_ops(cuda_ops, x)
        with_geometry = cuda_ops.max_pool_grad(np.ones_like(want[0]), want[1], x.shape, 3, 2, 1)
    assert set(calls) == set(BUILDERS)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(with_geometry, numpy_ops.max_pool_grad(np.ones_like(want[0]), want[1], x.shape))


def test_the_layers_are_cached_on_frozen_arguments():
    cache.clear()
    layer = base.max_pool_layer(2, [3, 3], np.int64(2), 1)
    assert layer == MaxPool(3, 2, 1, ndim=2) and layer is base.max_pool_layer(2, (3, 3), 2, np.int8(1))
    assert base.avg_pool_layer(1, [2], divisor_override=np.int32(3)) is base.avg_pool_layer(1, (2,), None, 0, False,
                                                                                             True, 3)
    assert base.avg_pool_layer(1, 2) == AvgPool(2, ndim=1)
    assert base.adaptive_pool_layer("adaptive_max_pool", 2, [4, None]) is \
        base.adaptive_pool_layer("adaptive_max_pool", 2, (4, None)) == AdaptiveMaxPool((4, None), ndim=2)
    assert base.window_layer(2, 3, 2, 1, 1) == Conv(3, padding=1, dilation=2, bias=False, ndim=2)
    tables = {k[0] for k in cache.stats(keys=True)}
    assert {"max_pool_layer", "avg_pool_layer", "adaptive_pool_layer", "window_layer"} <= tables
    with pytest.raises(SpecError, match=r"stride=2.0: must be an integer"):
        base.max_pool_layer(2, 3, 2.0)
    with pytest.raises(SpecError, match=r"kernel_size\[1\]=True: must be an integer, not a bool"):
        base.window_layer(2, (3, True))
    with pytest.raises(SpecError, match="kind='max_pool': must be one of 'adaptive_avg_pool', 'adaptive_max_pool'"):
        base.adaptive_pool_layer("max_pool", 2, 3)
    cache.clear()


@needs_shim
def test_both_backends_give_the_same_error_for_the_same_bad_pool_call():
    x = np.zeros((1, 2, 6, 6), np.float32)
    bad = [("max_pool", (x, 3), {"padding": 2}), ("max_pool", (x, 0), {}), ("avg_pool", (x, 2), {"padding": 2}),
           ("avg_pool", (x, (2, 2, 2)), {}), ("unfold", (x, 2), {"stride": 0})]
    for op, args, kw in bad:
        with pytest.raises(SpecError) as numpy_error:
            getattr(numpy_ops, op)(*args, **kw)
        with using_backend(HostBackend()), pytest.raises(SpecError) as cuda_error:
            getattr(cuda_ops, op)(*args, **kw)
        assert str(cuda_error.value) == str(numpy_error.value), (op, kw)
