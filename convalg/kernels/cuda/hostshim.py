"""Run generated CUDA kernels on the CPU: the same source compiled as host C++ (for CI without a GPU).

Macros turn the CUDA constructs into host ones: ``__global__``/``__device__`` vanish,
``blockIdx``/``threadIdx`` become thread-local variables, ``__shared__`` becomes a
function-local ``static`` (one block runs at a time, so it is that block's shared
memory).  A launcher per kernel loops over the grid; kernels without barriers
run a block's threads one after another.  Barrier kernels run a block's threads
as coroutines (``ucontext``) on one OS thread: ``__syncthreads()`` yields, and the
scheduler resumes every thread in turn, so each barrier phase finishes for the
whole block before the next starts.

Faithful to the device where it matters for results: float arithmetic runs with
FTZ/DAZ (CuPy always compiles with ``-ftz=true``); shared memory is filled with
NaN bytes before every block (a read before the block's write shows); in a
process running AddressSanitizer (``libasan`` preloaded, see
:func:`asan_runtime`) modules are built with ``-fsanitize=address`` and kernels
run on exact-size heap copies of their arrays, so an out-of-bounds access aborts
with a report.

This tests the generated index arithmetic, predicates, tiling and reduction
order; it says nothing about speed, and it cannot catch device-only faults (bank
conflicts, misaligned ``float4`` on the device; register spills are the compile
tests' job).

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
import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

import numpy as np

from .codegen import KernelSource, check_grid, module_source
from .runtime import Backend, check_int32_size

__all__ = ["HOST_PRELUDE", "host_source", "HostModule", "host_compiler", "HostBackend", "asan_runtime",
           "asan_active"]

HOST_PRELUDE = r"""
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ucontext.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#define CV_HOST_FTZ 1
#else
#define CV_HOST_FTZ 0
#endif
using std::isnan;
static inline int __float_as_int(float v) { int b; std::memcpy(&b, &v, sizeof b); return b; }
struct cv_dim3 { unsigned x, y, z; };
struct float4 { float x, y, z, w; };
static cv_dim3 threadIdx, blockIdx, blockDim, gridDim;
/* Block threads are coroutines on one OS thread: __syncthreads() yields to the scheduler,
   which resumes every thread of the block in turn, so each barrier phase completes for all
   threads before any thread starts the next one. */
static ucontext_t cv_sched;
static ucontext_t* cv_ctx = nullptr;
static char* cv_stacks = nullptr;
static unsigned cv_cap = 0, cv_cur = 0;
static bool* cv_done = nullptr;
static void* cv_body = nullptr;
static void (*cv_call)(void*) = nullptr;
static const size_t CV_STACK = 1 << 16;
static inline void cv_set_thread(unsigned t) {
    threadIdx = {t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y)};
}
static void cv_entry() { cv_call(cv_body); cv_done[cv_cur] = true; }
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
/* Shared arrays are statics in one section: the launcher fills it with NaN bytes before every block, so
   a read before the block's own write shows (as garbage would on the device), not the last block's data. */
#define __shared__ static __attribute__((section("cv_shared")))
extern "C" char __start_cv_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_cv_shared[] __attribute__((weak, visibility("hidden")));
__attribute__((no_sanitize_address, noinline)) static void cv_poison_shared() {
    for (volatile char* p = __start_cv_shared; p < __stop_cv_shared; ++p) *p = (char)0xff;
}
/* Store trace (HostModule(trace=True)): output pointers become cv_traced, whose operator[] logs
   (global thread id, element index) in program order per thread. */
static long long* cv_log = nullptr;
static size_t cv_log_n = 0, cv_log_cap = 0;
static void cv_record(long long i) {
    if (cv_log_n == cv_log_cap) {
        cv_log_cap = cv_log_cap ? 2 * cv_log_cap : 4096;
        cv_log = (long long*)realloc(cv_log, sizeof(long long) * 2 * cv_log_cap);
    }
    const long long block = ((long long)blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const long long thread = ((long long)threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    cv_log[2 * cv_log_n] = block * blockDim.x * blockDim.y * blockDim.z + thread;
    cv_log[2 * cv_log_n + 1] = i;
    ++cv_log_n;
}
template <class T> struct cv_traced {
    T* p;
    cv_traced(T* q) : p(q) {}
    T& operator[](long long i) const { cv_record(i); return p[i]; }
};
extern "C" size_t cv_log_size() { return cv_log_n; }
extern "C" const long long* cv_log_data() { return cv_log; }
extern "C" void cv_log_reset() { cv_log_n = 0; }
extern "C" void* cv_malloc(size_t n) { return malloc(n ? n : 1); }
extern "C" void cv_free(void* p) { free(p); }
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __syncthreads() swapcontext(&cv_ctx[cv_cur], &cv_sched)
template <class T> static inline T __ldg(const T* p) { return *p; }
template <class F> static void cv_launch(cv_dim3 grid, cv_dim3 block, bool barrier, F& body) {
    gridDim = grid; blockDim = block;
#if CV_HOST_FTZ
    /* CuPy compiles with -ftz=true: subnormal operands and results of float arithmetic and compares
       are zero.  The SSE flags FTZ (results) and DAZ (operands) do the same on the host. */
    const unsigned cv_csr = _mm_getcsr();
    _mm_setcsr(cv_csr | 0x8040u);
#endif
    const unsigned nt = block.x * block.y * block.z;
    cv_body = &body;
    cv_call = [](void* b) { (*static_cast<F*>(b))(); };
    if (barrier && nt > cv_cap) {
        free(cv_ctx); free(cv_stacks); free(cv_done);
        cv_ctx = (ucontext_t*)malloc(sizeof(ucontext_t) * nt);
        cv_stacks = (char*)malloc(CV_STACK * nt);
        cv_done = (bool*)malloc(nt);
        cv_cap = nt;
    }
    for (unsigned bz = 0; bz < grid.z; ++bz) for (unsigned by = 0; by < grid.y; ++by)
    for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx = {bx, by, bz};
        cv_poison_shared();
        if (!barrier) {
            for (unsigned t = 0; t < nt; ++t) { cv_set_thread(t); body(); }
            continue;
        }
        for (unsigned t = 0; t < nt; ++t) {
            getcontext(&cv_ctx[t]);
            cv_ctx[t].uc_stack.ss_sp = cv_stacks + (size_t)t * CV_STACK;
            cv_ctx[t].uc_stack.ss_size = CV_STACK;
            cv_ctx[t].uc_link = &cv_sched;
            makecontext(&cv_ctx[t], cv_entry, 0);
            cv_done[t] = false;
        }
        for (bool alive = true; alive;) {
            alive = false;
            for (unsigned t = 0; t < nt; ++t) {
                if (cv_done[t]) continue;
                cv_cur = t;
                cv_set_thread(t);
                swapcontext(&cv_sched, &cv_ctx[t]);
                alive = alive || !cv_done[t];
            }
        }
    }
#if CV_HOST_FTZ
    _mm_setcsr(cv_csr);
#endif
}
extern "C" int cv_host_ftz() { return CV_HOST_FTZ; }
"""


def _launcher(ks: KernelSource) -> str:
    args = ", ".join(n for _, n in ks.params)
    return (f'extern "C" void shim_{ks.name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, '
            f'unsigned bz, {ks.signature}) {{\n'
            f'    auto body = [&]() {{ {ks.name}({args}); }};\n'
            f'    cv_launch({{gx, gy, gz}}, {{bx, by, bz}}, {"true" if ks.barrier else "false"}, body);\n}}\n')


def _traced(ks: KernelSource) -> KernelSource:
    """``ks`` with its output pointers (non-const) as ``cv_traced`` in the kernel's own signature."""
    head, rest = ks.body.split("{", 1)
    for ctype, name in ks.params:
        if "*" in ctype and "const" not in ctype:
            base = ctype.replace("__restrict__", "").replace("*", "").strip()
            head = head.replace(f"{ctype} {name}", f"cv_traced<{base}> {name}")
    return dataclasses.replace(ks, body=head + "{" + rest)


def host_source(kernels: Sequence[KernelSource], trace: bool = False) -> str:
    """The host C++ translation unit: prelude, the CUDA source (output pointers traced if ``trace``), launchers."""
    body = module_source([_traced(k) for k in kernels] if trace else kernels)
    return HOST_PRELUDE + body + "\n" + "\n".join(_launcher(k) for k in kernels)


def host_compiler() -> str | None:
    """Path of ``g++`` (the shim's compiler), or None."""
    return shutil.which("g++")


def asan_runtime() -> str | None:
    """Path of g++'s AddressSanitizer runtime (to ``LD_PRELOAD`` into a Python process), or None."""
    cxx = host_compiler()
    if cxx is None:
        return None
    path = subprocess.run([cxx, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def asan_active() -> bool:
    """Whether this process runs with AddressSanitizer (preloaded): modules are then built instrumented."""
    return hasattr(ctypes.CDLL(None), "__asan_init")


_CTYPES = {"int": ctypes.c_int32}


class HostModule:
    """Compile kernels to a shared library with ``g++`` and launch them on NumPy arrays."""

    def __init__(self, kernels: Sequence[KernelSource], cache_dir: str | None = None, trace: bool = False) -> None:
        cxx = host_compiler()
        if cxx is None:
            raise RuntimeError("host shim: g++ not found")
        src = host_source(kernels, trace)
        self.sanitized = asan_active()
        flags = ["-O0", "-std=c++17", "-shared", "-fPIC", "-w"]
        if self.sanitized:
            flags += ["-fsanitize=address", "-fno-omit-frame-pointer"]
        tag = hashlib.sha1((src + " ".join(flags)).encode()).hexdigest()[:16]
        cache = cache_dir or os.path.join(tempfile.gettempdir(), "convalg_hostshim")
        os.makedirs(cache, exist_ok=True)
        lib = os.path.join(cache, f"shim_{tag}.so")
        if not os.path.exists(lib):
            cpp = os.path.join(cache, f"shim_{tag}.cpp")
            with open(cpp, "w") as fh:
                fh.write(src)
            tmp = lib + f".{os.getpid()}.tmp"
            res = subprocess.run([cxx, *flags, cpp, "-o", tmp],
                                 capture_output=True, text=True)
            if res.returncode:
                raise RuntimeError(f"host shim: g++ failed on {cpp}:\n{res.stderr[-4000:]}")
            os.replace(tmp, lib)
        self._lib = ctypes.CDLL(lib)
        self._lib.cv_malloc.restype = ctypes.c_void_p
        self._lib.cv_log_size.restype = ctypes.c_size_t
        self._lib.cv_log_data.restype = ctypes.POINTER(ctypes.c_longlong)
        self.kernels = {k.name: k for k in kernels}
        self.ftz = bool(self._lib.cv_host_ftz())  # float arithmetic flushes subnormals, as CuPy's -ftz=true

    def stores(self) -> np.ndarray:
        """``(thread, element)`` of every store through an output pointer since the last call, in each thread's
        program order (``trace=True`` modules); the global thread id is ``block * threads_per_block + thread``."""
        n = self._lib.cv_log_size()
        out = np.ctypeslib.as_array(self._lib.cv_log_data(), shape=(n, 2)).copy() if n else np.zeros((0, 2), np.int64)
        self._lib.cv_log_reset()
        return out

    def launch(self, ks: KernelSource, n_batch: int, *arrays: np.ndarray) -> None:
        """Run ``ks`` on C-contiguous NumPy arrays (pointer parameters in order; ``n_batch`` last)."""
        fn = getattr(self._lib, f"shim_{ks.name}")
        args: list[object] = [*map(ctypes.c_uint, ks.grid(n_batch)), *map(ctypes.c_uint, ks.block)]
        it = iter(arrays)
        copies: list[tuple[np.ndarray, int]] = []
        for ctype, pname in ks.params:
            if "*" in ctype:
                a = next(it)
                if not a.flags.c_contiguous:
                    raise ValueError(f"host shim: {pname} must be C-contiguous")
                if self.sanitized:  # an exact-size heap block: AddressSanitizer's redzones sit right after it
                    buf = self._lib.cv_malloc(ctypes.c_size_t(a.nbytes))
                    ctypes.memmove(buf, a.ctypes.data, a.nbytes)
                    copies.append((a, buf))
                    args.append(ctypes.c_void_p(buf))
                else:
                    args.append(ctypes.c_void_p(a.ctypes.data))
            else:
                args.append(_CTYPES[ctype](n_batch))
        try:
            fn(*args)
        finally:
            for a, buf in copies:
                if a.flags.writeable:
                    ctypes.memmove(a.ctypes.data, buf, a.nbytes)
                self._lib.cv_free(ctypes.c_void_p(buf))


_DTYPES = {"float": np.float32, "long long": np.int64}


class HostBackend(Backend):
    """Run :mod:`convalg.kernels.cuda.ops` on NumPy arrays through the host shim.

    ``preload(kernels)`` compiles many kernels in one ``g++`` call; other kernels
    are compiled one module each on first use.  Arrays are validated as the CuPy
    backend does (type, dtype, C-contiguity, 32-bit size).
    """

    name = "host-shim"

    def __init__(self) -> None:
        self._modules: dict[str, HostModule] = {}

    @property
    def xp(self) -> object:
        return np

    def preload(self, kernels: Sequence[KernelSource]) -> None:
        todo = [k for k in kernels if k.name not in self._modules]
        if todo:
            mod = HostModule(todo)
            for k in todo:
                self._modules[k.name] = mod

    def launch(self, ks: KernelSource, count: int, *arrays: np.ndarray) -> None:
        check_int32_size(count)
        pointers = [t for t, _ in ks.params if "*" in t]
        for (ctype, name), a in zip([p for p in ks.params if "*" in p[0]], arrays):
            if not isinstance(a, np.ndarray):
                raise TypeError(f"{name}: expected a numpy.ndarray on the host shim, got {type(a).__name__}")
            base = ctype.replace("const", "").replace("__restrict__", "").replace("*", "").strip()
            if a.dtype != _DTYPES[base]:
                raise TypeError(f"{name}: dtype {a.dtype} where the kernel needs {np.dtype(_DTYPES[base])}")
            check_int32_size(a.size)
        if len(arrays) != len(pointers):
            raise TypeError(f"{ks.name}: {len(pointers)} arrays expected, got {len(arrays)}")
        if ks.name not in self._modules:
            self.preload([ks])
        if min(ks.grid(count)) == 0:
            return
        check_grid(ks.name, ks.grid(count))
        self._modules[ks.name].launch(ks, count, *arrays)
