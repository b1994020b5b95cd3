"""Compile generated sources with NVRTC to a cubin, as CuPy does, without a GPU (``ctypes`` on ``libnvrtc``).

CuPy compiles every ``RawModule`` through NVRTC with the caller's options followed by
:data:`CUPY_APPENDED` (which it always adds, so it wins over the caller's) and the
device's ``-arch``.  :func:`compile_cubin` does the same for ``sm_90`` and returns
the cubin with the program log; ``-Xptxas -v`` in the options puts ptxas's
resource report (registers, spills, shared memory) in that log, which
:func:`resource_usage` reads.

``libnvrtc`` comes from the ``nvidia-cuda-nvrtc-cu12`` wheel (the ``test`` extra)
or from the system; :func:`load_nvrtc` returns None when neither is there.

>>> usage = resource_usage('''ptxas info    : Compiling entry function 'cv_a' for 'sm_90'
... ptxas info    : Function properties for cv_a
...     0 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
... ptxas info    : Used 40 registers, used 1 barriers, 512 bytes smem''')
>>> usage["cv_a"]
{'stack': 0, 'spill_stores': 8, 'spill_loads': 4, 'registers': 40, 'smem': 512}
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import re
from collections.abc import Sequence

from .runtime import NVRTC_OPTIONS

__all__ = ["CUPY_APPENDED", "cupy_options", "load_nvrtc", "compile_cubin", "resource_usage"]

CUPY_APPENDED = ("-ftz=true",)


def cupy_options(arch: str = "sm_90") -> tuple[str, ...]:
    """The option list CuPy hands NVRTC for our kernels on a device of ``arch``."""
    return (*NVRTC_OPTIONS, *CUPY_APPENDED, f"-arch={arch}")


def load_nvrtc() -> ctypes.CDLL | None:
    """``libnvrtc`` from the ``nvidia-cuda-nvrtc-cu12`` wheel, else from the loader path; None if absent."""
    spec = importlib.util.find_spec("nvidia.cuda_nvrtc")
    paths = []
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            paths += sorted(glob.glob(os.path.join(root, "lib", "libnvrtc.so*")))
    paths += ["libnvrtc.so.12", "libnvrtc.so"]
    for path in paths:
        if ".alt." in path or "builtins" in path:
            continue
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _check(lib: ctypes.CDLL, status: int, what: str) -> None:
    if status:
        lib.nvrtcGetErrorString.restype = ctypes.c_char_p
        raise RuntimeError(f"{what}: {lib.nvrtcGetErrorString(status).decode()}")


def compile_cubin(lib: ctypes.CDLL, source: str, options: Sequence[str]) -> tuple[bytes | None, str]:
    """``(cubin, log)``; ``cubin`` is None when compilation fails (the log says why)."""
    prog = ctypes.c_void_p()
    _check(lib, lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"convalg.cu", 0, None, None),
           "nvrtcCreateProgram")
    try:
        opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
        status = lib.nvrtcCompileProgram(prog, len(options), opts)
        size = ctypes.c_size_t()
        _check(lib, lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size)), "nvrtcGetProgramLogSize")
        buf = ctypes.create_string_buffer(size.value)
        _check(lib, lib.nvrtcGetProgramLog(prog, buf), "nvrtcGetProgramLog")
        log = buf.value.decode(errors="replace")
        if status:
            return None, log
        _check(lib, lib.nvrtcGetCUBINSize(prog, ctypes.byref(size)), "nvrtcGetCUBINSize")
        cubin = ctypes.create_string_buffer(size.value)
        _check(lib, lib.nvrtcGetCUBIN(prog, cubin), "nvrtcGetCUBIN")
        return cubin.raw, log
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def resource_usage(log: str) -> dict[str, dict[str, int]]:
    """Per kernel: stack frame, spill stores / loads (bytes), registers and static shared memory, from ptxas -v
    (nvcc's and NVRTC's logs alike)."""
    out: dict[str, dict[str, int]] = {}
    name = None
    for line in log.splitlines():
        if m := re.search(r"Function properties for (\w+)", line):
            name = m.group(1)
            out[name] = {"stack": 0, "spill_stores": 0, "spill_loads": 0, "registers": 0, "smem": 0}
        elif name and (m := re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads",
                                      line)):
            out[name].update(stack=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
        elif name and (m := re.search(r"Used (\d+) registers", line)):
            out[name]["registers"] = int(m.group(1))
            if sm := re.search(r"(\d+) bytes smem", line):
                out[name]["smem"] = int(sm.group(1))
    return out
