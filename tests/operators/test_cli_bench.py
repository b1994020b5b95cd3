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


def test_bench_cpu_leaves_the_library_settings_as_it_found_them(capsys):
    """``--threads N`` limits the threads for the run only: the kernels' thread settings and torch's are
    back to what they were when ``main`` returns, and the table keeps its columns."""
    from convalg.bench import cpu
    from convalg.kernels.numpy import parallel

    before = (parallel.KERNEL_WORKERS, parallel.FFT_WORKERS)
    threads = parallel.KERNEL_WORKERS + 1  # differs from the current setting, whatever the machine
    torch = pytest.importorskip("torch")
    torch_threads = torch.get_num_threads()
    assert cpu.main(["--cases", "5", "--repeat", "1", "--no-scipy", "--threads", str(threads)]) == 0
    assert (parallel.KERNEL_WORKERS, parallel.FFT_WORKERS) == before
    assert torch.get_num_threads() == torch_threads
    out = capsys.readouterr().out.splitlines()
    assert f"threads: {threads};" in out[1] and f"convalg chunk threads: {threads} (" in out[1]
    assert out[2].split() == ["case", "alg", "fwd", "ms", "GF/s", "torch", "ratio", "bwd", "ms", "GF/s", "torch",
                              "ratio", "scipy", "ms", "peak/io"]
    row = out[3].split()
    assert row[:3] == ["5", "64x56x56", "k1"] and row[-2] == "skipped" and len(row) == 14
    assert out[4].startswith("geometric mean torch/convalg: forward ")
