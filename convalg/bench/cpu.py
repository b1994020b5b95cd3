"""``convalg bench cpu``: generated NumPy kernels vs PyTorch CPU and scipy.signal on the anchor cases.

Cases are the eight CPU anchor cases of ``CASES`` (float32, channels-first,
cross-correlation).  Per case, in one run: median ms and GFLOP/s of the
forward (``convalg.functional.conv``, ``algorithm='auto'`` unless
``--algorithm``) and backward (input + weight gradient, counted as 2x the
forward FLOPs), the same for ``torch`` (when importable; backward with
``aten.convolution_backward``; convalg's repeats, then torch's: alternating
single calls made the two libraries' spinning worker threads preempt each
other on 2 cores), ``scipy.signal.fftconvolve`` per channel pair
(forward only, skipped when one call is predicted to take more than
``--scipy-limit`` seconds), the ratio ``torch_time / convalg_time`` and the
geometric means; plus the peak memory of one convalg forward call
(``tracemalloc``) against input + output + weight bytes.

OpenBLAS may be slowed by ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` on some
machines; run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` and check
the BLAS line printed at the start (``threadpoolctl``, when installed).

The run measures a plain process, as a user's: the allocator is left alone.
``--keep-memory`` opts in to :func:`convalg.kernels.numpy.memory.keep_freed_memory`
(glibc keeps freed blocks, so NumPy temporaries stop paying a page fault per 4 KiB;
torch has its own caching allocator); the header line says which was measured.

``--calibrate`` prints the throughputs of the primitives behind the cost model, to compare
with the hand-set constants of :mod:`convalg.kernels.numpy.cost` (its docstring says how
they were set and how to recalibrate).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["main", "CASES"]

#: (name, N, C_in, spatial, C_out, kernel, stride, padding, dilation): the anchor cases.
CASES = (
    ("1 64x56x56 k3", 1, 64, (56, 56), 64, 3, 1, 1, 1),
    ("2 8x64x56x56 k3", 8, 64, (56, 56), 64, 3, 1, 1, 1),
    ("3 256x14x14 k3", 1, 256, (14, 14), 256, 3, 1, 1, 1),
    ("4 3x224x224 k7s2", 1, 3, (224, 224), 64, 7, 2, 3, 1),
    ("5 64x56x56 k1", 1, 64, (56, 56), 64, 1, 1, 0, 1),
    ("6 32x64x64 k3d2", 1, 32, (64, 64), 32, 3, 1, 2, 2),
    ("7 16x128x128 k11", 1, 16, (128, 128), 16, 11, 1, 5, 1),
    ("8 1-D 16x16384 k63", 1, 16, (16384,), 16, 63, 1, 31, 1),
)


CLOCK = time.perf_counter


def _median_ms(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return 1e3 * statistics.median(times)


def _blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed (pip install threadpoolctl to see the BLAS kernel)"
    parts = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}"
             for i in threadpool_info()]
    return "; ".join(parts) or "no BLAS found"


def _kernel_workers() -> str:
    from ..kernels.numpy import parallel

    pinned = "BLAS pinned to 1 inside" if parallel.blas_controllable() else "BLAS not controllable: serial"
    return f"{parallel.KERNEL_WORKERS} ({pinned})"


def _torch_ops(nd: int) -> Any:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    return torch, {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]


def _scipy_forward(x: np.ndarray, w: np.ndarray, stride: int, padding: int, dilation: int) -> np.ndarray:
    from scipy.signal import fftconvolve

    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * nd)
    kern = np.zeros((*w.shape[:2], *[dilation * (k - 1) + 1 for k in w.shape[2:]]), dtype=w.dtype)
    kern[(Ellipsis, *[slice(None, None, dilation)] * nd)] = w
    flipped = kern[(Ellipsis, *[slice(None, None, -1)] * nd)]
    out = None
    for n in range(x.shape[0]):
        for co in range(w.shape[0]):
            acc = sum(fftconvolve(xp[n, ci], flipped[co, ci], mode="valid") for ci in range(w.shape[1]))
            acc = acc[tuple(slice(None, None, stride) for _ in range(nd))]
            if out is None:
                out = np.empty((x.shape[0], w.shape[0], *acc.shape), dtype=x.dtype)
            out[n, co] = acc
    return out


def _peak_bytes(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _calibrate() -> None:
    import scipy.fft as sfft

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    ms = _median_ms(lambda: a @ a, 5)
    print(f"sgemm 1024^3: {2 * 1024**3 / ms / 1e6:.1f} GFLOP/s")
    u, v = rng.standard_normal((36, 64, 64)).astype(np.float32), rng.standard_normal((36, 64, 196)).astype(np.float32)
    ms = _median_ms(lambda: np.matmul(u, v), 5)
    print(f"batched sgemm 36x(64x64x196) (winograd): {2 * 36 * 64 * 64 * 196 / ms / 1e6:.1f} GFLOP/s")
    cw = (rng.standard_normal((684, 16, 16)) + 1j).astype(np.complex64)
    cx = (rng.standard_normal((684, 16, 25)) + 1j).astype(np.complex64)
    ms = _median_ms(lambda: np.matmul(cw, cx), 5)
    print(f"batched cgemm 684x(16x16x25) (fft channel sum, overlap-save tiles): "
          f"{8 * 684 * 256 * 25 / ms / 1e6:.2f} GFLOP/s")
    x = rng.standard_normal((16, 140, 140)).astype(np.float32)
    ms = _median_ms(lambda: sfft.rfftn(x, axes=(1, 2), workers=-1), 5)
    print(f"rfftn 16x140x140: {5 * 16 * 140 * 140 * math.log2(140 * 140) / 2 / ms / 1e6:.2f} GFLOP/s")
    big = rng.standard_normal(8 << 20).astype(np.float32)
    ms = _median_ms(lambda: big.copy(), 5)
    print(f"copy: {2 * big.nbytes / ms / 1e6:.1f} GB/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="convalg bench cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed repeats per measurement (median)")
    parser.add_argument("--cases", default="", help="comma-separated case numbers (default: all)")
    parser.add_argument("--algorithm", default="auto", help="convalg algorithm (default auto)")
    parser.add_argument("--scipy-limit", type=float, default=3.0, help="skip scipy when one call takes longer (s)")
    parser.add_argument("--no-scipy", action="store_true", help="skip scipy.signal")
    parser.add_argument("--calibrate", action="store_true", help="print the primitive throughputs behind the cost model and exit")
    parser.add_argument("--threads", type=int, default=0,
                        help="limit BLAS (threadpoolctl), scipy.fft workers, convalg's chunk threads and torch "
                             "to this many threads "
                             "(0: leave as is)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with process CPU time instead of wall time (steadier on a loaded machine; "
                             "use with --threads 1)")
    parser.add_argument("--keep-memory", action="store_true",
                        help="opt in: raise glibc's malloc thresholds first (convalg.kernels.numpy.memory; "
                             "not what a user's process gets)")
    args = parser.parse_args(argv or [])
    from ..kernels.numpy.memory import keep_freed_memory

    kept = keep_freed_memory() if args.keep_memory else False
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    limiter = None
    if args.threads:
        try:
            from threadpoolctl import threadpool_limits

            limiter = threadpool_limits(args.threads)
        except ImportError:
            print("  note: threadpoolctl not installed, BLAS threads not limited")
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
        from ..kernels.numpy import fft as fftmod

        fftmod.WORKERS = args.threads  # scipy.fft workers of the FFT kernels
        from ..kernels.numpy import parallel

        parallel.KERNEL_WORKERS = args.threads  # convalg's own chunk threads (map_chunks)
    from ..functional import conv, conv_grad_input, conv_grad_weight
    from ..kernels.numpy.conv import conv_plan
    from ..kernels.numpy.ops import _layer

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"convalg bench cpu: BLAS {_blas_info()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  allocator: {'TUNED (--keep-memory: glibc keeps freed memory)' if kept else 'plain process'}; "
          f"numpy {np.__version__}; "
          f"threads: {args.threads or 'default'}; clock: {'process CPU time' if args.cpu_time else 'wall'}; "
          f"BLAS limiter: {'on' if limiter is not None else 'off'}; convalg chunk threads: {_kernel_workers()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if var in os.environ:
            print(f"  note: {var}={os.environ[var]} is set")
    if args.calibrate:
        _calibrate()
        return 0
    wanted = {int(c) for c in args.cases.split(",") if c.strip()}
    rng = np.random.default_rng(0)
    rows, fwd_ratios, bwd_ratios = [], [], []
    header = (f"{'case':22s} {'alg':8s} {'fwd ms':>8s} {'GF/s':>6s} {'torch':>8s} {'ratio':>6s} {'bwd ms':>8s} "
              f"{'GF/s':>6s} {'torch':>8s} {'ratio':>6s} {'scipy ms':>9s} {'peak/io':>8s}")
    for number, (name, n, c, spatial, cout, k, s, p, d) in enumerate(CASES, start=1):
        if wanted and number not in wanted:
            continue
        print(f"[{number}/{len(CASES)}] {name} ...", file=sys.stderr, flush=True)
        nd = len(spatial)
        x = rng.standard_normal((n, c, *spatial)).astype(np.float32)
        w = (rng.standard_normal((cout, c, *(k,) * nd)) / math.sqrt(c * k**nd)).astype(np.float32)
        y = conv(x, w, None, s, p, d, algorithm=args.algorithm)
        gy = rng.standard_normal(y.shape).astype(np.float32)
        alg = conv_plan(_layer(x, w, s, p, d, 1), x.shape, "float32", args.algorithm).algorithm
        gflop = 2.0 * n * cout * c * k**nd * math.prod(y.shape[2:]) / 1e9

        def forward() -> None:
            conv(x, w, None, s, p, d, algorithm=args.algorithm)  # noqa: B023

        def backward() -> None:
            conv_grad_input(gy, w, x.shape, s, p, d, algorithm=args.algorithm)  # noqa: B023
            conv_grad_weight(x, gy, w.shape, s, p, d, algorithm=args.algorithm)  # noqa: B023

        # convalg's and torch's repeats run in separate blocks: interleaving single calls made OpenBLAS's
        # and torch's OpenMP threads (both spin a while after a call) preempt each other on 2 cores
        fwd = _median_ms(forward, args.repeat)
        bwd = _median_ms(backward, args.repeat)
        t_fwd = t_bwd = float("nan")
        ops = _torch_ops(nd)
        if ops is not None:
            torch, tconv = ops
            xt, wt, gt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(gy)
            with torch.no_grad():
                t_fwd = _median_ms(lambda: tconv(xt, wt, None, s, p, d), args.repeat)  # noqa: B023
                t_bwd = _median_ms(lambda: torch.ops.aten.convolution_backward(  # noqa: B023
                    gt, xt, wt, None, [s] * nd, [p] * nd, [d] * nd, False, [0] * nd, 1, [True, True, False]),  # noqa: B023
                    args.repeat)
            fwd_ratios.append(t_fwd / fwd)
            bwd_ratios.append(t_bwd / bwd)
        sc = "skipped"
        if not args.no_scipy:
            one = _median_ms(lambda: _scipy_forward(x[:1, :1], w[:1, :1], s, p, d), 1, warmup=1) / 1e3  # noqa: B023
            if one * n * c * cout <= args.scipy_limit:
                sc = f"{_median_ms(lambda: _scipy_forward(x, w, s, p, d), 3, warmup=1):9.1f}"  # noqa: B023
        peak = _peak_bytes(lambda: conv(x, w, None, s, p, d, algorithm=args.algorithm))  # noqa: B023
        io = x.nbytes + w.nbytes + y.nbytes
        rows.append(f"{name:22s} {alg:8s} {fwd:8.3f} {gflop / fwd * 1e3:6.1f} {t_fwd:8.3f} {t_fwd / fwd:6.2f} "
                    f"{bwd:8.3f} {2 * gflop / bwd * 1e3:6.1f} {t_bwd:8.3f} {t_bwd / bwd:6.2f} {sc:>9s} "
                    f"{peak / io:8.2f}")
        print(rows[-1], file=sys.stderr, flush=True)
    print(header)
    print("\n".join(rows))
    if fwd_ratios:
        gm = lambda r: math.exp(sum(map(math.log, r)) / len(r))  # noqa: E731
        print(f"geometric mean torch/convalg: forward {gm(fwd_ratios):.2f}, backward {gm(bwd_ratios):.2f} "
              f"over {len(fwd_ratios)} cases (targets: >= 1.0, >= 1.2)")
    else:
        print("torch not importable: no ratios")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; scipy 'skipped' = predicted "
          f"> {args.scipy_limit} s per call or --no-scipy; peak/io = tracemalloc peak of one forward call / "
          "(input + output + weight bytes)")
    return 0
