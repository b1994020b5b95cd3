"""SHA-256 fingerprints of the references' and the NumPy kernels' outputs on a fixed set of cases.

A refactor that must not change behaviour is checked by running this on the commits before and
after and comparing the lines: ``python tests/fingerprint.py > before.txt`` on one checkout, the
same on the other, then ``diff``.  Each line is ``<case>  <sha256 of the output bytes>``; inputs
come from a seeded generator, so the lines depend only on the code (and on the machine's BLAS /
FFT, which is why the fingerprints are compared between commits on one machine, not stored).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import convalg.functional as F
from convalg import reference
from convalg.reference import direct

__all__ = ["cases", "cuda_cases", "main"]

_CONV = [  # (x shape, weight shape, keyword arguments)
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),
    ((2, 4, 11, 10), (6, 2, 3, 2), dict(stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2)),
    ((1, 3, 12), (4, 3, 5), dict(stride=3, padding=2, padding_mode="reflect")),
    ((1, 2, 7, 6), (3, 2, 3, 3), dict(padding=2, padding_mode="circular")),
    ((1, 2, 6, 7), (2, 2, 2, 3), dict(padding=1, padding_mode="replicate", flip_kernel=True)),
    ((1, 2, 5, 5, 4), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
    ((1, 16, 14, 14), (16, 16, 3, 3), dict(padding=1)),
    ((2, 8, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=8)),
]
_TRANSPOSE = [
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 7), (4, 2, 4), dict(stride=3, groups=2, dilation=2)),
]
_POOL = [  # (x shape, kernel_size, keyword arguments)
    ((2, 3, 9, 8), 3, dict(stride=2, padding=1)),
    ((1, 2, 10, 7), (2, 3), dict(ceil_mode=True, dilation=(2, 1))),
    ((1, 2, 6, 6, 5), 2, dict()),
]
_AVG = [
    ((2, 3, 9, 8), 3, dict(stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 10, 7), (2, 3), dict(ceil_mode=True, divisor_override=5)),
]
_ALGORITHMS = ("auto", "gemm", "fft", "winograd", "direct")


def _digest(a: Any) -> str:
    arr = np.ascontiguousarray(np.asarray(a))
    return hashlib.sha256(arr.dtype.str.encode() + str(arr.shape).encode() + arr.tobytes()).hexdigest()[:24]


def _draw(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def cases() -> Iterator[tuple[str, Callable[[], Any]]]:
    """``(name, thunk)`` for every fixed case; each thunk draws its inputs from its own seed."""
    for i, (xs, ws, kw) in enumerate(_CONV):
        def run_conv(lib: Any, dtype: Any, xs=xs, ws=ws, kw=kw, i=i, **extra: Any) -> Any:
            rng = np.random.default_rng(i)
            x, w = _draw(rng, xs, dtype), _draw(rng, ws, dtype)
            y = lib.conv(x, w, **kw, **extra)
            g = _draw(rng, y.shape, dtype)
            grads = []
            if kw.get("padding_mode", "zeros") == "zeros" or lib is not direct:
                grads.append(lib.conv_grad_input(g, w, xs, **kw, **extra))
            grads.append(lib.conv_grad_weight(x, g, ws, **kw, **extra))
            return (y, *grads)

        yield f"conv{i} reference.fft", lambda f=run_conv: f(reference, np.float64)
        yield f"conv{i} reference.direct", lambda f=run_conv: f(direct, np.float64)
        for dtype in (np.float64, np.float32):
            for algo in _ALGORITHMS:
                yield (f"conv{i} functional {np.dtype(dtype).name} {algo}",
                       lambda f=run_conv, d=dtype, a=algo: f(F, d, algorithm=a))
    for i, (xs, ws, kw) in enumerate(_TRANSPOSE):
        def run_transpose(lib: Any, dtype: Any, xs=xs, ws=ws, kw=kw, i=i, **extra: Any) -> Any:
            rng = np.random.default_rng(100 + i)
            return lib.conv_transpose(_draw(rng, xs, dtype), _draw(rng, ws, dtype), **kw, **extra)

        yield f"transpose{i} reference.fft", lambda f=run_transpose: f(reference, np.float64)
        yield f"transpose{i} reference.direct", lambda f=run_transpose: f(direct, np.float64)
        for algo in _ALGORITHMS:
            yield f"transpose{i} functional float32 {algo}", lambda f=run_transpose, a=algo: f(F, np.float32, algorithm=a)
    for i, (xs, k, kw) in enumerate(_POOL):
        def run_max(lib: Any, dtype: Any, xs=xs, k=k, kw=kw, i=i) -> Any:
            x = _draw(np.random.default_rng(200 + i), xs, dtype)
            y, idx = lib.max_pool(x, k, **kw, return_indices=True)
            return y, idx, lib.max_pool_grad(y * 2, idx, xs)

        yield f"max_pool{i} reference", lambda f=run_max: f(reference, np.float64)
        yield f"max_pool{i} functional", lambda f=run_max: f(F, np.float32)
    for i, (xs, k, kw) in enumerate(_AVG):
        def run_avg(lib: Any, dtype: Any, xs=xs, k=k, kw=kw, i=i) -> Any:
            x = _draw(np.random.default_rng(300 + i), xs, dtype)
            y = lib.avg_pool(x, k, **kw)
            return y, lib.avg_pool_grad(y * 2, xs, k, **kw)

        yield f"avg_pool{i} reference", lambda f=run_avg: f(reference, np.float64)
        yield f"avg_pool{i} functional", lambda f=run_avg: f(F, np.float32)
    for lib, name in ((reference, "reference"), (F, "functional")):
        def run_adaptive(lib: Any = lib) -> Any:
            x = _draw(np.random.default_rng(400), (2, 3, 11, 7), np.float64)
            y, idx = lib.adaptive_max_pool(x, (4, 3), return_indices=True)
            return y, idx, lib.adaptive_avg_pool(x, (5, None))

        yield f"adaptive {name}", run_adaptive


def _host_shim() -> Any:
    """The CUDA backend's ops under the host shim (the generated kernels compiled for the CPU), or None."""
    try:
        from convalg.kernels.cuda import ops
        from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
        from convalg.kernels.cuda.runtime import using_backend
    except ImportError:
        return None
    return (ops, HostBackend, using_backend) if host_compiler() is not None else None


def cuda_cases() -> Iterator[tuple[str, Callable[[], Any]]]:
    """The CUDA ops on the host shim: every convolution pass by each algorithm, the pools."""
    shim = _host_shim()
    if shim is None:
        return
    ops, _, _ = shim

    def gemm_name() -> str:  # the implicit GEMM's algorithm name
        return "gemm" if "gemm" in getattr(ops, "ALGORITHMS", ("gemm",)) else "igemm"

    for i, (xs, ws, kw) in enumerate(_CONV[:2] + _CONV[6:]):
        for algo in ("direct", "gemm", "fft", "auto"):
            def run(xs=xs, ws=ws, kw=kw, i=i, algo=algo) -> Any:
                a = gemm_name() if algo == "gemm" else algo
                rng = np.random.default_rng(500 + i)
                x, w = _draw(rng, xs, np.float32), _draw(rng, ws, np.float32)
                y = ops.conv(x, w, algorithm=a, **kw)
                g = _draw(rng, y.shape, np.float32)
                return (y, ops.conv_grad_input(g, w, xs, algorithm=a, **kw),
                        ops.conv_grad_weight(x, g, ws, algorithm=a, **kw))

            yield f"cuda conv{i} {algo}", run
    for i, (xs, ws, kw) in enumerate(_TRANSPOSE):
        def run_t(xs=xs, ws=ws, kw=kw, i=i) -> Any:
            rng = np.random.default_rng(600 + i)
            return ops.conv_transpose(_draw(rng, xs, np.float32), _draw(rng, ws, np.float32), **kw)

        yield f"cuda transpose{i}", run_t
    for i, (xs, k, kw) in enumerate(_POOL[:2]):
        def run_max(xs=xs, k=k, kw=kw, i=i) -> Any:
            y, idx = ops.max_pool(_draw(np.random.default_rng(700 + i), xs, np.float32), k, **kw, return_indices=True)
            return y, idx, ops.max_pool_grad(y * 2, idx, xs)

        yield f"cuda max_pool{i}", run_max


def main() -> int:
    shim = _host_shim()
    if shim is not None:
        _, host_backend, using_backend = shim
        with using_backend(host_backend()):
            _print(cuda_cases())
    _print(cases())
    return 0


def _print(named: Iterator[tuple[str, Callable[[], Any]]]) -> None:
    for name, thunk in named:
        try:
            out = thunk()
            outs = out if isinstance(out, tuple) else (out,)
            print(f"{name:44s} {' '.join(_digest(o) for o in outs)}")
        except Exception as e:  # a case an algorithm does not take: the error is part of the behaviour
            print(f"{name:44s} {type(e).__name__}: {e}")


if __name__ == "__main__":
    raise SystemExit(main())
