"""`convalg matrix` (text and PNG) and the `matrix` benchmark suite in quick mode."""

from __future__ import annotations

import pytest

from convalg.cli import main


def test_cli_prints_the_circulant_operator(capsys):
    assert main(["matrix", "conv(k=3,p=1,mode=circular)", "--input", "4,4", "--cin", "1", "--cout", "1"]) == 0
    out = capsys.readouterr().out
    assert "matrix: 16 x 16, 144 stored entries" in out
    assert "axis 0: circulant, axis 1: circulant" in out
    first = out.splitlines()[3].split()
    assert first[:4] == ["w_0_0_1_1", "w_0_0_1_2", ".", "w_0_0_1_0"]  # wrap-around of row 0


def test_cli_pooling_latex_and_errors(capsys):
    assert main(["matrix", "avgpool(k=2)", "--input", "4", "--latex"]) == 0
    assert r"\frac{1}{2}" in capsys.readouterr().out
    assert main(["matrix", "maxpool(k=2)", "--input", "4"]) == 2
    assert "not linear" in capsys.readouterr().err
    assert main(["matrix", "conv(k=3)", "--input", "H,4"]) == 2
    assert "concrete sizes" in capsys.readouterr().err
    assert main(["matrix", "conv(k=3) conv(k=3)", "--input", "6"]) == 2
    assert "takes one layer" in capsys.readouterr().err


def test_cli_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "conv.png"
    assert main(["matrix", "conv(k=3,p=1,g=2)", "--input", "4,4", "--cin", "2", "--cout", "2", "--png", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_matrix_quick(capsys):
    from convalg.bench import matrix as bench

    assert bench.main(["--quick", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "1024x1024" in out and "8836" in out and "anchor target" in out
