"""The generated CUDA kernels, compiled for the CPU by the host shim, against the float64 references.

Runs ``convalg.kernels.cuda.ops`` end to end (plans, generated source, argument
order, validation) with NumPy arrays; only the compiler and the device differ from
a GPU run.  Skipped without ``g++``.
"""

from __future__ import annotations

import numpy as np
import pytest

from convalg.kernels.cuda import ops
from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
from convalg.kernels.cuda.runtime import using_backend
from convalg.reference import direct as reference  # brute force: exact enough element-wise
from convalg.testing.tolerance import assert_within_bound, error_bound
from gpu import cases

pytestmark = pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")

_BACKEND = HostBackend()


@pytest.fixture(scope="module")
def shim():
    with using_backend(_BACKEND) as b:
        yield b


def _conv_params(layer):
    return dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)


def _data(rng, *shape, integer=False):
    if integer:
        return rng.integers(-3, 4, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def _bound_algo(algorithm):
    return "fft" if algorithm == "fft" else "direct"


CONV_IDS = [f"{i}-{c[0].ndim}d-{c[0].padding_mode}" for i, c in enumerate(cases.CONV_CASES)]


@pytest.mark.parametrize("case", cases.CONV_CASES, ids=CONV_IDS)
@pytest.mark.parametrize("algorithm", ["gemm", "direct"])
def test_conv_forward(shim, case, algorithm):
    layer, spatial, c_in, c_out = case
    rng = np.random.default_rng(len(spatial) * 7 + c_in)
    x = _data(rng, 2, c_in, *spatial)
    w = _data(rng, c_out, c_in // layer.groups, *layer.kernel_size)
    b = _data(rng, c_out)
    p = dict(_conv_params(layer), padding_mode=layer.padding_mode, flip_kernel=layer.flip_kernel)
    got = ops.conv(x, w, b, algorithm=algorithm, **p)
    ref = reference.conv(x, w, b, **p)
    assert_within_bound(got, ref, error_bound("conv", x, w, bias=b, **p), f"conv {algorithm}")


ZERO_CASES = [c for c in cases.CONV_CASES if c[0].padding_mode == "zeros"]


@pytest.mark.parametrize("case", ZERO_CASES, ids=[f"{i}-{c[0].ndim}d" for i, c in enumerate(ZERO_CASES)])
def test_conv_fft(shim, case):
    layer, spatial, c_in, c_out = case
    rng = np.random.default_rng(3)
    x = _data(rng, 2, c_in, *spatial)
    w = _data(rng, c_out, c_in // layer.groups, *layer.kernel_size)
    p = _conv_params(layer)
    got = ops.conv(x, w, None, algorithm="fft", flip_kernel=layer.flip_kernel, **p)
    ref = reference.conv(x, w, None, flip_kernel=layer.flip_kernel, **p)
    assert_within_bound(got, ref, error_bound("conv", x, w, algorithm="fft", **p), "conv fft")


@pytest.mark.parametrize("case", ZERO_CASES, ids=[f"{i}-{c[0].ndim}d" for i, c in enumerate(ZERO_CASES)])
@pytest.mark.parametrize("algorithm", ["gemm", "direct", "fft"])
def test_conv_backward(shim, case, algorithm):
    layer, spatial, c_in, c_out = case
    if layer.flip_kernel:
        pytest.skip("the reference gradients are for cross-correlation")
    rng = np.random.default_rng(11)
    x = _data(rng, 2, c_in, *spatial)
    w = _data(rng, c_out, c_in // layer.groups, *layer.kernel_size)
    p = _conv_params(layer)
    dy = _data(rng, 2, c_out, *layer.output_shape(spatial))
    dx = ops.conv_grad_input(dy, w, x.shape, algorithm=algorithm, **p)
    assert_within_bound(dx, reference.conv_grad_input(dy, w, x.shape, **p),
                        error_bound("conv_grad_input", dy, w, x.shape, algorithm=_bound_algo(algorithm), **p),
                        f"grad input {algorithm}")
    dw = ops.conv_grad_weight(x, dy, w.shape, algorithm=algorithm, **p)
    assert_within_bound(dw, reference.conv_grad_weight(x, dy, w.shape, **p),
                        error_bound("conv_grad_weight", x, dy, w.shape, algorithm=_bound_algo(algorithm), **p),
                        f"grad weight {algorithm}")
    db = ops.conv_grad_bias(dy)
    assert_within_bound(db, reference.conv_grad_bias(dy), error_bound("conv_grad_bias", dy), "grad bias")


@pytest.mark.parametrize("case", cases.TRANSPOSE_CASES, ids=["2d", "1d-groups"])
@pytest.mark.parametrize("algorithm", ["gemm", "direct", "fft"])
def test_conv_transpose(shim, case, algorithm):
    layer, spatial, c_in, c_out, groups = case
    rng = np.random.default_rng(5)
    x = _data(rng, 2, c_in, *spatial)
    w = _data(rng, c_in, c_out // groups, *layer.kernel_size)
    b = _data(rng, c_out)
    p = dict(stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding, groups=groups,
             dilation=layer.dilation)
    got = ops.conv_transpose(x, w, b, algorithm=algorithm, **p)
    ref = reference.conv_transpose(x, w, b, **p)
    assert_within_bound(got, ref, error_bound("conv_transpose", x, w, bias=b, algorithm=_bound_algo(algorithm), **p),
                        f"conv_transpose {algorithm}")


@pytest.mark.parametrize("case", cases.POOL_CASES, ids=["2d-ceil-dil", "1d", "3d"])
@pytest.mark.parametrize("with_geometry", [True, False])
def test_max_pool_ties_nan_and_grad(shim, case, with_geometry):
    layer, spatial = case
    rng = np.random.default_rng(2)
    x = _data(rng, 2, 3, *spatial, integer=True)  # many ties
    x.flat[4] = np.nan
    p = dict(kernel_size=layer.kernel_size, stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
             ceil_mode=layer.ceil_mode)
    y, idx = ops.max_pool(x, return_indices=True, **p)
    ry, ridx = reference.max_pool(x, return_indices=True, **p)
    np.testing.assert_array_equal(y, ry)  # exact, NaN where NaN
    np.testing.assert_array_equal(idx, ridx)
    dy = _data(rng, *y.shape)
    geo = p if with_geometry else {}
    dx = ops.max_pool_grad(dy, idx, x.shape, **geo)
    ref = reference.max_pool_grad(dy, ridx, x.shape)
    assert_within_bound(dx, ref, error_bound("max_pool_grad", dy, ridx, x.shape), "max_pool_grad")


@pytest.mark.parametrize("case", cases.AVG_CASES, ids=["2d-exclude", "1d-include", "3d-override"])
def test_avg_pool_and_grad(shim, case):
    layer, spatial, cip, div = case
    rng = np.random.default_rng(4)
    x = _data(rng, 2, 3, *spatial)
    p = dict(kernel_size=layer.kernel_size, stride=layer.stride, padding=layer.padding, ceil_mode=layer.ceil_mode,
             count_include_pad=cip, divisor_override=div)
    y = ops.avg_pool(x, **p)
    assert_within_bound(y, reference.avg_pool(x, **p), error_bound("avg_pool", x, **p), "avg_pool")
    dy = _data(rng, *y.shape)
    dx = ops.avg_pool_grad(dy, x.shape, **p)
    assert_within_bound(dx, reference.avg_pool_grad(dy, x.shape, **p), error_bound("avg_pool_grad", dy, x.shape, **p),
                        "avg_pool_grad")


@pytest.mark.parametrize("case", cases.ADAPTIVE_CASES, ids=["avg-2d", "max-1d", "avg-3d"])
def test_adaptive(shim, case):
    layer, spatial = case
    rng = np.random.default_rng(6)
    x = _data(rng, 2, 3, *spatial, integer=True)
    size = layer.output_size if len(layer.output_size) == len(spatial) else layer.output_size[0]
    if "Max" in type(layer).__name__:
        y, idx = ops.adaptive_max_pool(x, size, return_indices=True)
        ry, ridx = reference.adaptive_max_pool(x, size, return_indices=True)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(idx, ridx)
    else:
        y = ops.adaptive_avg_pool(x, size)
        assert_within_bound(y, reference.adaptive_avg_pool(x, size), error_bound("adaptive_avg_pool", x, size),
                            "adaptive_avg_pool")


def test_unfold_fold_match_torch(shim):
    torch = pytest.importorskip("torch")
    layer, spatial, c = cases.WINDOW_CASES[0]
    rng = np.random.default_rng(8)
    x = _data(rng, 2, c, *spatial)
    p = dict(kernel_size=layer.kernel_size, dilation=layer.dilation, padding=tuple(lo for lo, _ in layer.padding),
             stride=layer.stride)
    cols = ops.unfold(x, **p)
    ref = torch.nn.functional.unfold(torch.from_numpy(x).double(), **p).numpy()
    np.testing.assert_array_equal(cols, ref.astype(np.float32))
    back = ops.fold(cols, spatial, **p)
    ref_back = torch.nn.functional.fold(torch.from_numpy(cols).double(), spatial, **p).numpy()
    np.testing.assert_allclose(back, ref_back, rtol=1e-6, atol=1e-6)


def test_deterministic_weight_grad(shim):
    layer, spatial, c_in, c_out = cases.CONV_CASES[1]
    rng = np.random.default_rng(9)
    x = _data(rng, 2, c_in, *spatial)
    dy = _data(rng, 2, c_out, *layer.output_shape(spatial))
    w_shape = (c_out, c_in // layer.groups, *layer.kernel_size)
    runs = [ops.conv_grad_weight(x, dy, w_shape, algorithm="gemm", **_conv_params(layer)) for _ in range(2)]
    assert runs[0].tobytes() == runs[1].tobytes()


def test_validation(shim):
    x = np.zeros((1, 2, 5), np.float32)
    with pytest.raises(TypeError, match="float32"):
        ops.conv(x.astype(np.float64), np.zeros((1, 2, 3), np.float32))
    with pytest.raises(ValueError, match="dim 1"):
        ops.conv(x, np.zeros((1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="algorithm"):
        ops.conv(x, np.zeros((1, 2, 3), np.float32), algorithm="winograd")
    ks = cases.conv_kernels(*cases.CONV_CASES[0])["direct"]
    with pytest.raises(TypeError, match="dtype"):
        _BACKEND.launch(ks, 1, np.zeros(3), np.zeros(3, np.float32), np.zeros(3, np.float32),
                        np.zeros(3, np.float32))


def test_host_shim_flushes_subnormals_as_cupy_does(shim):
    """The shim runs with FTZ/DAZ (CuPy forces -ftz=true), so float compares of subnormals behave as on the GPU."""
    from convalg.kernels.cuda.hostshim import HostModule

    ks = cases.conv_kernels(*cases.CONV_CASES[0])["direct"]
    if not HostModule([ks]).ftz:
        pytest.skip("no SSE control register on this host")
    layer, spatial, c_in, c_out = cases.CONV_CASES[0]
    x = np.full((1, c_in, *spatial), 1e-20, np.float32)  # products 1e-40: subnormal, flushed to 0
    w = np.full((c_out, c_in, 3, 3), 1e-20, np.float32)
    assert not ops.conv(x, w, padding=1, algorithm="direct").any()


class _NoSync(np.ndarray):
    """An array that refuses to become a Python bool or number: a host synchronisation on a device."""

    def __bool__(self):
        raise AssertionError("host synchronisation on data")

    __float__ = __int__ = __index__ = __bool__


class _NoSyncNumpy:
    """NumPy, except that ``isfinite`` returns :class:`_NoSync`."""

    __name__ = "numpy"

    def __getattr__(self, name):
        return getattr(np, name)

    def isfinite(self, *a, **k):
        return np.asarray(np.isfinite(*a, **k)).view(_NoSync)


class _NoSyncBackend(HostBackend):
    xp = _NoSyncNumpy()


@pytest.mark.parametrize("pass_", ["fwd", "bwd_data", "bwd_weight"])
@pytest.mark.parametrize("finite", [True, False])
def test_fft_decides_its_fallback_on_the_device(pass_, finite):
    """No host synchronisation on the data in the FFT path (the NaN / inf fallback is a guarded kernel)."""
    rng = np.random.default_rng(5)
    x, w, dy = _data(rng, 1, 2, 9, 9), _data(rng, 3, 2, 3, 3), _data(rng, 1, 3, 9, 9)
    if not finite:
        (x if pass_ != "bwd_data" else dy)[0, 1, 4, 4] = np.inf
    with using_backend(_NoSyncBackend()):
        if pass_ == "fwd":
            got, ref = ops.conv(x, w, None, padding=1, algorithm="fft"), reference.conv(x, w, None, padding=1)
        elif pass_ == "bwd_data":
            got = ops.conv_grad_input(dy, w, x.shape, padding=1, algorithm="fft")
            ref = reference.conv_grad_input(dy, w, x.shape, padding=1)
        else:
            got = ops.conv_grad_weight(x, dy, w.shape, padding=1, algorithm="fft")
            ref = reference.conv_grad_weight(x, dy, w.shape, padding=1)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-4, atol=1e-4)


def test_fft_geometry_is_computed_once_per_map():
    from convalg import Conv
    from convalg.kernels.cuda import fft

    m = Conv(11, padding=5, ndim=2).index_map((40, 40))
    assert fft.slab_geometry(m) is fft.slab_geometry(Conv(11, padding=5, ndim=2).index_map((40, 40)))
    assert fft._frame(np, m) is fft._frame(np, m)


def test_max_pool_window_without_input_is_the_numpy_paths_error(shim):
    """Dilation stepping over the whole input leaves a window with no maximum: SpecError, as in NumPy."""
    import convalg.functional as F
    from convalg import SpecError

    x = np.ones((1, 2, 2), np.float32)
    kw = dict(kernel_size=2, stride=1, padding=1, dilation=3)
    with pytest.raises(SpecError, match="no position inside the input") as numpy_error:
        F.max_pool(x, **kw)
    with pytest.raises(SpecError, match="no position inside the input") as cuda_error:
        ops.max_pool(x, return_indices=True, **kw)
    assert str(cuda_error.value) == str(numpy_error.value)


def test_clear_caches_drops_the_cuda_plans_too(shim):
    import convalg.kernels

    x, w = np.ones((1, 2, 6, 6), np.float32), np.ones((3, 2, 3, 3), np.float32)
    convalg.kernels.clear_caches()
    ops.conv(x, w, None, padding=1, algorithm="direct")
    assert _cuda_plans() > 0
    convalg.kernels.clear_caches()
    assert _cuda_plans() == 0
    np.testing.assert_allclose(ops.conv(x, w, None, padding=1, algorithm="direct"),
                               reference.conv(x, w, None, padding=1), rtol=1e-5)  # rebuilt after clearing


def _cuda_plans():
    from convalg.kernels import cache

    return sum(1 for key in cache.stats(keys=True) if key[0] == "cuda_conv_plan")
