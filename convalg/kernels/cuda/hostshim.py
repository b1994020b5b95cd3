"""Run generated CUDA kernels on the CPU: the same source compiled as host C++ (for CI without a GPU).

Macros turn the CUDA constructs into host ones: ``__global__``/``__device__`` vanish,
``blockIdx``/``threadIdx`` become thread-local variables, ``__shared__`` becomes a
function-local ``static`` (one block runs at a time, so it is that block's shared
memory), and ``__syncthreads()`` a ``pthread`` barrier.  A launcher per kernel loops
over the grid; kernels that use barriers run a block's threads as real OS threads
(so the tiled kernels are exercised with their real synchronisation), the others
run a block's threads one after another.

This tests the generated index arithmetic, predicates, tiling and reduction
order; it says nothing about speed, and it cannot catch device-only faults (bank
conflicts, misaligned ``float4`` on the device, register spills).

>>> import numpy as np, shutil
>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> from convalg.kernels.cuda.direct import direct_conv
>>> ks = direct_conv(index_map(Conv(1), (3,)), 1, 1, 1, has_bias=False)
>>> if shutil.which("g++"):
...     mod = HostModule([ks])
...     y = np.zeros((1, 1, 3), np.float32)
...     mod.launch(ks, 1, np.arange(3, dtype=np.float32).reshape(1, 1, 3), np.full((1, 1, 1), 2, np.float32),
...                np.zeros(1, np.float32), y)
...     print(y.ravel().tolist())
... else:
...     print([0.0, 2.0, 4.0])
[0.0, 2.0, 4.0]
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

import numpy as np

from .codegen import KernelSource, module_source

__all__ = ["HOST_PRELUDE", "host_source", "HostModule", "host_compiler"]

HOST_PRELUDE = r"""
#include <cmath>
using std::isnan;
#include <functional>
#include <thread>
#include <vector>
#include <pthread.h>
struct cv_dim3 { unsigned x, y, z; };
struct float4 { float x, y, z, w; };
static thread_local cv_dim3 threadIdx, blockIdx;
static cv_dim3 blockDim, gridDim;
static pthread_barrier_t cv_barrier;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(n)
#define __syncthreads() pthread_barrier_wait(&cv_barrier)
template <class T> static inline T __ldg(const T* p) { return *p; }
static void cv_launch(cv_dim3 grid, cv_dim3 block, bool barrier, const std::function<void()>& body) {
    gridDim = grid; blockDim = block;
    const unsigned nt = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz) for (unsigned by = 0; by < grid.y; ++by)
    for (unsigned bx = 0; bx < grid.x; ++bx) {
        const cv_dim3 b = {bx, by, bz};
        if (!barrier) {
            blockIdx = b;
            for (unsigned t = 0; t < nt; ++t) {
                threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                body();
            }
            continue;
        }
        pthread_barrier_init(&cv_barrier, nullptr, nt);
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < nt; ++t)
            pool.emplace_back([=, &body]() {
                blockIdx = b;
                threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                body();
            });
        for (auto& th : pool) th.join();
        pthread_barrier_destroy(&cv_barrier);
    }
}
"""


def _launcher(ks: KernelSource) -> str:
    args = ", ".join(n for _, n in ks.params)
    return (f'extern "C" void shim_{ks.name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, '
            f'unsigned bz, {ks.signature}) {{\n'
            f'    cv_launch({{gx, gy, gz}}, {{bx, by, bz}}, {"true" if ks.barrier else "false"}, '
            f'[&]() {{ {ks.name}({args}); }});\n}}\n')


def host_source(kernels: Sequence[KernelSource]) -> str:
    """The host C++ translation unit: prelude, the unchanged CUDA source, one launcher per kernel."""
    return HOST_PRELUDE + module_source(kernels) + "\n" + "\n".join(_launcher(k) for k in kernels)


def host_compiler() -> str | None:
    """Path of ``g++`` (the shim's compiler), or None."""
    return shutil.which("g++")


_CTYPES = {"int": ctypes.c_int32}


class HostModule:
    """Compile kernels to a shared library with ``g++`` and launch them on NumPy arrays."""

    def __init__(self, kernels: Sequence[KernelSource], cache_dir: str | None = None) -> None:
        cxx = host_compiler()
        if cxx is None:
            raise RuntimeError("host shim: g++ not found")
        src = host_source(kernels)
        tag = hashlib.sha1(src.encode()).hexdigest()[:16]
        cache = cache_dir or os.path.join(tempfile.gettempdir(), "convalg_hostshim")
        os.makedirs(cache, exist_ok=True)
        lib = os.path.join(cache, f"shim_{tag}.so")
        if not os.path.exists(lib):
            cpp = os.path.join(cache, f"shim_{tag}.cpp")
            with open(cpp, "w") as fh:
                fh.write(src)
            tmp = lib + f".{os.getpid()}.tmp"
            res = subprocess.run([cxx, "-O1", "-std=c++17", "-shared", "-fPIC", "-pthread", "-w", cpp, "-o", tmp],
                                 capture_output=True, text=True)
            if res.returncode:
                raise RuntimeError(f"host shim: g++ failed on {cpp}:\n{res.stderr[-4000:]}")
            os.replace(tmp, lib)
        self._lib = ctypes.CDLL(lib)
        self.kernels = {k.name: k for k in kernels}

    def launch(self, ks: KernelSource, n_batch: int, *arrays: np.ndarray) -> None:
        """Run ``ks`` on C-contiguous NumPy arrays (pointer parameters in order; ``n_batch`` last)."""
        fn = getattr(self._lib, f"shim_{ks.name}")
        args: list[object] = [*map(ctypes.c_uint, ks.grid(n_batch)), *map(ctypes.c_uint, ks.block)]
        it = iter(arrays)
        for ctype, pname in ks.params:
            if "*" in ctype:
                a = next(it)
                if not a.flags.c_contiguous:
                    raise ValueError(f"host shim: {pname} must be C-contiguous")
                args.append(ctypes.c_void_p(a.ctypes.data))
            else:
                args.append(_CTYPES[ctype](n_batch))
        fn(*args)
