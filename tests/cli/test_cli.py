"""The ``convalg shape`` / ``rf`` / ``demo`` commands, their --json / --latex outputs and their errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy as sp

from convalg import Conv, MaxPool, Sequential
from convalg.cli import main
from convalg.shapes import format_size

VGG16 = ("conv(k=3,p=1)*2 maxpool(k=2) conv(k=3,p=1)*2 maxpool(k=2) conv(k=3,p=1)*3 maxpool(k=2) "
         "conv(k=3,p=1)*3 maxpool(k=2) conv(k=3,p=1)*3 maxpool(k=2)")
H, W = sp.symbols("H W", integer=True, positive=True)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_shape_prints_one_row_per_layer_with_collapsed_floors(capsys) -> None:
    code, out, err = run(capsys, "shape", "--input", "H,W", "conv(k=3,s=2,p=1)*4", "maxpool(k=2,ceil=1)")
    assert code == 0 and not err
    rows = out.strip().splitlines()
    assert len(rows) == 6 and rows[0].split() == ["input", "(H,", "W)"]
    assert rows[4].endswith("(floor((H - 1)/16) + 1, floor((W - 1)/16) + 1)")
    expected = Sequential(*[Conv(3, stride=2, padding=1)] * 4, MaxPool(2, ceil_mode=True)).output_shape((H, W))
    assert rows[5].endswith(f"({format_size(expected[0])}, {format_size(expected[1])})")


def test_shape_json(capsys) -> None:
    code, out, _ = run(capsys, "shape", "--json", "--input", "64,H", "convt(k=3,s=2,p=1,op=1)", "conv(k=3,s=2,p=1)")
    assert code == 0
    data = json.loads(out)
    assert data["input"] == ["64", "H"]
    assert [row["layer"] for row in data["layers"]] == [
        "ConvTranspose(kernel_size=3, stride=2, padding=1, output_padding=1)", "Conv(kernel_size=3, stride=2, padding=1)"]
    assert data["layers"][0]["output"] == ["128", "2*H"]
    assert data["output"] == ["64", format_size(Conv(3, stride=2, padding=1).output_shape((2 * H,))[0])] == ["64", "H"]


def test_shape_latex(capsys) -> None:
    code, out, _ = run(capsys, "shape", "--latex", "--input", "H,64", "conv(k=3,s=2,p=1)")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == r"\begin{tabular}{ll}" and lines[-1] == r"\end{tabular}"
    assert r"$(\left\lfloor{\frac{H - 1}{2}}\right\rfloor + 1, 32)$" in out


def test_rf_reproduces_vgg16(capsys) -> None:
    code, out, _ = run(capsys, "rf", "--json", "--input", "224,224", VGG16)
    assert code == 0
    assert json.loads(out) == [{"axis": a, "size": "212", "stride": "32", "padding": "90"} for a in (0, 1)]
    code, out, _ = run(capsys, "rf", "--input", "224", VGG16)
    assert code == 0
    assert out.strip() == ("axis 0: receptive field 212, effective stride 32, effective padding 90; "
                           "output y sees inputs [32*y - 90, 32*y + 121]")


def test_rf_symbolic_tf_same_and_latex(capsys) -> None:
    code, out, _ = run(capsys, "rf", "--latex", "conv(k=3,s=2,p=1)*2")
    assert code == 0 and "receptive field $7$, effective stride $4$, effective padding $3$" in out
    code, out, _ = run(capsys, "rf", "conv(k=3,s=2,p=0:1)")
    assert code == 0 and "effective padding 0" in out and "[2*y, 2*y + 2]" in out


def test_demo(capsys) -> None:
    code, out, err = run(capsys, "demo")
    assert code == 0 and not err
    assert "floor((H - 1)/16) + 1" in out
    assert "Eq(Mod(H, 16), 0)" in out and "smallest such H >= 500: 512" in out
    assert "smallest such H >= 224: 225" in out
    assert "bottleneck size: floor(H/16)" in out


@pytest.mark.parametrize("argv, needle", [
    (["shape", "--input", "H", "conv(k=3,s=2"], "unbalanced parentheses"),
    (["shape", "--input", "H", "foo(k=3)"], "layer 'foo': unknown"),
    (["shape", "--input", "H", "conv(k=1.5)"], "'1.5': must be an integer"),
    (["shape", "--input", "H", "conv(s=2)"], "conv: needs k=<kernel size>"),
    (["shape", "--input", "H", "conv(k=3,zz=1)"], "unknown key 'zz'"),
    (["shape", "--input", "2", "conv(k=5)"], "input[0]=2"),
    (["shape", "--input", "H,", "conv(k=3)"], "empty entry"),
    (["shape", "--input", "H+1", "conv(k=3)"], "must be an integer or a name"),
    (["shape", "--input", "0", "conv(k=3)"], "input[0]=0"),
    (["shape", "--input", "H", "conv(k=3,s=2,p=same)"], "padding='same'"),
    (["shape", "--input", "H", "maxpool(k=2,p=2)"], "kernel_size // 2"),
    (["rf", "convt(k=2,s=2)"], "receptive field is defined for Conv, MaxPool and AvgPool"),
    (["shape", "--input", "H,W", "conv(k=3x3x3)"], "ndim=3"),
])
def test_bad_input_exits_2_with_a_clear_message(capsys, argv, needle) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out
    assert err.startswith(f"convalg {argv[0]}: error: ") and needle in err
    assert "Traceback" not in err


def test_argparse_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["shape", "conv(k=3)"])
    assert info.value.code == 2
    assert "--input" in capsys.readouterr().err


def test_no_traceback_from_the_real_command() -> None:
    result = subprocess.run([sys.executable, "-m", "convalg", "shape", "--input", "H", "conv(k=3"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unbalanced parentheses" in result.stderr and "Traceback" not in result.stderr


def test_bench_shapes_smoke(capsys) -> None:
    """The benchmark runs through the CLI (a smoke test, not a timing: the figure is reported, not asserted)."""
    code, out, _ = run(capsys, "bench", "shapes", "--layers", "20", "--runs", "1")
    assert code == 0
    assert "20-layer stack" in out and "median" in out
    from convalg.bench.shapes import mixed_stack

    net = mixed_stack(20)
    shape = net.output_shape((H, W))
    assert f"output: ({format_size(shape[0])}, {format_size(shape[1])})" in out
    for n in (64, 100):
        current = (n, n + 1)
        for layer in net:
            current = layer.output_shape(current)
        assert current == tuple(int(e.subs({H: n, W: n + 1})) for e in shape)


def test_closed_pipe_ends_quietly() -> None:
    """``convalg matrix ... | head``: no BrokenPipeError traceback, the shell's SIGPIPE status."""
    proc = subprocess.Popen([sys.executable, "-m", "convalg", "matrix", "--input", "400", "--max-cols", "400",
                             "conv(k=3)"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err, err


@pytest.mark.parametrize("argv, needle", [
    (["matrix", "--input", "4", "conv(k=3,p=1)", "--png", "/nonexistent-dir/x.png"], "cannot write the image"),
    (["matrix", "--input", "4", "conv(k=3,p=1)", "--cin", "0"], "--cin=0"),
    (["matrix", "--input", "4", "conv(k=3,p=1)", "--cout", "-2"], "--cout=-2"),
    (["check", "--op", "conv1d", "/nonexistent-dir/k.py:conv"], "cannot load target"),
    (["check", "--op", "conv1d", "convalg.reference:conv", "--max-examples", "0"], "max_examples=0"),
    (["check", "--op", "conv1d", "convalg.reference:conv", "--c", "-1"], "safety factor"),
    (["check", "--op", "conv1d", "convalg.reference:conv", "--c", "nan"], "safety factor"),
    (["check", "--op", "conv1d", "convalg.reference:conv", "--max-side", "0"], "max_side=0"),
    (["check", "--op", "conv1d", "convalg.reference:conv", "--padding-modes", "foo"], "padding_modes"),
    (["check", "--op", "conv1d", "convalg.reference:conv", "--padding-modes", ","], "padding_modes"),
])
def test_bad_matrix_and_check_options_exit_2_without_traceback(capsys, argv, needle) -> None:
    """Found by the audit: these raised OSError / Hypothesis errors, or ran with a bound every kernel fails."""
    pytest.importorskip("hypothesis")
    if "--png" in argv:
        pytest.importorskip("matplotlib")
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith(f"convalg {argv[0]}: error: ") and needle in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_matrix_png_without_suffix_reports_the_file_written(capsys, tmp_path) -> None:
    """Audit regression: ``--png out`` wrote out.png (matplotlib's default format) but said 'wrote out'."""
    pytest.importorskip("matplotlib")
    code, _, err = run(capsys, "matrix", "--input", "3", "conv(k=3,p=1)", "--png", str(tmp_path / "pattern"))
    assert code == 0 and f"wrote {tmp_path / 'pattern.png'}" in err and (tmp_path / "pattern.png").is_file()
