"""Both printers mean the same integer arithmetic: one expression set (the index maps' printed expressions plus
floor division and ``Mod`` of negatives, ``Min`` / ``Max``, ``Piecewise``) printed by the NumPy printer (run on
index arrays) and by the CUDA printer (compiled with g++ through the same preamble) agrees with SymPy's own exact
evaluation on every point of a grid, negative values included; what is not integer arithmetic is refused by both
with the same error."""

from __future__ import annotations

import itertools
import subprocess

import numpy as np
import pytest
import sympy as sp

from convalg.index_map import AdaptiveAxisMap, AxisMap
from convalg.kernels.cuda.hostshim import HOST_PRELUDE, host_compiler
from convalg.printers import CudaPrinter, IntegerIndexPrinter, NonIntegerIndexError, NumpyPrinter, cuda_code, numpy_code

MAPS = [
    AxisMap(n=9, n_out=5, kernel=3, stride=2, dilation=1, lo=1, hi=1),
    AxisMap(n=7, n_out=3, kernel=2, stride=3, dilation=2, lo=2, hi=0),
    AxisMap(n=6, n_out=6, kernel=3, stride=1, dilation=1, lo=2, hi=0),
    AxisMap(n=10, n_out=4, kernel=4, stride=2, dilation=3, lo=0, hi=3),
]
OUT, TAP, INP = sp.symbols("o0 k0 i0", integer=True)
RANGES = {"o0": (-3, 6), "k0": (0, 4), "i0": (-4, 10)}
GRID = list(itertools.product(*(range(*r) for r in RANGES.values())))


def _expressions():
    out = []
    for m in MAPS:
        out += [m.input_index, m.gather_index, m.window_start, m.window_size(True), m.window_size(False)]
        out += [m.padded_index(mode) for mode in ("circular", "reflect", "replicate")]
        out += [sp.Piecewise((1, m.valid), (0, True)), sp.Piecewise((1, m.gather_index_condition), (0, True))]
    a = AdaptiveAxisMap(7, 3)
    out += [a.window_start, a.window_end, sp.Piecewise((1, a.valid), (0, True))]
    # floor / ceiling division and Mod of negative numbers, negative divisors, Min / Max, a 3-branch Piecewise
    out += [sp.floor((OUT - 2 * INP) / 3), sp.ceiling((OUT - 2 * INP) / 3), sp.floor((INP - 7) / 4, evaluate=False),
            sp.Mod(OUT - INP, 4), sp.Mod(OUT - INP, -3), sp.Mod(INP, TAP + 1), sp.floor(INP / (TAP + 1)), sp.ceiling(OUT / (TAP + 2)),
            sp.Min(OUT, INP, 2 - TAP), sp.Max(OUT - INP, 2 * TAP - 3, -1),
            sp.Piecewise((OUT, sp.Lt(INP, 0)), (INP - OUT, sp.Ge(INP, 5)), (TAP, True)), (OUT - 1) ** 2]
    return out


def _sympy_values(exprs):
    points = [{OUT: sp.Integer(a), TAP: sp.Integer(b), INP: sp.Integer(c)} for a, b, c in GRID]
    want = np.empty((len(GRID), len(exprs)), dtype=np.int64)
    for col, e in enumerate(exprs):
        for row, pt in enumerate(points):
            v = e.xreplace(pt)
            want[row, col] = int(bool(v)) if v in (sp.true, sp.false) else int(v)
    return want


def _check(got, want, exprs, printer):
    for col, e in enumerate(exprs):
        bad = np.nonzero(got[:, col] != want[:, col])[0]
        assert bad.size == 0, (printer, e, GRID[bad[0]], got[bad[0], col], want[bad[0], col])


@pytest.fixture(scope="module")
def expressions():
    exprs = _expressions()
    return exprs, _sympy_values(exprs)


def test_numpy_printer_matches_sympy(expressions):
    exprs, want = expressions
    grid = np.array(GRID, dtype=np.int64)
    env = {"numpy": np, "o0": grid[:, 0], "k0": grid[:, 1], "i0": grid[:, 2]}
    got = np.empty_like(want)
    for col, e in enumerate(exprs):
        got[:, col] = np.broadcast_to(eval(numpy_code(e), env), len(GRID))  # noqa: S307 - our own printed source
    _check(got, want, exprs, "numpy")


def test_cuda_printer_matches_sympy(expressions, tmp_path):
    if host_compiler() is None:
        pytest.skip("needs g++")
    from convalg.printers.cuda import PREAMBLE

    exprs, want = expressions
    loops = " ".join(f"for (int {v} = {a}; {v} < {b}; ++{v})" for v, (a, b) in RANGES.items())
    body = "\n".join(f'        printf("%d\\n", (int)({cuda_code(e)}));' for e in exprs)
    src = ("#include <cstdio>\n" + HOST_PRELUDE + PREAMBLE
           + "int main() {\n    " + loops + " {\n" + body + "\n    }\n}\n")
    (tmp_path / "p.cpp").write_text(src)
    subprocess.run([host_compiler(), "-O0", "-o", str(tmp_path / "p"), str(tmp_path / "p.cpp")], check=True)
    got = np.array(subprocess.run([str(tmp_path / "p")], capture_output=True, text=True, check=True).stdout.split(),
                   dtype=np.int64).reshape(len(GRID), len(exprs))
    _check(got, want, exprs, "cuda")


REFUSED = [
    (sp.Rational(1, 2), "denominator 2"),
    (INP / 2, "denominator 2"),
    (INP / 2 - TAP / 2 + sp.Rational(1, 2), "denominator 2"),  # AxisMap.gather_output itself: exact only under its condition
    (INP / TAP, "denominator k0"),
    (sp.floor(INP / sp.Symbol("r")), "denominator r"),  # a divisor not known to be an integer
    (sp.Float(0.5) * INP, "a float"),
    (INP ** -1, "exponent -1"),
]


@pytest.mark.parametrize("expr, why", REFUSED, ids=[str(e) for e, _ in REFUSED])
@pytest.mark.parametrize("printer", [numpy_code, cuda_code], ids=["numpy", "cuda"])
def test_non_integer_arithmetic_is_refused_alike(printer, expr, why):
    with pytest.raises(NonIntegerIndexError, match=f"is not integer arithmetic \\({why}\\)"):
        printer(expr)


@pytest.mark.parametrize("printer", [numpy_code, cuda_code], ids=["numpy", "cuda"])
def test_piecewise_without_final_true_branch_is_refused(printer):
    with pytest.raises(NonIntegerIndexError, match="final True branch"):
        printer(sp.Piecewise((INP, sp.Lt(INP, 0)), (-INP, sp.Gt(INP, 3))))


def test_printers_share_one_rule_base():
    assert issubclass(NumpyPrinter, IntegerIndexPrinter) and issubclass(CudaPrinter, IntegerIndexPrinter)
    assert NonIntegerIndexError.__mro__[1].__name__ == "SpecError"


def test_nonnegative_symbols_print_plain_division():
    q = sp.Symbol("q", integer=True)
    assert cuda_code(sp.floor(q / 9), nonnegative=[q]) == "(q / 9)"
    assert cuda_code(sp.floor(q / 9)) == "cv_floordiv(q, 9)"
    assert cuda_code(sp.Mod(q + 1, 2), nonnegative=[q]) == "((q + 1) % 2)"
    assert CudaPrinter().doprint(sp.Min(q, 3, 2 * q)).count("cv_min") == 2
    assert numpy_code(sp.Min(q, 3, 2 * q)).count("numpy.minimum") == 2
