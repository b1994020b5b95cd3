"""Launch geometry: 64-bit global thread indices, and grids within CUDA's limits (or a clear error)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from convalg import Conv, SpecError
from convalg.kernels.cuda import cost, igemm, ops
from convalg.kernels.cuda.codegen import Emitter, KernelSource, kernel_text, sym, thread_guard
from convalg.kernels.cuda.hostshim import HOST_PRELUDE, HostBackend, host_compiler
from convalg.printers.cuda import PREAMBLE
from gpu import cases


@pytest.mark.skipif(host_compiler() is None, reason="needs g++")
def test_thread_index_past_two_to_the_31(tmp_path):
    """Block 2**23 of 256 threads: thread 2**31 + 3 must stop at a bound of 2**31 - 1 (a 32-bit int wraps
    negative and runs on, out of bounds)."""
    em = Emitter()
    thread_guard(em, sym("t"), "count", 1)
    src = (HOST_PRELUDE + PREAMBLE + "#include <cstdio>\nstatic long long seen = -1;\n"
           "static void body(int count) {\n" + em.text() + "\n    seen = t;\n}\n"
           "int main() {\n    blockDim = {256, 1, 1}; blockIdx = {8388608u, 0, 0}; threadIdx = {3, 0, 0};\n"
           "    body(2147483647);\n    printf(\"%lld\\n\", seen);\n    blockIdx = {8388607u, 0, 0};\n"
           "    body(2147483647);\n    printf(\"%lld\\n\", seen);\n}\n")
    (tmp_path / "t.cpp").write_text(src)
    subprocess.run([host_compiler(), "-O0", "-w", "-o", str(tmp_path / "t"), str(tmp_path / "t.cpp")], check=True)
    out = subprocess.run([str(tmp_path / "t")], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["-1", str(8388607 * 256 + 3)]


def test_every_kernel_uses_the_64_bit_thread_index():
    for k in cases.all_kernels():
        assert "const int t = blockIdx.x" not in k.body and "const int e = blockIdx.x" not in k.body, k.name


def test_split_count_keeps_grid_z_within_65535():
    layer = Conv(3, padding=1, groups=4096, in_channels=4096, out_channels=4096, ndim=2)
    imap = layer.index_map((64, 64))
    for tile in igemm.TILES.values():
        m, q, p = igemm.gemm_sizes(imap, "bwd_weight", 4096, 4096, 4096, 64)
        assert 4096 * cost.splits_for(m, q, p, 4096, tile) <= 65535
    choice = cost.choose(imap, 4096, 4096, 4096, 64, "bwd_weight", gemm_only=True)
    assert 4096 * choice.splits <= 65535


def test_too_many_groups_for_the_implicit_gemm_is_a_clear_error():
    imap = Conv(1, groups=70000, in_channels=70000, out_channels=70000, ndim=1).index_map((3,))
    assert cost.choose(imap, 70000, 70000, 70000, 1, "fwd").algorithm == "direct"
    with pytest.raises(SpecError, match="groups=70000.*algorithm='direct'"):
        cost.choose(imap, 70000, 70000, 70000, 1, "fwd", gemm_only=True)


@pytest.mark.skipif(host_compiler() is None, reason="needs g++")
def test_launch_checks_the_grid():
    params = (("float* __restrict__", "y"), ("int", "n"))
    ks = KernelSource("cv_test_grid", kernel_text("cv_test_grid", params, "    y[0] = 1.0f;"), params,
                      lambda n: (1, 1, n), (1, 1, 1))
    with pytest.raises(SpecError, match=r"cv_test_grid: grid=\(1, 1, 65536\)"):
        HostBackend().launch(ks, 65536, np.zeros(1, np.float32))


@pytest.mark.skipif(host_compiler() is None, reason="needs g++")
def test_forced_gemm_with_too_many_groups_raises():
    x = np.zeros((1, 70000, 3), np.float32)
    w = np.zeros((70000, 1, 1), np.float32)
    from convalg.kernels.cuda.runtime import using_backend

    with using_backend(HostBackend()):
        with pytest.raises(SpecError, match="groups=70000"):
            ops.conv(x, w, groups=70000, algorithm="gemm")
