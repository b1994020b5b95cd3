"""The host shim shows memory faults of the generated kernels: shared memory is poisoned between blocks, and
under AddressSanitizer (``libasan`` preloaded into a Python subprocess) the kernels are built instrumented and
run on exact-size heap copies of their arrays, so out-of-bounds reads and writes abort with a report.
Skipped without ``g++``; the AddressSanitizer tests also need ``libasan``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convalg.kernels.cuda.codegen import KernelSource, kernel_text
from convalg.kernels.cuda.hostshim import HostModule, asan_runtime, host_compiler

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(host_compiler() is None, reason="host shim needs g++")
needs_asan = pytest.mark.skipif(host_compiler() is None or asan_runtime() is None, reason="needs libasan")


def _kernel(name: str, body: str, barrier: bool) -> KernelSource:
    params = (("const float* __restrict__", "x"), ("float* __restrict__", "y"), ("int", "n"))
    return KernelSource(name, kernel_text(name, params, body, 2), params, lambda n: (n, 1, 1), (2, 1, 1),
                        barrier=barrier)


def test_shared_memory_is_poisoned_between_blocks():
    """Block 1 reads shared memory only block 0 wrote: NaN, not block 0's values (nor zeros)."""
    ks = _kernel("cv_test_stale_shared", """
    __shared__ float s[2];
    if (blockIdx.x == 0) s[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    y[blockIdx.x * 2 + threadIdx.x] = s[threadIdx.x];""", barrier=True)
    y = np.zeros(4, np.float32)
    HostModule([ks]).launch(ks, 2, np.array([1.0, 2.0], np.float32), y)
    assert y[:2].tolist() == [1.0, 2.0] and np.isnan(y[2:]).all()


def _under_asan(code: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, LD_PRELOAD=asan_runtime(), ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)


@needs_asan
def test_out_of_bounds_read_is_reported():
    code = """
import numpy as np
from convalg.kernels.cuda.codegen import KernelSource, kernel_text
from convalg.kernels.cuda.hostshim import HostModule
params = (("const float* __restrict__", "x"), ("float* __restrict__", "y"), ("int", "n"))
body = "    const int t = blockIdx.x * blockDim.x + threadIdx.x;\\n    if (t < n) y[t] = x[t + 1];"
ks = KernelSource("cv_test_oob", kernel_text("cv_test_oob", params, body), params, lambda n: (1, 1, 1), (4, 1, 1))
mod = HostModule([ks])
assert mod.sanitized
mod.launch(ks, 4, np.arange(4, dtype=np.float32), np.zeros(4, np.float32))
print("no report")
"""
    res = _under_asan(code)
    assert res.returncode != 0 and "heap-buffer-overflow" in res.stderr, res.stdout + res.stderr[-3000:]


def _suite_under_asan(*selection: str) -> None:
    code = ("import sys, pytest; sys.exit(pytest.main(['-q', '-x', '-p', 'no:cacheprovider', "
            + ", ".join(repr(a) for a in selection) + "]))")
    res = _under_asan(code, timeout=1800)
    assert res.returncode == 0 and "AddressSanitizer" not in res.stderr, res.stdout[-3000:] + res.stderr[-3000:]


@needs_asan
def test_tiles_and_forward_kernels_are_clean_under_asan():
    """Every tile and split, and the forward kernels of every spec family, under AddressSanitizer."""
    _suite_under_asan("tests/kernels/cuda/test_cuda_tiles.py", "tests/kernels/cuda/test_cuda_hostshim.py", "-k",
                      "tile_and_split or conv_forward or max_pool_ties")


@pytest.mark.slow
@needs_asan
def test_every_host_shim_test_is_clean_under_asan():
    _suite_under_asan("tests/kernels/cuda/test_cuda_tiles.py", "tests/kernels/cuda/test_cuda_hostshim.py",
                      "tests/kernels/cuda/test_cuda_gpu.py")
