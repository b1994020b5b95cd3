"""The CUDA printer keeps SymPy's integer semantics: printed index expressions, compiled with g++ through
the same preamble, agree with SymPy's own evaluation on every point of a grid (negative values included)."""

from __future__ import annotations

import itertools
import subprocess

import numpy as np
import pytest
import sympy as sp

from convalg.index_map import AdaptiveAxisMap, AxisMap
from convalg.kernels.cuda.hostshim import HOST_PRELUDE, host_compiler
from convalg.printers.cuda import PREAMBLE, CudaCodePrinter, cuda_code

MAPS = [
    AxisMap(n=9, n_out=5, kernel=3, stride=2, dilation=1, lo=1, hi=1),
    AxisMap(n=7, n_out=3, kernel=2, stride=3, dilation=2, lo=2, hi=0),
    AxisMap(n=6, n_out=6, kernel=3, stride=1, dilation=1, lo=2, hi=0),
    AxisMap(n=10, n_out=4, kernel=4, stride=2, dilation=3, lo=0, hi=3),
]


def _expressions():
    out = []
    for m in MAPS:
        out += [m.input_index, m.gather_output, m.window_start, m.window_size(True), m.window_size(False)]
        out += [m.padded_index(mode) for mode in ("circular", "reflect", "replicate")]
        out += [sp.Piecewise((1, m.valid), (0, True)), sp.Piecewise((1, m.gather_condition), (0, True))]
    a = AdaptiveAxisMap(7, 3)
    out += [a.window_start, a.window_end, sp.Piecewise((1, a.valid), (0, True))]
    return out


def test_printed_expressions(tmp_path):
    if host_compiler() is None:
        pytest.skip("needs g++")
    o, k, i = sp.symbols("o0 k0 i0", integer=True)
    exprs = _expressions()
    ranges = {"o0": (-3, 6), "k0": (0, 4), "i0": (-4, 10)}
    grid = list(itertools.product(*(range(*r) for r in ranges.values())))
    loops = " ".join(f"for (int {v} = {a}; {v} < {b}; ++{v})" for v, (a, b) in ranges.items())
    body = "\n".join(f'        printf("%d\\n", (int)({cuda_code(e)}));' for e in exprs)
    src = ("#include <cstdio>\n" + HOST_PRELUDE + PREAMBLE
           + "int main() {\n    " + loops + " {\n" + body + "\n    }\n}\n")
    (tmp_path / "p.cpp").write_text(src)
    subprocess.run([host_compiler(), "-O0", "-o", str(tmp_path / "p"), str(tmp_path / "p.cpp")], check=True)
    got = np.array(subprocess.run([str(tmp_path / "p")], capture_output=True, text=True, check=True).stdout.split(),
                   dtype=np.int64).reshape(len(grid), len(exprs))
    points = [{o: sp.Integer(a), k: sp.Integer(b), i: sp.Integer(c)} for a, b, c in grid]
    for col, e in enumerate(exprs):
        # SymPy's own value, exact (xreplace + evaluation on Integers; booleans as 0/1)
        vals = [e.xreplace(pt) for pt in points]
        want = np.array([int(bool(v)) if v in (sp.true, sp.false) else int(sp.floor(v)) for v in vals],
                        dtype=np.int64)
        bad = np.nonzero(got[:, col] != want)[0]
        assert bad.size == 0, (e, grid[bad[0]], got[bad[0], col], want[bad[0]])


def test_nonnegative_symbols_print_plain_division():
    q = sp.Symbol("q", integer=True)
    assert cuda_code(sp.floor(q / 9), nonnegative=[q]) == "(q / 9)"
    assert cuda_code(sp.floor(q / 9)) == "cv_floordiv(q, 9)"
    assert cuda_code(sp.Mod(q + 1, 2), nonnegative=[q]) == "((q + 1) % 2)"
    assert CudaCodePrinter().doprint(sp.Min(q, 3, 2 * q)).count("cv_min") == 2


def test_non_integer_denominator_is_refused():
    q, r = sp.symbols("q r", integer=True)
    with pytest.raises(ValueError, match="integer arithmetic"):
        cuda_code(q / r)
