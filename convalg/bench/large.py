"""``convalg bench large``: large single problems, each in a fresh process (cold call, warm call, memory).

A user's process meets a shape once: the first call pays the planning, and every
byte a plan or cache keeps stays in the process.  Each case runs in its own
``python`` subprocess (nothing cached, plain allocator: no ``mallopt`` tuning) and
reports

==============  ==================================================================
column          meaning
==============  ==================================================================
``first s``     wall time of the process's first call (lazy imports of the kernel modules,
                scipy.fft, threadpoolctl, and the planning)
``cold s``      wall time of the first call on this shape after a warm-up call on a small
                shape of the same op (what a new shape costs); ``cpu`` its process CPU time
                (steadier on a loaded machine)
``warm ms``     median of the next ``--repeat`` calls
``peak MiB``    ``tracemalloc`` peak of the first call (NumPy's allocations)
``rss MiB``     the subprocess's maximum resident set (``ru_maxrss``) at the end
``io MiB``      input + weight + output bytes
``peer ms``     median of the peer: ``scipy.signal.fftconvolve`` / ``oaconvolve``
                (the faster) for single-channel convolutions, torch otherwise
==============  ==================================================================

``--cases 1,3`` picks cases; ``--case N`` runs one case in this process (what the
subprocesses do); ``--pools`` times pooling forward and backward against torch on large
planes in this process (each library in its own block).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F  # noqa: N812
from . import load_average

__all__ = ["main", "CASES"]

#: (name, op, x shape, weight shape or pooling kernel, keyword arguments); float32.
CASES: tuple[tuple[str, str, tuple[int, ...], Any, dict[str, Any]], ...] = (
    ("1x1x512x512 k31", "conv", (1, 1, 512, 512), (1, 1, 31, 31), {"padding": 15}),
    ("1x1x1024x1024 k31", "conv", (1, 1, 1024, 1024), (1, 1, 31, 31), {"padding": 15}),
    ("1x1x2048x2048 k15", "conv", (1, 1, 2048, 2048), (1, 1, 15, 15), {"padding": 7}),
    ("1x1x96^3 k7", "conv", (1, 1, 96, 96, 96), (1, 1, 7, 7, 7), {"padding": 3}),
    ("1-D 10^6 k255", "conv", (1, 1, 10**6), (1, 1, 255), {"padding": 127}),
    ("avg_pool 512^2 k31 s1 p15", "avg_pool", (1, 1, 512, 512), 31, {"stride": 1, "padding": 15}),
    ("max_pool 8x1024^2 k3 s1 p1", "max_pool", (1, 8, 1024, 1024), 3, {"stride": 1, "padding": 1}),
    ("4x16x256x256 -> 16 k9", "conv", (4, 16, 256, 256), (16, 16, 9, 9), {"padding": 4}),
)


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _peer(op: str, x: np.ndarray, w: Any, kw: dict[str, Any]) -> tuple[str, Callable[[], Any]] | None:
    nd = x.ndim - 2
    if op == "conv" and x.shape[1] == 1 and np.ndim(w) and w.shape[0] == 1:
        from scipy.signal import fftconvolve, oaconvolve

        p = kw.get("padding", 0)
        padded = np.pad(x[0, 0], p)
        kern = np.ascontiguousarray(w[0, 0][(slice(None, None, -1),) * nd])
        t_fft = _median_ms(lambda: fftconvolve(padded, kern, mode="valid"), 2)
        t_oa = _median_ms(lambda: oaconvolve(padded, kern, mode="valid"), 2)
        name, fn = ("fftconvolve", fftconvolve) if t_fft <= t_oa else ("oaconvolve", oaconvolve)
        return f"scipy {name}", lambda: fn(padded, kern, mode="valid")
    try:
        import torch
        import torch.nn.functional as tf
    except ImportError:
        return None
    xt = torch.from_numpy(x)
    if op == "conv":
        wt = torch.from_numpy(w)
        fn = {1: tf.conv1d, 2: tf.conv2d, 3: tf.conv3d}[nd]
        return "torch", lambda: fn(xt, wt, None, 1, kw.get("padding", 0))
    pool = {"avg_pool": {1: tf.avg_pool1d, 2: tf.avg_pool2d, 3: tf.avg_pool3d},
            "max_pool": {1: tf.max_pool1d, 2: tf.max_pool2d, 3: tf.max_pool3d}}[op][nd]
    return "torch", lambda: pool(xt, w, kw["stride"], kw["padding"])


def run_case(number: int, repeat: int) -> dict[str, Any]:
    """Run case ``number`` (1-based) in this process and return its figures."""
    name, op, shape, wshape, kw = CASES[number - 1]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal(wshape) / math.sqrt(math.prod(wshape[1:]))).astype(np.float32) if op == "conv" else wshape
    call = {"conv": lambda: F.conv(x, w, **kw), "avg_pool": lambda: F.avg_pool(x, w, **kw),
            "max_pool": lambda: F.max_pool(x, w, **kw)}[op]
    small = np.ones((1, shape[1], *[9] * (len(shape) - 2)), np.float32)
    small_w = np.ones((wshape[0], wshape[1], *[3] * (len(shape) - 2)), np.float32) if op == "conv" else 3
    warmup = {"conv": lambda: F.conv(small, small_w, padding=1), "avg_pool": lambda: F.avg_pool(small, 3, 1, 1),
              "max_pool": lambda: F.max_pool(small, 3, 1, 1)}[op]
    t0 = time.perf_counter()
    warmup()
    first = time.perf_counter() - t0
    tracemalloc.start()
    c0, t0 = time.process_time(), time.perf_counter()
    y = call()
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    warm = _median_ms(call, repeat)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    io = x.nbytes + y.nbytes + (w.nbytes if op == "conv" else 0)
    peer = _peer(op, x, w, kw)
    peer_name, peer_ms = (peer[0], _median_ms(peer[1], repeat)) if peer else ("-", float("nan"))
    return {"case": name, "first_s": first, "cold_s": cold, "cold_cpu_s": cold_cpu, "warm_ms": warm, "peak_mib": peak / 2**20, "rss_mib": rss,
            "io_mib": io / 2**20, "peer": peer_name, "peer_ms": peer_ms}


def pools(repeat: int) -> None:
    """Pooling forward and backward against torch on large planes, each library in its own block."""
    import torch

    rng = np.random.default_rng(0)
    print(f"{'pooling (float32)':34s} {'fwd ms':>8s} {'torch':>8s} {'ratio':>6s} {'bwd ms':>8s} {'torch':>8s} "
          f"{'ratio':>6s}")
    for kind, shape, k, s, p in (("max", (1, 8, 1024, 1024), 3, 1, 1), ("max", (1, 8, 1024, 1024), 3, 2, 1),
                                 ("avg", (1, 1, 512, 512), 31, 1, 15), ("avg", (1, 8, 1024, 1024), 3, 1, 1)):
        x = rng.standard_normal(shape).astype(np.float32)
        xt = torch.from_numpy(x)
        if kind == "max":
            y, idx = F.max_pool(x, k, s, p, return_indices=True)
            gy = rng.standard_normal(y.shape).astype(np.float32)
            yt, it = torch.nn.functional.max_pool2d(xt, k, s, p, return_indices=True)
            ours = (lambda: F.max_pool(x, k, s, p, return_indices=True),  # noqa: B023
                    lambda: F.max_pool_grad(gy, idx, x.shape))  # noqa: B023
            gt = torch.from_numpy(gy)
            theirs = (lambda: torch.nn.functional.max_pool2d(xt, k, s, p, return_indices=True),  # noqa: B023
                      lambda: torch.ops.aten.max_pool2d_with_indices_backward(  # noqa: B023
                          gt, xt, [k, k], [s, s], [p, p], [1, 1], False, it))  # noqa: B023
        else:
            gy = rng.standard_normal(F.avg_pool(x, k, s, p).shape).astype(np.float32)
            gt = torch.from_numpy(gy)
            ours = (lambda: F.avg_pool(x, k, s, p), lambda: F.avg_pool_grad(gy, x.shape, k, s, p))  # noqa: B023
            theirs = (lambda: torch.nn.functional.avg_pool2d(xt, k, s, p),  # noqa: B023
                      lambda: torch.ops.aten.avg_pool2d_backward(gt, xt, [k, k], [s, s], [p, p], False,  # noqa: B023
                                                                 True, None))
        f, b = (_median_ms(fn, repeat) for fn in ours)
        tf, tb = (_median_ms(fn, repeat) for fn in theirs)
        name = f"{kind}_pool {'x'.join(map(str, shape))} k{k} s{s} p{p}"
        print(f"{name:34s} {f:8.1f} {tf:8.1f} {tf / f:6.2f} {b:8.1f} {tb:8.1f} {tb / b:6.2f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="convalg bench large", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="", help="comma-separated case numbers (default: all)")
    parser.add_argument("--case", type=int, default=0, help="run one case in this process, print JSON")
    parser.add_argument("--repeat", type=int, default=5, help="warm calls (median)")
    parser.add_argument("--pools", action="store_true", help="pooling forward / backward vs torch (one process)")
    args = parser.parse_args(argv or [])
    if args.pools:
        pools(args.repeat)
        return 0
    if args.case:
        print(json.dumps(run_case(args.case, args.repeat)))
        return 0
    wanted = [int(c) for c in args.cases.split(",") if c.strip()] or list(range(1, len(CASES) + 1))
    load = load_average()
    print(f"convalg bench large: each case in a fresh process, plain allocator; load {load[0]:.2f}")
    print("  (tracemalloc slows the first call a little; peak MiB counts NumPy's allocations)")
    print(f"{'case':28s} {'first s':>7s} {'cold s':>7s} {'cpu':>6s} {'warm ms':>8s} {'peak MiB':>9s} {'rss MiB':>8s} {'io MiB':>7s} "
          f"{'peer ms':>8s}  peer")
    for number in wanted:
        proc = subprocess.run([sys.executable, "-m", "convalg.bench.large", "--case", str(number), "--repeat",
                               str(args.repeat)], capture_output=True, text=True, check=False)
        if proc.returncode:
            print(f"{CASES[number - 1][0]:28s} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{r['case']:28s} {r['first_s']:7.3f} {r['cold_s']:7.3f} {r['cold_cpu_s']:6.3f} {r['warm_ms']:8.1f} {r['peak_mib']:9.1f} {r['rss_mib']:8.0f} "
              f"{r['io_mib']:7.1f} {r['peer_ms']:8.1f}  {r['peer']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
