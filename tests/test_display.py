"""Rich display (notebooks) and the LaTeX the command line writes: same tables as `convalg shape`, LaTeX that compiles."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sympy as sp

import convalg
from convalg import Conv, ConvTranspose, MaxPool, Sequential
from convalg.cli import main
from convalg.display import OperatorMatrix, ShapeTable, escape_latex, latex_matrix

H, W = sp.symbols("H W", integer=True, positive=True)
UNET = [Conv(3, padding=1), MaxPool(2)] * 4 + [ConvTranspose(2, stride=2), Conv(3, padding=1)] * 4


def _outside_math(tex: str) -> str:
    """The text-mode parts of ``tex``: everything outside ``$...$``."""
    return "".join(tex.split("$")[0::2])


def _unescaped(tex: str, chars: str = "_^%#") -> list[str]:
    """Special characters in text mode not preceded by a backslash (LaTeX rejects a bare ``_`` there)."""
    return re.findall(rf"(?<!\\)[{re.escape(chars)}]", _outside_math(tex))


def _compile(body: str, tmp_path) -> None:
    """Compile ``body`` with pdflatex (amsmath for ``matrix``); skipped when no LaTeX is installed."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not on PATH")
    doc = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n" + body + "\n\\end{document}\n"
    (tmp_path / "t.tex").write_text(doc)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def _shape_latex(capsys) -> str:
    assert main(["shape", "--latex", "--input", "H,W", "conv(k=3,s=2,p=1)*2", "maxpool(k=2,ceil=1)"]) == 0
    return capsys.readouterr().out


def test_shape_latex_escapes_text(capsys) -> None:
    out = _shape_latex(capsys)
    assert r"\texttt{Conv(kernel\_size=3, stride=2, padding=1)}" in out
    cells = [line.split("&")[0] for line in out.splitlines()[2:-1]]  # the layer column: no bare _ there
    assert all(not re.search(r"(?<!\\)_", cell) for cell in cells)
    assert escape_latex("a_b^c#d%e&f{g}h~i\\j") == (r"a\_b\textasciicircum{}c\#d\%e\&f\{g\}h\textasciitilde{}i"
                                                    r"\textbackslash{}j")


def test_shape_latex_compiles(capsys, tmp_path) -> None:
    _compile(_shape_latex(capsys), tmp_path)


def _matrix_latex(capsys) -> tuple[str, str]:
    assert main(["matrix", "--latex", "--input", "3,3", "conv(k=3,p=1)"]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_matrix_latex_stdout_is_latex_only(capsys) -> None:
    out, err = _matrix_latex(capsys)
    assert out.startswith(r"\left[\begin{matrix}") and out.strip().endswith(r"\end{matrix}\right]")
    assert len(out.strip().splitlines()) == 1 and "structure per level" in err and "matrix: 9 x 9" in err
    assert "w_{0,0,1,1}" in out and "w_{0 0 1 1}" not in out


def test_matrix_latex_compiles(capsys, tmp_path) -> None:
    out, _ = _matrix_latex(capsys)
    _compile(f"$${out}$$", tmp_path)


def test_rf_latex_puts_the_math_in_math_mode_and_compiles(capsys, tmp_path) -> None:
    assert main(["rf", "--latex", "--input", "H,W", "conv(k=3,s=2,p=1)", "maxpool(k=3,s=2,p=1)"]) == 0
    out = capsys.readouterr().out
    assert "$[4 y - 3, 4 y + 3]$" in out and "output $y$ sees" in out and out.count("$") % 2 == 0
    _compile(out, tmp_path)


def test_latex_matrix_subscripts_are_unambiguous() -> None:
    w = sp.Symbol("w_1_12_0")
    assert latex_matrix(sp.Matrix([[w]])) == r"\left[\begin{matrix}w_{1,12,0}\end{matrix}\right]"
    assert sp.latex(w) == "w_{1 12 0}"  # SymPy's own form: is it (1, 12, 0) or (11, 2, 0)?


def test_shape_table_is_what_convalg_shape_prints(capsys) -> None:
    layers = "conv(k=3,s=2,p=1)*4 maxpool(k=2,ceil=1)"
    assert main(["shape", "--input", "H,W", layers]) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    from convalg.cli.syntax import parse_layers

    net = Sequential(*parse_layers(layers))
    assert str(net.shape_table((H, W))) == printed
    html = net._repr_html_()
    assert html.count("<tr>") == len(net) + 2 and "floor((H - 1)/16) + 1" in html
    md = net._repr_markdown_()
    assert md.splitlines()[0] == "| layer | output |" and len(md.splitlines()) == len(net) + 3


def test_layer_size_set_rf_and_operator_latex_compile(tmp_path) -> None:
    net = Sequential(*UNET)
    preserving = net.size_preserving_sizes(symbol="H")
    exact = Sequential(*[Conv(3, stride=2, padding=1)] * 4).exact_sizes(symbol="H")
    assert str(exact) == "H ≡ 1 (mod 16), H ≥ 1"
    assert exact._repr_latex_() == r"$H \equiv 1 \pmod{16},\ H \geq 1$"
    assert str(preserving) == "H ≡ 0 (mod 16), H ≥ 16"
    rf = Sequential(Conv(3, padding=1), MaxPool(2)).receptive_field()[0]
    assert str(rf) == "receptive field 4, stride 2, padding 1: output y sees inputs [2*y - 1, 2*y + 2]"
    op = OperatorMatrix.of(Conv(3, padding=1, in_channels=1, out_channels=2, ndim=1), (3,))
    pieces = [Conv(3, stride=2, padding=1)._repr_latex_(), net._repr_latex_(), exact._repr_latex_(),
              preserving._repr_latex_(), rf._repr_latex_(), op._repr_latex_()]
    assert all(p.startswith("$") and p.endswith("$") for p in pieces)
    assert not any(_unescaped(p[1:-1].replace(r"\texttt{", "").replace("}", "")) for p in pieces[:2])
    _compile("\n\n".join(pieces), tmp_path)


def test_shape_table_rows_hold_the_shapes() -> None:
    net = Sequential(Conv(3, stride=2, padding=1), MaxPool(2))
    table = net.shape_table((H, 64))
    assert isinstance(table, ShapeTable) and [shape for _, shape in table.rows] == net.shapes((H, 64))
    assert Conv(3).shape_table((5,)).rows == (("input", (5,)), ("Conv(kernel_size=3)", (3,)))


def test_version_flag(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"convalg {convalg.__version__}"
