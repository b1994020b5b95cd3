#!/usr/bin/env python
"""GPU harness for convalg's generated CUDA kernels: property tests + benchmark against cuDNN.

Usage (repository root, on a CUDA machine with cupy, numpy, scipy, sympy and, optionally, torch)::

    PYTHONPATH=. python gpu/run.py              # tests (-m gpu) + benchmark, writes gpu/RESULTS.md
    PYTHONPATH=. python gpu/run.py --dry-run    # no GPU needed: the plan and generated source sizes
    PYTHONPATH=. python gpu/run.py --skip-tests --cases 1,6 --reps 10

Steps (each prints progress and stays inside ``--budget`` seconds, default 450):

1. ``pytest -m gpu tests/kernels`` (CuPy vs the float64 references; Hypothesis cases).
2. For each GPU anchor case of shared/ANCHORS.md: convalg forward and backward (dX + dW) with the
   cost model's choice, every other forward algorithm (for calibrating the cost model), and
   cuDNN through PyTorch with TF32 off and on.  Median of ``--reps`` timed runs (CUDA events)
   after warm-up; TFLOP/s from the direct-convolution FLOP count (backward = 2x forward);
   ratio = cuDNN fp32 time / convalg time (>= 1: convalg faster).
3. A Markdown table with device name and date, printed and written to gpu/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


@dataclass(frozen=True)
class Anchor:
    """One GPU anchor case (N x C x H x W -> O, k, s, p, d, groups)."""

    label: str
    n: int
    c: int
    hw: int
    o: int
    k: int
    s: int
    p: int
    d: int
    g: int

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.n, self.c, self.hw, self.hw)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.o, self.c // self.g, self.k, self.k)

    def out_hw(self) -> int:
        return (self.hw + 2 * self.p - self.d * (self.k - 1) - 1) // self.s + 1

    def flops(self) -> float:
        return 2.0 * self.n * self.o * self.out_hw() ** 2 * (self.c // self.g) * self.k * self.k


ANCHORS = [
    Anchor("32x64x56x56->64 k3", 32, 64, 56, 64, 3, 1, 1, 1, 1),
    Anchor("32x256x14x14->256 k3", 32, 256, 14, 256, 3, 1, 1, 1, 1),
    Anchor("32x3x224x224->64 k7 s2", 32, 3, 224, 64, 7, 2, 3, 1, 1),
    Anchor("32x64x56x56->256 k1", 32, 64, 56, 256, 1, 1, 0, 1, 1),
    Anchor("8x32x128x128->32 k3 d2", 8, 32, 128, 32, 3, 1, 2, 2, 1),
    Anchor("8x16x256x256->16 k11", 8, 16, 256, 16, 11, 1, 5, 1, 1),
    Anchor("32x256x28x28->256 k3 dw", 32, 256, 28, 256, 3, 1, 1, 1, 256),
]


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _layer(a: Anchor):
    from convalg import Conv

    return Conv(a.k, stride=a.s, padding=a.p, dilation=a.d, groups=a.g, bias=False, in_channels=a.c,
                out_channels=a.o, ndim=2)


def plan_rows(anchors: list[Anchor]) -> list[dict]:
    """The cost model's choice per pass and the generated kernels' source sizes (no GPU needed)."""
    from convalg.kernels.cuda import ops

    rows = []
    for a in anchors:
        layer = _layer(a)
        row = {"case": a.label}
        for kind in ("fwd", "bwd_data", "bwd_weight"):
            p = ops._conv_plan(layer, (a.hw, a.hw), kind, a.n, "auto")
            size = len(p[2].code) if len(p) > 2 else 0
            tile = p[2].notes.get("tile") if len(p) > 2 else None
            label = p[0] + (f"[{tile.bm}x{tile.bn}]" if tile else "") + (f" x{p[3]} splits" if len(p) > 3
                                                                          and p[3] > 1 else "")
            row[kind] = f"{label} ({size} B)" if size else label
        rows.append(row)
    return rows


def run_tests(budget: float) -> str:
    """``pytest -m gpu tests/kernels``; returns its summary line."""
    _say("property tests: pytest -m gpu tests/kernels")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-x", "-p", "no:cacheprovider",
           str(ROOT / "tests" / "kernels")]
    lines: list[str] = []
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + budget
    assert proc.stdout is not None
    for line in proc.stdout:  # stream progress
        print("    " + line.rstrip(), flush=True)
        lines.append(line.rstrip())
        if time.time() > deadline:
            proc.kill()
            return f"stopped after {budget:.0f} s (budget); last line: {lines[-1] if lines else ''}"
    proc.wait()
    summary = [ln for ln in lines if ln.strip()]
    return summary[-1] if summary else f"exit {proc.returncode}"


def _time_cupy(fn, reps: int) -> float:
    import cupy as cp

    fn()  # warm-up (compiles)
    cp.cuda.Device().synchronize()
    times = []
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    for _ in range(reps):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def _time_torch(torch, fn, reps: int) -> float:
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return float(np.median(times))


def bench_case(a: Anchor, reps: int, torch, all_algorithms: bool) -> dict:
    import cupy as cp

    from convalg.kernels.cuda import ops

    rng = np.random.default_rng(0)
    x_h = rng.standard_normal(a.x_shape).astype(np.float32)
    w_h = (rng.standard_normal(a.w_shape) / math.sqrt(np.prod(a.w_shape[1:]))).astype(np.float32)
    out_shape = (a.n, a.o, a.out_hw(), a.out_hw())
    dy_h = rng.standard_normal(out_shape).astype(np.float32)
    x, w, dy = cp.asarray(x_h), cp.asarray(w_h), cp.asarray(dy_h)
    kw = dict(stride=a.s, padding=a.p, dilation=a.d, groups=a.g)
    r: dict = {"case": a.label}
    r["fwd"] = _time_cupy(lambda: ops.conv(x, w, **kw), reps)
    r["bwd"] = _time_cupy(lambda: (ops.conv_grad_input(dy, w, a.x_shape, **kw),
                                   ops.conv_grad_weight(x, dy, a.w_shape, **kw)), reps)
    if all_algorithms:
        for algo in ("igemm", "direct", "fft"):
            r[f"fwd:{algo}"] = _time_cupy(lambda algo=algo: ops.conv(x, w, algorithm=algo, **kw), reps)
        for algo in ("igemm", "direct", "fft"):
            r[f"bwd_data:{algo}"] = _time_cupy(
                lambda algo=algo: ops.conv_grad_input(dy, w, a.x_shape, algorithm=algo, **kw), reps)
            r[f"bwd_weight:{algo}"] = _time_cupy(
                lambda algo=algo: ops.conv_grad_weight(x, dy, a.w_shape, algorithm=algo, **kw), reps)
    if torch is not None:
        F = torch.nn.functional
        xt, wt, dyt = (torch.from_numpy(v).cuda() for v in (x_h, w_h, dy_h))

        def t_fwd():
            return F.conv2d(xt, wt, None, a.s, a.p, a.d, a.g)

        def t_bwd():
            return torch.ops.aten.convolution_backward(dyt, xt, wt, None, [a.s] * 2, [a.p] * 2, [a.d] * 2, False,
                                                       [0, 0], a.g, [True, True, False])

        torch.backends.cudnn.benchmark = True  # cuDNN's best algorithm per shape (the strongest baseline)
        for tf32 in (False, True):
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
            tag = "tf32" if tf32 else "fp32"
            r[f"cudnn_fwd_{tag}"] = _time_torch(torch, t_fwd, reps)
            r[f"cudnn_bwd_{tag}"] = _time_torch(torch, t_bwd, reps)
        torch.backends.cudnn.allow_tf32 = False
        ref = t_fwd().cpu().numpy()
        got = ops.conv(x, w, **kw).get()
        r["rel_err_fwd"] = float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))
        gx, gw, _ = t_bwd()
        dx = ops.conv_grad_input(dy, w, a.x_shape, **kw).get()
        dw = ops.conv_grad_weight(x, dy, a.w_shape, **kw).get()
        r["rel_err_bwd"] = float(max(np.linalg.norm(dx - gx.cpu().numpy()) / np.linalg.norm(gx.cpu().numpy()),
                                     np.linalg.norm(dw - gw.cpu().numpy()) / np.linalg.norm(gw.cpu().numpy())))
    r["tflops_fwd"] = a.flops() / (r["fwd"] * 1e-3) / 1e12
    r["tflops_bwd"] = 2 * a.flops() / (r["bwd"] * 1e-3) / 1e12
    return r


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def table(rows: list[dict]) -> str:
    head = ("| case | convalg fwd ms / TFLOP/s | cuDNN fp32 fwd ms | cuDNN tf32 fwd ms | ratio fwd (fp32) | "
            "convalg bwd ms / TFLOP/s | cuDNN fp32 bwd ms | cuDNN tf32 bwd ms | ratio bwd (fp32) | rel. err fwd / bwd |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        cf, cb = r.get("cudnn_fwd_fp32"), r.get("cudnn_bwd_fp32")
        lines.append(
            f"| {r['case']} | {_fmt(r['fwd'])} / {_fmt(r['tflops_fwd'], 1)} | {_fmt(cf)} | "
            f"{_fmt(r.get('cudnn_fwd_tf32'))} | {_fmt(cf / r['fwd'] if cf else None, 2)} | "
            f"{_fmt(r['bwd'])} / {_fmt(r['tflops_bwd'], 1)} | {_fmt(cb)} | {_fmt(r.get('cudnn_bwd_tf32'))} | "
            f"{_fmt(cb / r['bwd'] if cb else None, 2)} | "
            f"{r.get('rel_err_fwd', float('nan')):.1e} / {r.get('rel_err_bwd', float('nan')):.1e} |")
    return "\n".join(lines)


def algo_table(rows: list[dict]) -> str:
    keys = sorted({k for r in rows for k in r if ":" in k})
    if not keys:
        return ""
    lines = ["| case | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for r in rows:
        lines.append(f"| {r['case']} | " + " | ".join(_fmt(r.get(k)) for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="print the plan and kernel sizes; no GPU needed")
    ap.add_argument("--cases", default="", help="comma-separated 1-based anchor numbers (default: all 7)")
    ap.add_argument("--reps", type=int, default=20, help="timed runs per measurement (median)")
    ap.add_argument("--budget", type=float, default=450.0, help="overall wall-clock budget, seconds")
    ap.add_argument("--skip-tests", action="store_true", help="skip the pytest -m gpu step")
    ap.add_argument("--no-algorithms", action="store_true", help="skip the per-algorithm timings")
    ap.add_argument("--results", default=str(ROOT / "gpu" / "RESULTS.md"), help="Markdown output file")
    args = ap.parse_args(argv)
    t0 = time.time()
    chosen = [ANCHORS[int(i) - 1] for i in args.cases.split(",") if i.strip()] or ANCHORS

    _say(f"plan for {len(chosen)} case(s) (cost model constants NOT calibrated)")
    for row in plan_rows(chosen):
        print(f"  {row['case']:<26} fwd: {row['fwd']:<34} bwd_data: {row['bwd_data']:<34} "
              f"bwd_weight: {row['bwd_weight']}", flush=True)
    if args.dry_run:
        _say("dry run: done")
        return 0

    try:
        import cupy as cp

        cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no CuPy, or CuPy without a usable CUDA device
        print(f"gpu/run.py: error: needs CuPy and a CUDA device ({type(exc).__name__}: {exc}); "
              "--dry-run shows the plan without one", file=sys.stderr)
        return 2

    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    device = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    _say(f"device: {device}; cupy {cp.__version__}")
    tests = "skipped" if args.skip_tests else run_tests(max(60.0, args.budget * 0.4))
    try:
        import torch

        if not torch.cuda.is_available():
            raise ImportError("torch without CUDA")
        _say(f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
    except ImportError as exc:
        _say(f"no cuDNN comparison ({exc})")
        torch = None
    rows = []
    for a in chosen:
        if time.time() - t0 > args.budget:
            _say(f"budget of {args.budget:.0f} s reached; skipping the remaining cases")
            break
        _say(f"benchmark {a.label}")
        rows.append(bench_case(a, args.reps, torch, not args.no_algorithms))
        r = rows[-1]
        _say(f"  convalg fwd {r['fwd']:.3f} ms, bwd {r['bwd']:.3f} ms; cuDNN fp32 fwd "
             f"{_fmt(r.get('cudnn_fwd_fp32'))} ms, bwd {_fmt(r.get('cudnn_bwd_fp32'))} ms")
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"# GPU results\n\nMeasured by `gpu/run.py` on **{device}**, {date}; cupy {cp.__version__}"
            + (f", torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}" if torch else ", no torch")
            + f".\n\nProperty tests (`pytest -m gpu tests/kernels`): {tests}\n\n"
            "float32, median of %d runs; ratio = cuDNN fp32 time / convalg time (>= 1: convalg faster); "
            "backward = dX + dW; cuDNN with `cudnn.benchmark = True`.\n\n" % args.reps + table(rows) + "\n\n## Per-algorithm times (ms), for the "
            "cost model\n\n" + algo_table(rows) + "\n")
    print("\n" + text, flush=True)
    Path(args.results).write_text(text)
    _say(f"wrote {args.results} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
