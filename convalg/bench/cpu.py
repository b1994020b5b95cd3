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
import contextlib
import math
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..functional import conv, conv_grad_input, conv_grad_weight
from ..kernels.base import conv_layer
from ..kernels.numpy import parallel
from ..kernels.numpy.conv import conv_plan
from ..kernels.numpy.memory import keep_freed_memory
from ..shapes.formulas import effective_kernel
from . import load_average

__all__ = ["main", "CASES", "Measure"]

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


@dataclass(frozen=True)
class Measure:
    """How a run measures: ``repeat`` timed calls (median) read on ``clock``, with ``algorithm``.

    >>> m = Measure(repeat=3, clock=time.perf_counter)
    >>> m.median_ms(lambda: None) >= 0.0
    True
    """

    repeat: int = 10
    clock: Callable[[], float] = time.perf_counter
    algorithm: str = "auto"

    def median_ms(self, fn: Callable[[], Any], repeat: int | None = None, warmup: int = 2) -> float:
        """The median time of ``fn`` in ms over ``repeat`` calls (default :attr:`repeat`) after ``warmup``."""
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(self.repeat if repeat is None else repeat):
            t0 = self.clock()
            fn()
            times.append(self.clock() - t0)
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
    padded = np.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * nd)
    kern = np.zeros((*w.shape[:2], *[effective_kernel(k, dilation) for k in w.shape[2:]]), dtype=w.dtype)
    kern[(Ellipsis, *[slice(None, None, dilation)] * nd)] = w
    flipped = kern[(Ellipsis, *[slice(None, None, -1)] * nd)]
    out = None
    for n in range(x.shape[0]):
        for co in range(w.shape[0]):
            acc = sum(fftconvolve(padded[n, ci], flipped[co, ci], mode="valid") for ci in range(w.shape[1]))
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


def _calibrate(measure: Measure) -> None:
    import scipy.fft as sfft

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    ms = measure.median_ms(lambda: a @ a, 5)
    print(f"sgemm 1024^3: {2 * 1024**3 / ms / 1e6:.1f} GFLOP/s")
    u, v = rng.standard_normal((36, 64, 64)).astype(np.float32), rng.standard_normal((36, 64, 196)).astype(np.float32)
    ms = measure.median_ms(lambda: np.matmul(u, v), 5)
    print(f"batched sgemm 36x(64x64x196) (winograd): {2 * 36 * 64 * 64 * 196 / ms / 1e6:.1f} GFLOP/s")
    cw = (rng.standard_normal((684, 16, 16)) + 1j).astype(np.complex64)
    cx = (rng.standard_normal((684, 16, 25)) + 1j).astype(np.complex64)
    ms = measure.median_ms(lambda: np.matmul(cw, cx), 5)
    print(f"batched cgemm 684x(16x16x25) (fft channel sum, overlap-save tiles): "
          f"{8 * 684 * 256 * 25 / ms / 1e6:.2f} GFLOP/s")
    x = rng.standard_normal((16, 140, 140)).astype(np.float32)
    ms = measure.median_ms(lambda: sfft.rfftn(x, axes=(1, 2), workers=-1), 5)
    print(f"rfftn 16x140x140: {5 * 16 * 140 * 140 * math.log2(140 * 140) / 2 / ms / 1e6:.2f} GFLOP/s")
    big = rng.standard_normal(8 << 20).astype(np.float32)
    ms = measure.median_ms(lambda: big.copy(), 5)
    print(f"copy: {2 * big.nbytes / ms / 1e6:.1f} GB/s")


def _parser() -> argparse.ArgumentParser:
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
    return parser


@contextlib.contextmanager
def _thread_limit(threads: int) -> Iterator[bool]:
    """Run the block with ``threads`` threads in BLAS, torch, scipy.fft and convalg's chunk threads (0: as is);
    yields whether the BLAS limiter is on.  Everything is set back when the block ends."""
    if not threads:
        yield False
        return
    with contextlib.ExitStack() as stack:
        limiter = None
        try:
            from threadpoolctl import threadpool_limits

            limiter = stack.enter_context(threadpool_limits(threads))
        except ImportError:
            print("  note: threadpoolctl not installed, BLAS threads not limited")
        try:
            import torch

            stack.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(threads)
        except ImportError:
            pass
        stack.enter_context(parallel.thread_limit(threads))  # convalg's chunk threads and scipy.fft workers
        yield limiter is not None


def _print_header(args: argparse.Namespace, kept: bool, limited: bool) -> None:
    load = load_average()
    print(f"convalg bench cpu: BLAS {_blas_info()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  allocator: {'TUNED (--keep-memory: glibc keeps freed memory)' if kept else 'plain process'}; "
          f"numpy {np.__version__}; "
          f"threads: {args.threads or 'default'}; clock: {'process CPU time' if args.cpu_time else 'wall'}; "
          f"BLAS limiter: {'on' if limited else 'off'}; convalg chunk threads: {_kernel_workers()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if var in os.environ:
            print(f"  note: {var}={os.environ[var]} is set")


@dataclass
class _Ratios:
    forward: list[float]
    backward: list[float]


def _case_row(case: tuple[Any, ...], x: np.ndarray, w: np.ndarray, y: np.ndarray, gy: np.ndarray,
              measure: Measure, args: argparse.Namespace, ratios: _Ratios) -> str:
    """Measure one anchor case (convalg, then torch, then scipy) and format its row."""
    name, n, c, spatial, cout, k, s, p, d = case
    nd = len(spatial)
    alg_name = measure.algorithm
    alg = conv_plan(conv_layer(x.shape, w.shape, s, p, d, 1), x.shape, "float32", alg_name).algorithm
    gflop = 2.0 * n * cout * c * k**nd * math.prod(y.shape[2:]) / 1e9

    def forward() -> None:
        conv(x, w, None, s, p, d, algorithm=alg_name)

    def backward() -> None:
        conv_grad_input(gy, w, x.shape, s, p, d, algorithm=alg_name)
        conv_grad_weight(x, gy, w.shape, s, p, d, algorithm=alg_name)

    # convalg's and torch's repeats run in separate blocks: interleaving single calls made OpenBLAS's
    # and torch's OpenMP threads (both spin a while after a call) preempt each other on 2 cores
    fwd = measure.median_ms(forward)
    bwd = measure.median_ms(backward)
    t_fwd, t_bwd = _torch_times(x, w, gy, s, p, d, measure)
    if not math.isnan(t_fwd):
        ratios.forward.append(t_fwd / fwd)
        ratios.backward.append(t_bwd / bwd)
    sc = "skipped"
    if not args.no_scipy:
        one = measure.median_ms(lambda: _scipy_forward(x[:1, :1], w[:1, :1], s, p, d), 1, warmup=1) / 1e3
        if one * n * c * cout <= args.scipy_limit:
            sc = f"{measure.median_ms(lambda: _scipy_forward(x, w, s, p, d), 3, warmup=1):9.1f}"
    peak = _peak_bytes(lambda: conv(x, w, None, s, p, d, algorithm=alg_name))
    io = x.nbytes + w.nbytes + y.nbytes
    return (f"{name:22s} {alg:8s} {fwd:8.3f} {gflop / fwd * 1e3:6.1f} {t_fwd:8.3f} {t_fwd / fwd:6.2f} "
            f"{bwd:8.3f} {2 * gflop / bwd * 1e3:6.1f} {t_bwd:8.3f} {t_bwd / bwd:6.2f} {sc:>9s} "
            f"{peak / io:8.2f}")


def _torch_times(x: np.ndarray, w: np.ndarray, gy: np.ndarray, s: int, p: int, d: int,
                 measure: Measure) -> tuple[float, float]:
    """torch's forward and backward (``aten.convolution_backward``) median ms; NaN without torch."""
    nd = x.ndim - 2
    ops = _torch_ops(nd)
    if ops is None:
        return float("nan"), float("nan")
    torch, tconv = ops
    xt, wt, gt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(gy)
    with torch.no_grad():
        t_fwd = measure.median_ms(lambda: tconv(xt, wt, None, s, p, d))
        t_bwd = measure.median_ms(lambda: torch.ops.aten.convolution_backward(
            gt, xt, wt, None, [s] * nd, [p] * nd, [d] * nd, False, [0] * nd, 1, [True, True, False]))
    return t_fwd, t_bwd


def _print_summary(rows: list[str], ratios: _Ratios, args: argparse.Namespace) -> None:
    header = (f"{'case':22s} {'alg':8s} {'fwd ms':>8s} {'GF/s':>6s} {'torch':>8s} {'ratio':>6s} {'bwd ms':>8s} "
              f"{'GF/s':>6s} {'torch':>8s} {'ratio':>6s} {'scipy ms':>9s} {'peak/io':>8s}")
    print(header)
    print("\n".join(rows))
    if ratios.forward:
        gm = lambda r: math.exp(sum(map(math.log, r)) / len(r))  # noqa: E731
        print(f"geometric mean torch/convalg: forward {gm(ratios.forward):.2f}, backward {gm(ratios.backward):.2f} "
              f"over {len(ratios.forward)} cases (targets: >= 1.0, >= 1.2)")
    else:
        print("torch not importable: no ratios")
    load = load_average()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; scipy 'skipped' = predicted "
          f"> {args.scipy_limit} s per call or --no-scipy; peak/io = tracemalloc peak of one forward call / "
          "(input + output + weight bytes)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv or [])
    kept = keep_freed_memory() if args.keep_memory else False
    measure = Measure(args.repeat, time.process_time if args.cpu_time else time.perf_counter, args.algorithm)
    with _thread_limit(args.threads) as limited:
        _print_header(args, kept, limited)
        if args.calibrate:
            _calibrate(measure)
            return 0
        wanted = {int(c) for c in args.cases.split(",") if c.strip()}
        rng = np.random.default_rng(0)
        rows: list[str] = []
        ratios = _Ratios([], [])
        for number, case in enumerate(CASES, start=1):
            if wanted and number not in wanted:
                continue
            name, n, c, spatial, cout, k, s, p, d = case
            print(f"[{number}/{len(CASES)}] {name} ...", file=sys.stderr, flush=True)
            x = rng.standard_normal((n, c, *spatial)).astype(np.float32)
            w = (rng.standard_normal((cout, c, *(k,) * len(spatial))) / math.sqrt(c * k ** len(spatial))).astype(np.float32)
            y = conv(x, w, None, s, p, d, algorithm=args.algorithm)
            gy = rng.standard_normal(y.shape).astype(np.float32)
            rows.append(_case_row(case, x, w, y, gy, measure, args, ratios))
            print(rows[-1], file=sys.stderr, flush=True)
    _print_summary(rows, ratios, args)
    return 0
