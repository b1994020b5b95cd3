"""The shared backend layer (``convalg.kernels.base``): both backends satisfy the ops protocol, build their layers
with the one builder, speak one algorithm vocabulary and get the padding-mode gradients from the base class.

The CUDA backend runs on the CPU through the host shim (skipped without ``g++``)."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
import pytest

import convalg.functional as F
from convalg import SpecError
from convalg.kernels import base, cache
from convalg.kernels.cuda import cost as cuda_cost
from convalg.kernels.cuda import ops as cuda_ops
from convalg.kernels.cuda import runtime
from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
from convalg.kernels.cuda.runtime import using_backend
from convalg.kernels.numpy import ops as numpy_ops
from convalg.reference import direct as reference

needs_shim = pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")


@pytest.fixture
def shim():
    with using_backend(HostBackend()) as b:
        yield b


def _protocol_ops():
    return [name for name, v in vars(base.ConvOps).items() if callable(v) and not name.startswith("_")]


def test_the_protocol_lists_the_thirteen_functional_ops():
    assert sorted(_protocol_ops()) == sorted(F.__all__[:13]) and len(_protocol_ops()) == 13


@pytest.mark.parametrize("module", [numpy_ops, cuda_ops], ids=["numpy", "cuda"])
def test_both_backends_satisfy_the_protocol_with_its_signatures(module):
    assert isinstance(module, base.ConvOps)
    for name in _protocol_ops():
        want = list(inspect.signature(getattr(base.ConvOps, name)).parameters)[1:]  # without self
        got = list(inspect.signature(getattr(module, name)).parameters)
        assert got[:len(want)] == want, (module.__name__, name)


def test_the_gradients_of_both_backends_come_from_the_base_class():
    for ops in (numpy_ops, cuda_ops):
        assert isinstance(ops.OPS, base.BackendOps)
        for name in ("conv_grad_input", "conv_grad_weight"):
            assert getattr(ops, name).__func__ is getattr(base.BackendOps, name)


@needs_shim
def test_both_backends_give_the_same_error_for_the_same_bad_call(shim):
    x = np.zeros((1, 2, 5), np.float32)
    bad = [((x, np.zeros((1, 3, 3), np.float32)), {}),                      # channels
           ((x, np.zeros((3, 1, 3), np.float32)), {"groups": 2}),           # output channels vs groups
           ((x, np.zeros((1, 2, 3), np.float32)), {"padding": 5, "padding_mode": "reflect"}),
           ((x, np.zeros((1, 2, 3), np.float32)), {"stride": 0})]
    for args, kw in bad:
        with pytest.raises(SpecError) as numpy_error:
            numpy_ops.conv(*args, **kw)
        with pytest.raises(SpecError) as cuda_error:
            cuda_ops.conv(*args, **kw)
        assert str(cuda_error.value) == str(numpy_error.value), kw
    with pytest.raises(SpecError) as numpy_error:
        numpy_ops.conv_transpose(x, np.zeros((3, 1, 3), np.float32))
    with pytest.raises(SpecError) as cuda_error:
        cuda_ops.conv_transpose(x, np.zeros((3, 1, 3), np.float32))
    assert str(cuda_error.value) == str(numpy_error.value)
    with pytest.raises(SpecError) as functional_error:
        F.conv(x, np.zeros((1, 3, 3), np.float32))
    assert "needs x with 3*groups = 3 channels" in str(functional_error.value)


def test_the_reference_builds_its_layers_with_the_same_builder():
    x = np.zeros((1, 2, 5))
    with pytest.raises(SpecError) as reference_error:
        reference.conv(x, np.zeros((1, 3, 3)))
    with pytest.raises(SpecError) as numpy_error:
        numpy_ops.conv(x, np.zeros((1, 3, 3)))
    assert str(reference_error.value) == str(numpy_error.value)


def test_one_algorithm_vocabulary():
    assert base.ALGORITHMS == ("auto", "direct", "gemm", "fft", "winograd")
    assert numpy_ops.OPS.algorithms == base.ALGORITHMS
    assert set(cuda_ops.ALGORITHMS) == set(base.ALGORITHMS) - {"winograd"}
    x, w = np.zeros((1, 2, 5), np.float32), np.zeros((1, 2, 3), np.float32)
    with pytest.raises(SpecError, match="algorithm='igemm': must be one of 'auto', 'direct', 'gemm'"):
        numpy_ops.conv(x, w, algorithm="igemm")
    with pytest.raises(SpecError, match="algorithm='igemm': must be one of"):
        F.conv_grad_weight(x, np.zeros((1, 1, 3), np.float32), w.shape, algorithm="igemm")


@needs_shim
def test_cuda_says_it_has_no_winograd_and_runs_gemm(shim):
    x = np.random.default_rng(0).standard_normal((1, 2, 7)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 2, 3)).astype(np.float32)
    with pytest.raises(SpecError, match="algorithm='winograd': the cuda backend has no winograd kernels"):
        cuda_ops.conv(x, w, algorithm="winograd")
    with pytest.raises(SpecError, match="the cuda backend has no winograd"):
        cuda_ops.conv_grad_input(np.zeros((1, 3, 5), np.float32), w, x.shape, algorithm="winograd")
    np.testing.assert_allclose(cuda_ops.conv(x, w, algorithm="gemm"), reference.conv(x, w), rtol=1e-5, atol=1e-5)


def test_the_non_finite_rule():
    finite, nan = np.ones(3, np.float32), np.array([1.0, np.nan], np.float32)
    assert [base.finite_algorithm(a, finite, nan) for a in base.ALGORITHMS] == [
        "auto", "direct", "gemm", "gemm", "gemm"]
    assert base.finite_algorithm("fft", finite) == "fft"
    x = np.ones((1, 1, 40), np.float32)
    x[0, 0, 5] = np.inf
    y = numpy_ops.conv(x, np.ones((1, 1, 3), np.float32), algorithm="fft")
    assert np.isinf(y[0, 0, 3:6]).all() and np.isfinite(np.delete(y[0, 0], [3, 4, 5])).all()


def _padded_case(mode, flip):
    rng = np.random.default_rng({"reflect": 1, "replicate": 2, "circular": 3}[mode] + 10 * flip)
    x = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 2)).astype(np.float32)
    kw = dict(stride=(2, 1), padding=((2, 1), (1, 0)), dilation=(1, 2), groups=2, padding_mode=mode,
              flip_kernel=flip)
    gy = rng.standard_normal(reference.conv(x, w, **kw).shape).astype(np.float32)
    return x, w, gy, kw


def _check_padded_gradients(ops, mode, flip, algorithms):
    x, w, gy, kw = _padded_case(mode, flip)
    want_dx = reference.conv_grad_input(gy, w, x.shape, **kw)
    want_dw = reference.conv_grad_weight(x, gy, w.shape, **kw)
    for algorithm in algorithms:
        dx = ops.conv_grad_input(gy, w, x.shape, algorithm=algorithm, **kw)
        dw = ops.conv_grad_weight(x, gy, w.shape, algorithm=algorithm, **kw)
        np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_mode_gradients_through_the_base_numpy(mode, flip):
    _check_padded_gradients(numpy_ops, mode, flip, ("auto", "gemm", "direct"))


@needs_shim
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_padding_mode_gradients_through_the_base_cuda(shim, mode, flip):
    _check_padded_gradients(cuda_ops, mode, flip, ("gemm", "direct"))


def test_one_flop_count_for_both_cost_models():
    from convalg import Conv

    layer = Conv((3, 5), stride=2, padding=1, groups=2, in_channels=4, out_channels=6, ndim=2)
    imap = layer.index_map((20, 17))
    want = base.conv_flops(3, 4, 6, 2, (3, 5), imap.output_shape)
    assert want == 2 * 3 * 6 * 2 * 15 * int(np.prod(imap.output_shape))
    assert cuda_cost.pass_flops(imap, 4, 6, 2, 3) == want


def test_cuda_plans_share_the_byte_bounded_cache(monkeypatch):
    cache.clear()
    layer = cuda_ops.conv_layer((2, 4, 9, 9), (4, 4, 3, 3), False, 1, 1, 1, 1)
    plan = cuda_ops._conv_plan(layer, (9, 9), "fwd", 2, "direct")
    assert plan is cuda_ops._conv_plan(layer, (9, 9), "fwd", 2, "direct")
    assert plan.nbytes > len(plan.kernel.code) and ("cuda_conv_plan", layer, (9, 9), "fwd", 2, "direct") in \
        cache.stats(keys=True)
    monkeypatch.setattr(cache, "BUDGET", plan.nbytes + 100)  # room for this plan only: the next evicts it
    cuda_ops._conv_plan(layer, (9, 9), "bwd_data", 2, "direct")
    assert [k[3] for k in cache.stats(keys=True) if k[0] == "cuda_conv_plan"] == ["bwd_data"]
    cache.clear()


def test_compiled_functions_are_bounded(monkeypatch):
    compiled = []

    class Module:
        def __init__(self, code, options, name_expressions):
            self.code = code

        def get_function(self, name):
            compiled.append(name)
            return ("fn", name)

    monkeypatch.setattr(runtime, "cupy_module", lambda: SimpleNamespace(RawModule=Module))
    monkeypatch.setattr(runtime, "MAX_FUNCTIONS", 3)
    runtime.clear_functions()
    kernels = [SimpleNamespace(name=f"k{i}", code="") for i in range(5)]
    for ks in kernels[:3]:
        runtime.get_function(ks)
    runtime.get_function(kernels[0])  # used again: k1 is now the least recent
    for ks in kernels[3:]:
        runtime.get_function(ks)
    assert list(runtime._FUNCTIONS) == ["k0", "k3", "k4"] and compiled == ["k0", "k1", "k2", "k3", "k4"]
    runtime.clear_functions()
    assert not runtime._FUNCTIONS


def test_a_backend_without_its_zero_padding_gradients_cannot_be_made():
    class Partial(base.BackendOps, name="partial", window_plan=numpy_ops.window_plan):
        pass

    with pytest.raises(TypeError, match="abstract"):
        Partial()
    assert Partial.name == "partial" and Partial.algorithms == base.ALGORITHMS
    with pytest.raises(TypeError, match="unknown BackendOps hooks"):
        class Misspelt(base.BackendOps, grad_input_zero=numpy_ops.window_plan):
            pass
