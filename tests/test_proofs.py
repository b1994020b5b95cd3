"""The theorems of proofs/: all proved with their scope; deliberately false variants are caught."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # proofs/ sits next to convalg/ in the checkout (not an installed package)
    sys.path.insert(0, str(ROOT))

from proofs import Disproved, load_all, run_theorem  # noqa: E402
from proofs.equivariance import check_strided_shift  # noqa: E402
from proofs.runner import markdown, run  # noqa: E402
from proofs.shapes import check_size_inverse  # noqa: E402
from proofs.transpose import check_transpose_matrices  # noqa: E402

THEOREMS = load_all()


@pytest.mark.parametrize("name", list(THEOREMS))
def test_theorem_proved_with_its_scope(name: str) -> None:
    thm = THEOREMS[name]
    result = run_theorem(thm)
    assert result.ok, result.scope
    if thm.general:
        assert result.scope == "PROVED (general)"
    else:
        assert result.scope == f"PROVED (all weights, sizes <= {thm.default_bound})"


def test_false_transpose_without_output_padding_is_disproved() -> None:
    with pytest.raises(Disproved, match=r"output_padding=\(0,\)"):
        check_transpose_matrices(4, correct_output_padding=False)


def test_false_size_inverse_without_output_padding_is_disproved() -> None:
    with pytest.raises(Disproved, match=r"n=\d+, K=\d+, s=\d+.*!= \d+"):
        check_size_inverse(4, output_padding=lambda *a: 0)


def test_false_equivariance_wrong_shift_is_disproved() -> None:
    with pytest.raises(Disproved, match=r"input shifted by 1"):
        check_strided_shift(3, input_shift=lambda s: 1)


def test_runner_reports_a_false_variant_as_failed() -> None:
    from proofs._core import Theorem

    fake = Theorem("false-transpose", "t", "c", False, 3, lambda b: check_transpose_matrices(b, False))
    result = run_theorem(fake)
    assert not result.ok and result.scope.startswith("FAILED: counterexample: Conv(")


def test_markdown_table_lists_every_theorem() -> None:
    results = run(["same-padding", "winograd"])
    table = markdown(results).splitlines()
    assert table[0] == "| theorem | claim | scope | covers |"
    assert [line.split("`")[1] for line in table[2:]] == ["same-padding", "winograd"]
    assert "| PROVED (general) |" in table[2] and "| PROVED (all weights, sizes <= 4) |" in table[3]


def test_cli_exit_status_and_unknown_name() -> None:
    ok = subprocess.run([sys.executable, "-m", "proofs", "same-padding"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and "same-padding" in ok.stdout and "PROVED (general)" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "convalg", "prove", "no-such-theorem"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("convalg prove: error: no theorem named")


@pytest.mark.parametrize("name", ["proofs._core", "proofs.runner"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_readme_table_is_the_runner_table() -> None:
    """The README's theorem table is what ``python -m proofs --markdown`` prints when every theorem
    is proved with its declared scope (which ``test_theorem_proved_with_its_scope`` establishes)."""
    from proofs._core import Result

    expected = markdown([Result(t, "general" if t.general else "bounded", t.default_bound, 0.0)
                         for t in THEOREMS.values()])
    readme = (ROOT / "README.md").read_text()
    assert expected in readme, "README theorem table is stale: paste `python -m proofs --markdown`"
