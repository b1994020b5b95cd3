"""The generated CUDA source of every op family, over a spread of specs, compiles with nvcc (no warnings).

Two translation units (the kernels split in halves) compiled concurrently to PTX for
sm_90; skipped when nvcc is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from convalg.kernels.cuda import cases
from convalg.kernels.cuda.codegen import module_source

NVCC = shutil.which("nvcc")
pytestmark = [pytest.mark.nvcc, pytest.mark.skipif(NVCC is None, reason="nvcc not found")]


def _compile(src_path: str, out_path: str) -> subprocess.CompletedProcess:
    return subprocess.run([NVCC, "--ptx", "-arch=sm_90", "-std=c++17", "-o", out_path, src_path],
                          capture_output=True, text=True, timeout=300)


def test_all_families_compile(tmp_path):
    kernels = cases.all_kernels()
    names = {k.name.split("_")[1] for k in kernels}
    assert {"direct", "igemm", "gather", "wgrad", "maxpool", "maxpoolgrad", "avgpool", "avgpoolgrad", "adaptive",
            "unfold", "fold", "splitk", "segment"} <= names
    half = len(kernels) // 2
    jobs = []
    for j, part in enumerate((kernels[:half], kernels[half:])):
        src = tmp_path / f"part{j}.cu"
        src.write_text(module_source(part))
        jobs.append((str(src), str(tmp_path / f"part{j}.ptx")))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda a: _compile(*a), jobs))
    for (src, out), res in zip(jobs, results):
        assert res.returncode == 0, f"nvcc failed on {src}:\n{res.stderr[-3000:]}"
        assert "warning" not in res.stderr, res.stderr[-3000:]
        ptx = open(out).read()
        for k in kernels[:half] if src.endswith("part0.cu") else kernels[half:]:
            assert f".entry {k.name}(" in ptx, k.name
