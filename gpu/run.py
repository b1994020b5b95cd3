#!/usr/bin/env python
"""GPU harness for convalg's generated CUDA kernels: property tests + benchmark against cuDNN.

Usage (repository root, on a CUDA machine with cupy, numpy, scipy, sympy and, optionally, torch)::

    PYTHONPATH=. python gpu/run.py              # tests (-m gpu) + benchmark, writes gpu/RESULTS.md
    PYTHONPATH=. python gpu/run.py --dry-run    # no GPU needed: the plan and generated source sizes
    PYTHONPATH=. python gpu/run.py --skip-tests --cases 1,6 --reps 10

Steps (each prints progress and stays inside ``--budget`` seconds, default 450):

1. ``pytest -m gpu tests/kernels`` (CuPy vs the float64 references; Hypothesis cases).
2. For each of the seven GPU benchmark cases (``ANCHORS``): convalg forward and backward (dX + dW) with the
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
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gpu.cases import ANCHORS, Anchor  # noqa: E402


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def plan_rows(anchors: list[Anchor]) -> list[dict]:
    """The cost model's choice per pass and the generated kernels' source sizes (no GPU needed)."""
    from convalg.kernels.cuda import ops

    rows = []
    for a in anchors:
        layer = a.layer()
        row = {"case": a.label}
        for conv_pass in ("fwd", "bwd_data", "bwd_weight"):
            p = ops._conv_plan(layer, (a.hw, a.hw), conv_pass, a.n, "auto")
            if p[0] == "fft":
                row[conv_pass] = "fft (cupy.fft + batched GEMM)"
                continue
            tile, splits = p[2].notes.get("tile"), p[2].notes.get("splits", 1)
            label = p[0] + (f"[{tile.bm}x{tile.bn}]" if tile else "") + (f" x{splits} splits" if splits > 1 else "")
            row[conv_pass] = f"{label} ({len(p[2].code)} B)"
        rows.append(row)
    return rows


def run_tests(budget: float, cmd: list[str] | None = None) -> tuple[str, list[str]]:
    """``pytest -m gpu tests/kernels`` within ``budget`` seconds: (summary line, ``FAILED`` lines).

    Output is read by a thread, so the deadline holds even while pytest prints
    nothing (``-q`` prints a line only every 80 tests, or a hung kernel none); on
    the deadline the whole process group is killed.
    """
    _say("property tests: pytest -m gpu tests/kernels")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = cmd or [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-rfE", "-p", "no:cacheprovider",
                  str(ROOT / "tests" / "kernels")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip())
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.time() + budget
    while True:
        left = deadline - time.time()
        if left <= 0:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            last = next((ln for ln in reversed(seen) if ln.strip()), "")
            return (f"stopped after {budget:.0f} s (budget), {len(seen)} output lines; last: {last!r}",
                    [ln for ln in seen if ln.startswith(("FAILED", "ERROR"))])
        try:
            line = lines.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if line is None:
            break
        print("    " + line, flush=True)
        seen.append(line)
    proc.wait()
    summary = [ln for ln in seen if ln.strip()]
    return (summary[-1] if summary else f"exit {proc.returncode}",
            [ln for ln in seen if ln.startswith(("FAILED", "ERROR"))])


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


class _Measure:
    """Time named measurements into ``row`` until ``deadline``; a failure is recorded, not raised."""

    def __init__(self, row: dict, deadline: float) -> None:
        self.row, self.deadline = row, deadline

    def __call__(self, key: str, timer, fn, reps: int) -> None:
        if time.time() > self.deadline:
            self.row.setdefault("skipped", []).append(key)
            return
        try:
            self.row[key] = timer(fn, reps)
        except Exception as exc:  # a kernel that fails must not cost the other measurements
            self.row.setdefault("errors", []).append(f"{key}: {type(exc).__name__}: {str(exc)[:200]}")


def bench_case(a: Anchor, reps: int, torch, all_algorithms: bool, deadline: float = math.inf) -> dict:
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
    measure = _Measure(r, deadline)
    measure("fwd", _time_cupy, lambda: ops.conv(x, w, **kw), reps)
    measure("bwd", _time_cupy, lambda: (ops.conv_grad_input(dy, w, a.x_shape, **kw),
                                        ops.conv_grad_weight(x, dy, a.w_shape, **kw)), reps)
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
            measure(f"cudnn_fwd_{tag}", lambda fn, n: _time_torch(torch, fn, n), t_fwd, reps)
            measure(f"cudnn_bwd_{tag}", lambda fn, n: _time_torch(torch, fn, n), t_bwd, reps)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False

        def errors(fn, _reps):
            ref = t_fwd().cpu().numpy()
            got = ops.conv(x, w, **kw).get()
            gx, gw, _ = t_bwd()
            dx = ops.conv_grad_input(dy, w, a.x_shape, **kw).get()
            dw = ops.conv_grad_weight(x, dy, a.w_shape, **kw).get()
            rel = lambda u, v: float(np.linalg.norm(u - v) / max(float(np.linalg.norm(v)), 1e-30))  # noqa: E731
            r["rel_err_bwd"] = max(rel(dx, gx.cpu().numpy()), rel(dw, gw.cpu().numpy()))
            return rel(got, ref)

        measure("rel_err_fwd", errors, None, 0)
    if all_algorithms:
        for conv_pass in ("fwd", "bwd_data", "bwd_weight"):
            for algo in ("gemm", "direct", "fft"):
                call = {"fwd": lambda algo=algo: ops.conv(x, w, algorithm=algo, **kw),
                        "bwd_data": lambda algo=algo: ops.conv_grad_input(dy, w, a.x_shape, algorithm=algo, **kw),
                        "bwd_weight": lambda algo=algo: ops.conv_grad_weight(x, dy, a.w_shape, algorithm=algo,
                                                                             **kw)}[conv_pass]
                measure(f"{conv_pass}:{algo}", _time_cupy, call, reps)
    return r


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _sci(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1e}"


def pass_bytes(a: Anchor, which: str) -> int:
    """Bytes a pass must move at least (each operand read once, the result written once), float32."""
    x, w = math.prod(a.x_shape), math.prod(a.w_shape)
    y = a.n * a.o * a.out_hw() ** 2
    return 4 * (x + w + y) if which == "fwd" else 4 * ((y + w + x) + (x + y + w))  # dX pass + dW pass


def _rates(a: Anchor | None, r: dict, which: str) -> tuple[str, str, str, str]:
    """(TFLOP/s, GB/s, % of the FMA peak / % of the bandwidth, the nearer ceiling) of ``r[which]``."""
    from convalg.kernels.cuda.cost import BANDWIDTH, PEAK

    ms = r.get(which)
    if a is None or ms is None:
        return "n/a", "n/a", "n/a", "n/a"
    flops = a.flops() * (1 if which == "fwd" else 2)
    tflops = flops / (ms * 1e-3) / 1e12
    gbs = pass_bytes(a, which) / (ms * 1e-3) / 1e9
    f_peak, f_bw = tflops * 1e12 / PEAK, gbs * 1e9 / BANDWIDTH
    return (f"{tflops:.1f}", f"{gbs:.0f}", f"{100 * f_peak:.0f}% / {100 * f_bw:.0f}%",
            "compute" if f_peak >= f_bw else "bandwidth")


def table(rows: list[dict], anchors: dict[str, Anchor] | None = None) -> str:
    """One Markdown table per pass (forward; backward = dX + dW)."""
    anchors = anchors or {a.label: a for a in ANCHORS}
    out = []
    for which, title in (("fwd", "Forward"), ("bwd", "Backward (dX + dW)")):
        out += [f"### {title}", "",
                "| case | convalg ms | TFLOP/s | GB/s | % FMA peak / % bandwidth | nearer ceiling | cuDNN fp32 ms | "
                "cuDNN tf32 ms | ratio (cuDNN fp32 / convalg) | rel. err vs cuDNN fp32 |",
                "|" + "---|" * 10]
        for r in rows:
            tf, gb, frac, bound = _rates(anchors.get(r["case"]), r, which)
            mine, cf = r.get(which), r.get(f"cudnn_{which}_fp32")
            out.append(f"| {r['case']} | {_fmt(mine)} | {tf} | {gb} | {frac} | {bound} | {_fmt(cf)} | "
                       f"{_fmt(r.get(f'cudnn_{which}_tf32'))} | {_fmt(cf / mine if cf and mine else None, 2)} | "
                       f"{_sci(r.get(f'rel_err_{which}'))} |")
        out.append("")
    return "\n".join(out)


def algo_table(rows: list[dict]) -> str:
    keys = sorted({k for r in rows for k in r if ":" in k})
    if not keys:
        return "(none measured)"
    lines = ["| case | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for r in rows:
        lines.append(f"| {r['case']} | " + " | ".join(_fmt(r.get(k)) for k in keys) + " |")
    return "\n".join(lines)


@dataclass
class Report:
    """Everything ``gpu/run.py`` learns; :meth:`write` renders it to Markdown (called after every step)."""

    path: Path
    reps: int
    device: str = "unknown device"
    versions: str = ""
    tests: str = "not run"
    failures: list[str] = field(default_factory=list)
    plan: list[dict] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    status: str = "running"

    def text(self) -> str:
        date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        parts = [f"# GPU results\n\nMeasured by `gpu/run.py` on **{self.device}**, {date}; {self.versions}.",
                 f"Run status: {self.status}.", f"## Correctness subset\n\n`pytest -m gpu tests/kernels`: {self.tests}"]
        if self.failures:
            parts.append("\n".join(f"- `{ln[:300]}`" for ln in self.failures))
        parts.append("## Kernel choice of the cost model\n\n| case | fwd | bwd_data | bwd_weight |\n|---|---|---|---|\n"
                     + "\n".join(f"| {p['case']} | {p['fwd']} | {p['bwd_data']} | {p['bwd_weight']} |"
                                 for p in self.plan))
        parts.append(f"## Times\n\nfloat32, median of {self.reps} runs (CUDA events) after a warm-up; ratio = cuDNN "
                     "fp32 time / convalg time (>= 1: convalg faster); cuDNN through PyTorch with "
                     "`cudnn.benchmark = True`, TF32 off (fp32) and on (tf32).\n\n" + table(self.rows))
        problems = [f"- {r['case']}: {e}" for r in self.rows for e in r.get("errors", [])]
        problems += [f"- {r['case']}: not measured (budget): {', '.join(r['skipped'])}" for r in self.rows
                     if r.get("skipped")]
        if problems:
            parts.append("## Errors and skipped measurements\n\n" + "\n".join(problems))
        parts.append("## Per-algorithm times (ms), for the cost model\n\n" + algo_table(self.rows))
        return "\n\n".join(parts) + "\n"

    def write(self) -> None:
        self.path.write_text(self.text())


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

    _say(f"plan for {len(chosen)} case(s)")
    plan = plan_rows(chosen)
    for row in plan:
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

    report = Report(Path(args.results), args.reps, plan=plan)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # an outer timeout still leaves the report
    try:
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        report.device = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        report.versions = f"cupy {cp.__version__}"
        _say(f"device: {report.device}; cupy {cp.__version__}")
        report.write()
        if args.skip_tests:
            report.tests = "skipped (--skip-tests)"
        else:
            report.tests, report.failures = run_tests(max(60.0, args.budget * 0.4))
        report.write()
        try:
            import torch

            if not torch.cuda.is_available():
                raise ImportError("torch without CUDA")
            report.versions += f", torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}"
            _say(f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
        except ImportError as exc:
            _say(f"no cuDNN comparison ({exc})")
            report.versions += ", no torch (no cuDNN comparison)"
            torch = None
        deadline = t0 + args.budget
        for a in chosen:
            if time.time() > deadline:
                _say(f"budget of {args.budget:.0f} s reached; skipping the remaining cases")
                report.rows.append({"case": a.label, "skipped": ["every measurement"]})
                continue
            _say(f"benchmark {a.label}")
            report.rows.append(bench_case(a, args.reps, torch, not args.no_algorithms, deadline))
            r = report.rows[-1]
            _say(f"  convalg fwd {_fmt(r.get('fwd'))} ms, bwd {_fmt(r.get('bwd'))} ms; cuDNN fp32 fwd "
                 f"{_fmt(r.get('cudnn_fwd_fp32'))} ms, bwd {_fmt(r.get('cudnn_bwd_fp32'))} ms")
            report.write()
        report.status = f"complete in {time.time() - t0:.0f} s"
    except BaseException as exc:
        report.status = f"interrupted after {time.time() - t0:.0f} s by {type(exc).__name__}: {exc}"
        raise
    finally:
        report.write()
        print("\n" + report.text(), flush=True)
        _say(f"wrote {report.path} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
