"""``convalg check`` on the command line and the pytest plugin (``--convalg-target``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from convalg.cli import main

KERNELS = textwrap.dedent("""
    import convalg.reference as ref

    def good(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
        return ref.direct.conv(x, weight, bias, stride, padding, dilation, groups, padding_mode).astype(x.dtype)

    def bad(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):  # forgets the bias
        return ref.direct.conv(x, weight, None, stride, padding, dilation, groups, padding_mode).astype(x.dtype)

    def pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        out = ref.max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
        return (out[0].astype(x.dtype), out[1]) if return_indices else out.astype(x.dtype)
""")


def test_cli_check_passes_and_fails(tmp_path: Path, capsys) -> None:
    module = tmp_path / "my_kernels.py"
    module.write_text(KERNELS)
    assert main(["check", "--op", "conv1d", f"{module}:good", "--max-examples", "15"]) == 0
    out = capsys.readouterr().out
    assert "PASSED conv1d: 15 examples" in out and "exercised:" in out
    assert main(["check", "--op", "conv1d", f"{module}:bad", "--max-examples", "50", "--no-groups"]) == 1
    out = capsys.readouterr().out
    assert "FAILED conv1d" in out and "'bias': np.array(" in out and "got = target(x, weight, bias, stride=" in out
    assert main(["check", "--op", "conv1d", f"{module}:missing"]) == 2
    assert main(["check", "--op", "max_pool1d", f"{module}:pool", "--padding-modes", "zeros"]) == 2
    assert "--padding-modes: does not apply to --op max_pool1d" in capsys.readouterr().err
    assert main(["check", "--op", "conv1d", f"{module}:good", "--array", "cupy"]) == 2
    assert "CuPy arrays live on a CUDA device" in capsys.readouterr().err


def test_cli_repro_uses_absolute_paths_and_runs_from_elsewhere(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "my_kernels.py").write_text(KERNELS)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--op", "conv1d", "k/my_kernels.py:bad", "--max-examples", "30", "--quiet"]) == 1
    err = capsys.readouterr().err
    repro = err[err.index("# convalg check: minimal failing case"):]
    assert f"load_target('{tmp_path / 'k' / 'my_kernels.py'}:bad')" in repro
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "repro.py").write_text(repro)
    import convalg

    root = str(Path(convalg.__file__).resolve().parents[1])
    run = subprocess.run([sys.executable, "repro.py"], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": root})
    assert run.returncode == 1 and "AssertionError" in run.stderr, run.stderr


def _plugin_args() -> list[str]:
    """``-p convalg.testing.pytest_plugin`` unless the ``pytest11`` entry point already loads it."""
    from importlib.metadata import entry_points

    registered = any(e.value == "convalg.testing.pytest_plugin" for e in entry_points(group="pytest11"))
    return [] if registered else ["-p", "convalg.testing.pytest_plugin"]


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "my_kernels.py").write_text(KERNELS)
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    import convalg

    # the subprocess imports the convalg under test, installed or not
    root = str(Path(convalg.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (str(tmp_path), root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("CONVALG_TARGET", None)
    return subprocess.run([sys.executable, "-m", "pytest", *_plugin_args(), "-q",
                           "-p", "no:cacheprovider", "test_other.py", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_pytest_plugin(tmp_path: Path) -> None:
    quiet = _pytest(tmp_path)
    assert quiet.returncode == 0 and "1 passed" in quiet.stdout  # harmless without --convalg-target
    # one target as several ops of its family, and another target as one op (OP=target), in one run
    good = _pytest(tmp_path, "--convalg-target", "my_kernels:good", "--convalg-op", "conv1d,conv2d",
                   "--convalg-target", "max_pool1d=my_kernels:pool", "--convalg-max-examples", "8",
                   "--convalg-unsupported", "groups")
    assert good.returncode == 0 and "4 passed" in good.stdout, good.stdout
    bad = _pytest(tmp_path, "--convalg-target", "my_kernels:bad", "--convalg-op", "conv2d",
                  "--convalg-max-examples", "20")
    assert bad.returncode == 1 and "Minimal failing case" in bad.stdout and "1 failed" in bad.stdout, bad.stdout


def test_cli_op_list_matches_the_harness_and_plugin_import_is_light() -> None:
    from convalg.cli import build_parser
    from convalg.testing.harness import OPS

    check_parser = build_parser()._subparsers._group_actions[0].choices["check"]
    (op_action,) = [a for a in check_parser._actions if a.dest == "op"]
    assert set(op_action.choices) == set(OPS)
    code = ("import sys, convalg.testing.pytest_plugin, convalg.cli.check; "
            "print('hypothesis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_plugin_usage_errors_stop_the_run_with_one_line(tmp_path: Path) -> None:
    """Audit regression: a bad --convalg-op / switch / value / target was a failing item with a long traceback."""
    import pytest

    from convalg.testing.pytest_plugin import _validate

    bad = _pytest(tmp_path, "--convalg-target", "my_kernels:good", "--convalg-op", "conv9d")
    assert bad.returncode == 4 and "ERROR: --convalg-op: conv9d" in bad.stderr and "Traceback" not in bad.stderr
    for target, ops, options, needle in [
        ("my_kernels:good", ["conv1d"], {"max_examples": 10, "foo": False}, "unknown foo"),
        ("my_kernels:good", ["conv1d"], {"max_examples": 0}, "max_examples=0"),
        ("my_kernels:good", ["conv1d"], {"max_examples": 10, "c": -1.0}, "safety factor"),
        ("no_such_module_xyz:f", ["conv1d"], {"max_examples": 10}, "cannot load it"),
    ]:
        with pytest.raises(pytest.UsageError, match=needle):
            _validate(target, ops, options)


def test_plugin_switch_names_are_the_support_fields() -> None:
    from convalg.testing.harness import Support
    from convalg.testing.op_names import SWITCHES
    from convalg.testing.pytest_plugin import SWITCH_NAMES

    assert SWITCH_NAMES == set(Support.names()) == set(SWITCHES)
