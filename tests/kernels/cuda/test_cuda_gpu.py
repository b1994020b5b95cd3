"""Property tests of the CUDA ops against the float64 references, on two backends.

* ``cupy`` (marked ``gpu``): the real thing; skipped without CuPy and a CUDA device.
  ``gpu/run.py`` runs these with ``-m gpu``.
* ``host-shim``: the same generated source compiled for the CPU (few examples:
  every example compiles new kernels with g++).

Cases come from :mod:`convalg.testing.strategies`; tolerances from
:mod:`convalg.testing.tolerance` (FFT term for ``algorithm='fft'``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convalg.kernels.arrays import cuda_device
from convalg.kernels.cuda import ops
from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
from convalg.kernels.cuda.runtime import CupyBackend, using_backend
from convalg.reference import direct as reference  # brute force: exact enough element-wise
from convalg.testing.strategies import case_arrays, conv_cases, conv_transpose_cases, pool_cases
from convalg.testing.tolerance import assert_within_bound, error_bound

GPU = cuda_device()
_HOST = HostBackend()

BACKENDS = [
    pytest.param("host-shim", id="host-shim",
                 marks=pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")),
    pytest.param("cupy", id="cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(not GPU, reason="no CUDA device")]),
]
EXAMPLES = {"host-shim": 6, "cupy": 15}


class Device:
    """Moves arrays to and from the backend under test."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.backend = _HOST if name == "host-shim" else CupyBackend()

    def put(self, a: np.ndarray) -> object:
        return a if self.name == "host-shim" else self.backend.xp.asarray(a)

    def get(self, a: object) -> np.ndarray:
        return a if isinstance(a, np.ndarray) else a.get()


@pytest.fixture(params=BACKENDS)
def device(request):
    dev = Device(request.param)
    with using_backend(dev.backend):
        yield dev


def _run(device, test_body, strategy):
    """Run a Hypothesis property with the backend's example budget."""
    settings_ = settings(max_examples=EXAMPLES[device.name])
    given(strategy)(settings_(lambda drawn: test_body(device, drawn)))()


def _conv_forward(device, drawn):
    (case, recipes), algorithm = drawn
    if algorithm == "fft" and case.padding_mode != "zeros":
        algorithm = "gemm"
    x, w = recipes["x"].build(), recipes["weight"].build()
    b = recipes["bias"].build() if "bias" in recipes else None
    kw = dict(case.kwargs(), flip_kernel=case.layer.flip_kernel)
    got = ops.conv(device.put(x), device.put(w), None if b is None else device.put(b), algorithm=algorithm, **kw)
    bound = error_bound("conv", x, w, bias=b, algorithm="fft" if algorithm == "fft" else "direct", **kw)
    assert_within_bound(device.get(got), reference.conv(x, w, b, **kw), bound, f"conv {algorithm} {case.layer}")


def test_conv_forward_property(device):
    cases = conv_cases(padding_modes=("zeros", "reflect", "replicate", "circular"), flip_kernel=True)
    _run(device, _conv_forward, st.tuples(case_arrays(cases), st.sampled_from(["auto", "gemm", "direct", "fft"])))


def _conv_backward(device, drawn):
    (case, recipes), algorithm = drawn
    x, w = recipes["x"].build(), recipes["weight"].build()
    kw = case.kwargs()
    dy = np.random.default_rng(0).standard_normal(case.output_shape).astype(np.float32)
    bound_algo = "fft" if algorithm == "fft" else "direct"
    dx = ops.conv_grad_input(device.put(dy), device.put(w), x.shape, algorithm=algorithm, **kw)
    assert_within_bound(device.get(dx), reference.conv_grad_input(dy, w, x.shape, **kw),
                        error_bound("conv_grad_input", dy, w, x.shape, algorithm=bound_algo, **kw),
                        f"grad input {algorithm} {case.layer}")
    dw = ops.conv_grad_weight(device.put(x), device.put(dy), w.shape, algorithm=algorithm, **kw)
    assert_within_bound(device.get(dw), reference.conv_grad_weight(x, dy, w.shape, **kw),
                        error_bound("conv_grad_weight", x, dy, w.shape, algorithm=bound_algo, **kw),
                        f"grad weight {algorithm} {case.layer}")


def test_conv_backward_property(device):
    _run(device, _conv_backward,
         st.tuples(case_arrays(conv_cases()), st.sampled_from(["auto", "gemm", "direct", "fft"])))


def _conv_transpose(device, drawn):
    (case, recipes), algorithm = drawn
    x, w = recipes["x"].build(), recipes["weight"].build()
    b = recipes["bias"].build() if "bias" in recipes else None
    kw = case.kwargs()
    got = ops.conv_transpose(device.put(x), device.put(w), None if b is None else device.put(b),
                             algorithm=algorithm, **kw)
    assert_within_bound(device.get(got), reference.conv_transpose(x, w, b, **kw),
                        error_bound("conv_transpose", x, w, bias=b, **kw), f"conv_transpose {case.layer}")


def test_conv_transpose_property(device):
    _run(device, _conv_transpose, st.tuples(case_arrays(conv_transpose_cases()), st.sampled_from(["gemm", "direct"])))


def _max_pool(device, drawn):
    case, recipes = drawn
    x = recipes["x"].build()
    kw = dict(case.kwargs(), return_indices=True)
    y, idx = ops.max_pool(device.put(x), **kw)
    ry, ridx = reference.max_pool(x, **kw)
    np.testing.assert_array_equal(device.get(y), ry)
    np.testing.assert_array_equal(device.get(idx), ridx)
    dy = np.random.default_rng(1).standard_normal(ry.shape).astype(np.float32)
    kw.pop("return_indices")
    dx = ops.max_pool_grad(device.put(dy), idx, x.shape, **kw)
    assert_within_bound(device.get(dx), reference.max_pool_grad(dy, ridx, x.shape),
                        error_bound("max_pool_grad", dy, ridx, x.shape), f"max_pool_grad {case.layer}")


def test_max_pool_property(device):
    _run(device, _max_pool, case_arrays(pool_cases("max"), allow_nan=True))


def _avg_pool(device, drawn):
    case, recipes = drawn
    x = recipes["x"].build()
    kw = case.kwargs()
    y = ops.avg_pool(device.put(x), **kw)
    assert_within_bound(device.get(y), reference.avg_pool(x, **kw), error_bound("avg_pool", x, **kw), "avg_pool")
    dy = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    dx = ops.avg_pool_grad(device.put(dy), x.shape, **kw)
    assert_within_bound(device.get(dx), reference.avg_pool_grad(dy, x.shape, **kw),
                        error_bound("avg_pool_grad", dy, x.shape, **kw), f"avg_pool_grad {case.layer}")


def test_avg_pool_property(device):
    _run(device, _avg_pool, case_arrays(pool_cases("avg")))


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="no CUDA device")
def test_gpu_deterministic_and_validated():
    import cupy as cp

    rng = np.random.default_rng(0)
    x = cp.asarray(rng.standard_normal((4, 16, 20, 20)).astype(np.float32))
    dy = cp.asarray(rng.standard_normal((4, 32, 20, 20)).astype(np.float32))
    runs = [ops.conv_grad_weight(x, dy, (32, 16, 3, 3), padding=1).get() for _ in range(2)]
    assert runs[0].tobytes() == runs[1].tobytes()
    with pytest.raises(TypeError, match="float32"):
        ops.conv(x.astype(cp.float64), cp.zeros((32, 16, 3, 3), cp.float32))
    with pytest.raises(TypeError, match="cupy"):
        ops.conv(x.get(), cp.zeros((32, 16, 3, 3), cp.float32))


def _subnormal_planes():
    """Windows of subnormals (where -ftz=true float compares see only zeros), negative ones, and -0 / +0."""
    tiny = np.float32(1e-45)  # the smallest subnormal
    rows = [[1e-40, 3e-40, 2e-40, 0.0], [-3e-40, -1e-40, -2e-40, -5e-40], [0.0, -0.0, 1e-40, -1e-40],
            [-0.0, 0.0, -1e-40, tiny], [tiny, 2 * tiny, -tiny, 0.0], [1e-38, 1.1e-38, 1.17e-38, 1.18e-38]]
    return np.array(rows, np.float32).reshape(1, 6, 4)


@pytest.mark.parametrize("adaptive", [False, True])
def test_max_pool_orders_subnormals(device, adaptive):
    """CuPy compiles with -ftz=true (the host shim runs with FTZ/DAZ): the max kernels must still order
    subnormals, and keep -0 / +0 ties on the first, as the reference."""
    x = _subnormal_planes()
    assert np.count_nonzero(np.abs(x) < np.finfo(np.float32).tiny) > 10
    if adaptive:
        y, idx = ops.adaptive_max_pool(device.put(x), 2, return_indices=True)
        ry, ridx = reference.adaptive_max_pool(x, 2, return_indices=True)
    else:
        y, idx = ops.max_pool(device.put(x), 2, stride=1, return_indices=True)
        ry, ridx = reference.max_pool(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(device.get(idx), ridx)
    assert device.get(y).tobytes() == ry.astype(np.float32).tobytes()  # bitwise: the subnormal itself, -0 kept


@pytest.mark.parametrize("algorithm", ["auto", "gemm", "direct", "fft"])
def test_empty_batch(device, algorithm):
    """N = 0: empty results (zeros for the weight gradient), as the references."""
    x, dy = np.zeros((0, 2, 9, 9), np.float32), np.zeros((0, 3, 9, 9), np.float32)
    w, b = np.ones((3, 2, 3, 3), np.float32), np.ones(3, np.float32)
    X, DY, W, B = (device.put(a) for a in (x, dy, w, b))
    p = dict(padding=1, algorithm=algorithm)
    assert ops.conv(X, W, B, **p).shape == reference.conv(x, w, b, padding=1).shape == (0, 3, 9, 9)
    assert ops.conv_grad_input(DY, W, x.shape, **p).shape == (0, 2, 9, 9)
    assert ops.conv_transpose(DY, W, B[:2], **p).shape == reference.conv_transpose(dy, w, b[:2], padding=1).shape
    np.testing.assert_array_equal(device.get(ops.conv_grad_weight(X, DY, w.shape, **p)), np.zeros(w.shape))


@pytest.mark.parametrize("pass_", ["fwd", "bwd_data", "bwd_weight"])
def test_fft_keeps_nan_and_inf_in_place(device, pass_):
    """The FFT path's device-side fallback: NaN / inf stay where the reference has them."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 2, 9, 9)).astype(np.float32), rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((1, 3, 9, 9)).astype(np.float32)
    bad = x if pass_ != "bwd_data" else dy
    bad[0, 1, 4, 4], bad[0, 0, 0, 8] = np.nan, np.inf
    X, W, DY = device.put(x), device.put(w), device.put(dy)
    if pass_ == "fwd":
        got, ref = ops.conv(X, W, None, padding=1, algorithm="fft"), reference.conv(x, w, None, padding=1)
    elif pass_ == "bwd_data":
        got = ops.conv_grad_input(DY, W, x.shape, padding=1, algorithm="fft")
        ref = reference.conv_grad_input(dy, w, x.shape, padding=1)
    else:
        got = ops.conv_grad_weight(X, DY, w.shape, padding=1, algorithm="fft")
        ref = reference.conv_grad_weight(x, dy, w.shape, padding=1)
    got = device.get(got)
    assert np.isfinite(ref).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
