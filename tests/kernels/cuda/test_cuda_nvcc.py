"""The generated CUDA source compiles to sm_90 cubins without warnings or register spills, through nvcc and through
NVRTC with CuPy's own options (the runtime's path), and the implicit-GEMM kernels fit their launch bounds.

Kernels: every op family over a spread of specs (:func:`cases.all_kernels`) and the implicit-GEMM kernels of
the GPU benchmark cases, every tile and pass with the cost model's split-K counts (:func:`cases.anchor_kernels`).
Compiled once per session, in parallel; skipped without nvcc / libnvrtc.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from convalg.kernels.cuda import nvrtc
from convalg.kernels.cuda.codegen import module_source
from convalg.kernels.cuda.igemm import TILES
from gpu import cases

NVCC = shutil.which("nvcc")
NVRTC = nvrtc.load_nvrtc()
REGISTERS_PER_SM = 65536  # sm_90
SMEM_PER_SM = 228 * 1024


def _chunks(kernels, parts):
    return [kernels[j::parts] for j in range(parts)]


def _nvcc(kernels, tmp, tag):
    src = tmp / f"{tag}.cu"
    src.write_text(module_source(kernels))
    res = subprocess.run([NVCC, "-cubin", "-arch=sm_90", "-std=c++17", "-Xptxas", "-v", "-o", str(tmp / f"{tag}.cubin"),
                          str(src)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"nvcc failed on {src}:\n{res.stderr[-3000:]}"
    return res.stderr


def _compiled(kernels, tmp):
    with ThreadPoolExecutor(2) as pool:
        logs = list(pool.map(lambda j_part: _nvcc(j_part[1], tmp, f"part{j_part[0]}"),
                             enumerate(_chunks(kernels, 2))))
    for log in logs:
        assert "warning" not in log, log[-3000:]
    usage = {}
    for log in logs:
        usage.update(nvrtc.resource_usage(log))
    return kernels, usage


# every family, the cost model's choices, and every tile x pass on the dense 3x3 and the dilated case
DEFAULT_SET = (*cases.all_kernels(), *cases.anchor_kernels(chosen_only=True), *cases.anchor_kernels(which=(0, 4)))


@pytest.fixture(scope="module")
def nvcc_usage(tmp_path_factory):
    if NVCC is None:
        pytest.skip("nvcc not found")
    return _compiled(list({k.name: k for k in DEFAULT_SET}.values()), tmp_path_factory.mktemp("nvcc"))


def _assert_fits(kernels, usage):
    for k in kernels:
        u = usage[k.name]
        assert u["spill_stores"] == u["spill_loads"] == 0, (k.name, k.notes, u)
        tile = k.notes.get("tile")
        if tile is not None:  # the cost model counts tile.blocks_per_sm resident blocks: they must fit
            regs = -(-u["registers"] // 8) * 8  # allocated per warp in units of 8 per thread
            assert regs * tile.threads * tile.blocks_per_sm <= REGISTERS_PER_SM, (k.name, tile, u)
            assert (u["smem"] + 1024) * tile.blocks_per_sm <= SMEM_PER_SM, (k.name, tile, u)


@pytest.mark.nvcc
def test_all_families_compile_without_spills(nvcc_usage):
    kernels, usage = nvcc_usage
    names = {k.name.split("_")[1] for k in kernels}
    assert {"direct", "gemm", "gather", "wgrad", "maxpool", "maxpoolgrad", "avgpool", "avgpoolgrad", "adaptive",
            "unfold", "fold", "splitk", "segment"} <= names
    assert {k.name for k in kernels} <= set(usage)
    _assert_fits(kernels, usage)


@pytest.mark.nvcc
def test_benchmark_configurations_are_covered(nvcc_usage):
    """Every tile with every pass, and the weight pass with 8-64 split-K slices, is in the compiled set."""
    kernels, _ = nvcc_usage
    configs = {(k.notes["tile"], k.notes["splits"] > 1) for k in kernels if "tile" in k.notes}
    assert {t for t, _ in configs} == set(TILES.values()) and all((t, True) in configs for t in TILES.values())
    splits = {k.notes["splits"] for k in kernels if "tile" in k.notes}
    assert any(8 <= s <= 64 for s in splits) and max(splits) <= 64, splits


@pytest.mark.nvcc
@pytest.mark.slow
@pytest.mark.skipif(NVCC is None, reason="nvcc not found")
def test_every_benchmark_configuration_compiles_without_spills(tmp_path):
    _assert_fits(*_compiled(list(cases.anchor_kernels()), tmp_path))


def _nvrtc(kernels):
    cubin, log = nvrtc.compile_cubin(NVRTC, module_source(kernels), (*nvrtc.cupy_options("sm_90"), "-Xptxas", "-v"))
    assert cubin is not None, log[-3000:]
    return log


def _nvrtc_check(kernels):
    with ThreadPoolExecutor(2) as pool:
        logs = list(pool.map(_nvrtc, _chunks(list(kernels), 2)))
    usage = {}
    for log in logs:
        assert "warning" not in log, log[-3000:]
        usage.update(nvrtc.resource_usage(log))
    assert {k.name for k in kernels} <= set(usage)
    _assert_fits(kernels, usage)


@pytest.mark.skipif(NVRTC is None, reason="libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)")
def test_nvrtc_with_cupy_options():
    """CuPy's path: NVRTC, our options then its forced -ftz=true, a cubin for sm_90 (cost model's choices)."""
    _nvrtc_check(list(cases.all_kernels()) + list(cases.anchor_kernels(chosen_only=True)))


@pytest.mark.slow
@pytest.mark.skipif(NVRTC is None, reason="libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)")
def test_nvrtc_every_benchmark_configuration():
    _nvrtc_check(cases.anchor_kernels())


@pytest.mark.skipif(NVRTC is None, reason="libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)")
def test_nvrtc_reports_errors():
    cubin, log = nvrtc.compile_cubin(NVRTC, 'extern "C" __global__ void k() { undefined_name(); }',
                                     nvrtc.cupy_options())
    assert cubin is None and "undefined_name" in log
