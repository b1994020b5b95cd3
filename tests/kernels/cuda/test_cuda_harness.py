"""gpu/run.py imports, plans and prints without a GPU (``--dry-run``), and its table arithmetic is right."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load():
    spec = importlib.util.spec_from_file_location("gpu_run", ROOT / "gpu" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_run"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_dry_run_prints_plan():
    res = subprocess.run([sys.executable, str(ROOT / "gpu" / "run.py"), "--dry-run", "--cases", "1,7"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if "fwd:" in ln]
    assert len(lines) == 2
    assert "32x64x56x56->64 k3" in lines[0] and "gemm" in lines[0]
    assert "dw" in lines[1] and "direct" in lines[1]
    assert " B)" in lines[0]  # generated source size


def test_anchor_flops_and_table():
    run = _load()
    assert len(run.ANCHORS) == 7
    first = run.ANCHORS[0]
    assert first.out_hw() == 56 and first.flops() == 2 * 32 * 64 * 56 * 56 * 64 * 9
    assert run.ANCHORS[2].out_hw() == 112
    row = {"case": "c", "fwd": 2.0, "bwd": 4.0, "tflops_fwd": 1.0, "tflops_bwd": 1.0, "cudnn_fwd_fp32": 1.0,
           "cudnn_bwd_fp32": 6.0, "cudnn_fwd_tf32": 0.5, "cudnn_bwd_tf32": 3.0, "rel_err_fwd": 1e-7,
           "rel_err_bwd": 2e-7, "fwd:gemm": 2.0}
    text = run.table([row])
    assert "| 0.50 |" in text and "| 1.50 |" in text
    assert "2.0e-07" in text
    real = dict(row, case=first.label)
    fwd_line = next(ln for ln in run.table([real]).splitlines() if ln.startswith(f"| {first.label}"))
    tflops = first.flops() / 2e-3 / 1e12
    gbs = run.pass_bytes(first, "fwd") / 2e-3 / 1e9
    assert f"| {tflops:.1f} | {gbs:.0f} |" in fwd_line and "compute" in fwd_line
    assert "fwd:gemm" in run.algo_table([row])


class _FakeEvent:
    def record(self):
        import time

        self.t = time.perf_counter()

    def synchronize(self):
        pass


def _fake_cupy():
    """Just enough of CuPy's surface for gpu/run.py's benchmark loop, backed by NumPy + the host shim."""
    import types

    import numpy as np

    cuda = types.SimpleNamespace(
        Event=_FakeEvent,
        get_elapsed_time=lambda a, b: (b.t - a.t) * 1e3,
        Device=lambda *a: types.SimpleNamespace(synchronize=lambda: None, id=0),
        runtime=types.SimpleNamespace(getDeviceProperties=lambda i: {"name": b"host shim"}, getDeviceCount=lambda: 1),
    )
    return types.SimpleNamespace(asarray=np.asarray, cuda=cuda, __version__="fake")


@pytest.fixture
def tiny_run(monkeypatch):
    """gpu/run.py with a fake CuPy over the host shim, no torch, and one tiny anchor case (skipped without g++)."""
    from convalg.kernels.cuda.hostshim import HostBackend, host_compiler
    from convalg.kernels.cuda.runtime import using_backend

    if host_compiler() is None:
        pytest.skip("needs g++")
    run = _load()
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setitem(sys.modules, "torch", None)  # no cuDNN comparison: the harness must degrade
    monkeypatch.setattr(run, "ANCHORS", [run.Anchor("tiny", 1, 2, 6, 2, 3, 1, 1, 1, 1)])
    with using_backend(HostBackend()):
        yield run


def test_benchmark_loop_on_host_shim(tiny_run, tmp_path):
    out = tmp_path / "RESULTS.md"
    assert tiny_run.main(["--skip-tests", "--reps", "1", "--results", str(out)]) == 0
    text = out.read_text()
    assert "host shim" in text and "| tiny |" in text and "no torch" in text
    assert "fwd:fft" in text and "bwd_weight:direct" in text


def test_without_cupy_a_clear_error(monkeypatch, capsys):
    run = _load()
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(run, "ANCHORS", run.ANCHORS[:1])
    assert run.main(["--skip-tests"]) == 2
    assert "needs CuPy and a CUDA device" in capsys.readouterr().err


def test_report_written_when_test_summary_holds_a_percent_sign(tiny_run, monkeypatch, tmp_path):
    """pytest's progress line ends in ``[100%]``: the report must still be written."""
    summary = ".......F [100%] 1 failed, 7 passed in 3.1s %d %s"
    monkeypatch.setattr(tiny_run, "run_tests", lambda budget: (summary, ["FAILED tests/x.py::t - 50% off"]))
    out = tmp_path / "RESULTS.md"
    assert tiny_run.main(["--reps", "1", "--no-algorithms", "--results", str(out)]) == 0
    text = out.read_text()
    assert summary in text and "50% off" in text and "| tiny |" in text and "complete" in text


def test_report_written_when_a_measurement_fails(tiny_run, monkeypatch, tmp_path):
    """A failing kernel is recorded in the report; the other measurements and the file survive."""
    from convalg.kernels.cuda import ops

    def broken(*a, **k):
        raise RuntimeError("CUDA_ERROR_ILLEGAL_ADDRESS")

    monkeypatch.setattr(ops, "conv_grad_weight", broken)
    out = tmp_path / "RESULTS.md"
    assert tiny_run.main(["--skip-tests", "--reps", "1", "--results", str(out)]) == 0
    text = out.read_text()
    assert "CUDA_ERROR_ILLEGAL_ADDRESS" in text and "bwd_weight:direct" in text
    assert "| tiny | " in text and "fwd:gemm" in text

def test_report_written_when_interrupted(monkeypatch, tmp_path):
    import pytest

    run = _load()
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(run, "ANCHORS", run.ANCHORS[:1])

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "bench_case", interrupted)
    out = tmp_path / "RESULTS.md"
    with pytest.raises(KeyboardInterrupt):
        run.main(["--skip-tests", "--results", str(out)])
    assert "interrupted" in out.read_text() and "skipped (--skip-tests)" in out.read_text()


def test_test_step_stops_at_its_budget_while_silent():
    """A test step that prints nothing (``pytest -q`` before its first full line, or a hung kernel) is killed."""
    import time

    run = _load()
    t0 = time.time()
    summary, failures = run.run_tests(1.0, [sys.executable, "-c", "import time; print('x', flush=True); "
                                                                "time.sleep(60)"])
    assert time.time() - t0 < 15
    assert summary.startswith("stopped after 1 s (budget)") and "'x'" in summary and failures == []


def test_test_step_reports_failures():
    run = _load()
    code = "print('FAILED tests/a.py::t - boom'); print('1 failed in 0.1s [100%]')"
    summary, failures = run.run_tests(30.0, [sys.executable, "-c", code])
    assert summary == "1 failed in 0.1s [100%]" and failures == ["FAILED tests/a.py::t - boom"]


def test_benchmark_stops_at_the_deadline(monkeypatch):
    """Measurements after the deadline are skipped and listed, not run."""
    run = _load()
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    row = run.bench_case(run.Anchor("tiny", 1, 2, 6, 2, 3, 1, 1, 1, 1), 1, None, True, deadline=0.0)
    assert "fwd" not in row and "fwd" in row["skipped"] and "bwd_weight:fft" in row["skipped"]
