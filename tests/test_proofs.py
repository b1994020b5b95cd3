"""The theorems of proofs/: all proved with their scope and counted coverage; a false variant of every
theorem is rejected by its checker; the README table is the runner's."""

from __future__ import annotations

import doctest
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from proofs import Disproved, load_all, run_theorem  # the checkout's proofs/ (pytest puts the root on sys.path)
from proofs import definitions as D
from proofs._core import Cases, Result, Theorem, Unproved
from proofs.runner import markdown, run

ROOT = Path(__file__).resolve().parents[1]

THEOREMS = load_all()


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    return {name: run_theorem(thm) for name, thm in THEOREMS.items()}


@pytest.mark.parametrize("name", list(THEOREMS))
def test_theorem_proved_with_its_scope_and_coverage(name: str, results: dict[str, Result]) -> None:
    thm, result = THEOREMS[name], results[name]
    assert result.ok, result.scope
    if thm.general:
        assert result.scope == "PROVED (general)"
    else:
        assert result.scope.startswith(f"PROVED (all weights, sizes <= {thm.default_bound}")
    assert thm.claims, "every theorem claims a coverage"
    for kind, least in thm.claims:
        assert result.counts[kind] >= least


def test_every_theorem_says_what_it_compares() -> None:
    kinds = {t.compares for t in THEOREMS.values()}
    assert kinds <= {"library vs independent definition", "library vs library (property)", "library, symbolic"}
    properties = [t.name for t in THEOREMS.values() if t.compares == "library vs library (property)"]
    assert len(properties) <= 2, properties


def test_coverage_below_the_claim_fails() -> None:
    def shrunk(bound: int) -> Cases:
        c = Cases()
        c.add("matrices vs definition", 3)
        return c

    fake = Theorem("shrunk", "t", "c", False, 2, shrunk, claims=(("matrices vs definition", 4),))
    result = run_theorem(fake)
    assert not result.ok and "coverage: 3 matrices vs definition checked, the scope claims >= 4" in result.detail
    uncounted = Theorem("uncounted", "t", "c", False, 2, lambda b: None)
    assert "did not count its cases" in run_theorem(uncounted).detail


def test_spec_error_accepted_only_where_pytorch_rejects() -> None:
    from convalg import Conv, SpecError

    cases = Cases()
    assert cases.expect_rejection("reflect pad 2 on n=2", False,
                                  lambda: Conv(3, padding=2, padding_mode="reflect", ndim=1).output_shape((2,))) is None
    assert cases["rejected (SpecError, expected)"] == 1

    def rejects() -> None:
        raise SpecError("dilation=2: rejected")

    with pytest.raises(Disproved, match="rejects a case PyTorch accepts"):
        cases.expect_rejection("Conv(d=2)", True, rejects)
    with pytest.raises(Disproved, match="accepts a case PyTorch rejects"):
        cases.expect_rejection("Conv", False, lambda: 1)
    with pytest.raises(ValueError):  # anything but a SpecError is not caught
        cases.expect_rejection("x", False, lambda: int("x"))


def test_definitions_ceil_mode_drop_and_pytorch_examples() -> None:
    assert D.pool_windows(5, 2, 2, 1, 1, 1, ceil_mode=True) == [-1, 1, 3]  # PyTorch: 3, a 4th starts in padding
    assert len(D.pool_windows(32, 1, 2, 1, 0, 0, ceil_mode=True)) == 16  # pytorch#57178
    assert D.padded_source(-1, 4, "reflect") == 1 and D.padded_source(4, 4, "reflect") == 2
    assert D.padded_source(-1, 4, "circular") == 3 and D.padded_source(5, 4, "replicate") == 3
    assert D.conv_windows(224, 7, 2, 1, 3, 3) == 112


# -- a false variant of every theorem: its checker must reject the wrong statement ---------------------------------

def _wrong_direct(original):
    """The definition's conv with the flip toggled and replicate padding: a wrong right-hand side."""
    def wrong(spatial, K, s, d, pads, groups, cin, cout, w, mode="zeros", flip=False):
        return original(spatial, K, s, d, pads, groups, cin, cout, w, "replicate", not flip)
    return wrong


def _no_drop_windows(n, K, s, d, lo, hi, ceil_mode):
    span, total = d * (K - 1) + 1, n + lo + hi
    count = (-(-(total - span) // s) if ceil_mode else (total - span) // s) + 1
    return [s * o - lo for o in range(max(count, 0))]


def _patch(monkeypatch, target: str, make):
    owner_path, name = target.rsplit(".", 1)
    try:
        owner = importlib.import_module(owner_path)
    except ModuleNotFoundError:  # a class attribute: module.Class.name
        module, cls = owner_path.rsplit(".", 1)
        owner = getattr(importlib.import_module(module), cls)
    monkeypatch.setattr(owner, name, make(getattr(owner, name)))


def _swapped_transpose(original):
    def transpose(self):
        conv = original(self)
        return conv.replace(stride=conv.dilation, dilation=conv.stride)
    return transpose


FALSE_VARIANTS = {
    # theorem: (what is patched, how) -- each makes the theorem's statement false
    "conv-definition": ("proofs.definitions.padded_source",
                        lambda f: lambda j, n, mode: f(j, n, mode) if mode != "reflect" or 0 <= j < n else
                        (-j - 1 if j < 0 else 2 * n - 1 - j)),  # reflect repeating the edge (symmetric)
    "conv-transpose-definition": ("proofs.definitions.conv_transpose_entries",
                                  lambda f: lambda sp_, K, s, d, pads, *a, **k: f(sp_, K, s, d,
                                                                                 tuple(p[::-1] for p in pads), *a, **k)),
    "avg-pool-definition": ("proofs.definitions.avg_pool_entries",
                            lambda f: lambda sp_, K, s, pads, ceil, include, override: f(sp_, K, s, pads, ceil,
                                                                                         not include, override)),
    "window-counts": ("proofs.definitions.pool_windows", lambda f: _no_drop_windows),
    "conv-transpose-size-inverse": None,  # output_padding 0 instead of the remainder
    "floor-collapse": None,  # c_integer=False, below
    "same-padding": None,  # extra_at_end=False
    "ceil-mode-no-drop": None,  # hypothesis=False
    "tf-same-padding": None,  # clamp=False
    "receptive-field": ("proofs.shapes._hull", lambda f: lambda stack, y: tuple(v + 1 for v in f(stack, y))),
    "transpose-index-relation": ("convalg.spec.conv.ConvTranspose.transpose", _swapped_transpose),
    "transpose-matrices": ("proofs.transpose._transpose_layer", lambda f: lambda conv, n, correct: f(conv, n, False)),
    "fractional-striding": ("proofs.reductions._direct", _wrong_direct),
    "dilation-stuffed-kernel": ("proofs.reductions._direct", _wrong_direct),
    "strided-subsampled": ("proofs.reductions._direct", _wrong_direct),
    "pointwise-matmul": ("proofs.reductions._pointwise_matrix",
                         lambda f: lambda W, size: __import__("sympy").kronecker_product(
                             __import__("sympy").eye(size), W) if W.shape != (1, 1) else f(W, size)),
    "avg-pool-constant-kernel": ("proofs.reductions._direct", _wrong_direct),
    "bilinearity": ("proofs.algebra.mat", lambda f: lambda layer, spatial, weights=None, **kw: f(
        layer, spatial, weights=None if weights is None else np.vectorize(lambda e: e**2, otypes=[object])(weights),
        **kw)),
    "correlation-flip": ("proofs.algebra._direct", _wrong_direct),
    "full-convolution-commutative-associative": ("proofs.algebra.full_conv", lambda f: lambda x, w: f(x, w)[::-1]),
    "layer-fusion": ("proofs.algebra._fused_kernel", lambda f: lambda w1, w2, s1, d1, d2: f(w1, w2, 1, d1, d2)),
    "equivariance-circular": ("proofs.equivariance._cyclic", lambda f: lambda n, t: __import__("sympy").SparseMatrix(
        n, n, {(i + t, i): 1 for i in range(n) if i + t < n})),
    "equivariance-strided": ("proofs.equivariance.check_strided_shift", None),  # input_shift=1, below
    "convolution-theorem": ("proofs.convolution_theorem._circular_column", lambda f: lambda *a: f(*a)[1:] + f(*a)[:1]),
    "convolution-theorem-multilevel": ("proofs.convolution_theorem._circular_column",
                                       lambda f: lambda *a: f(*a)[1:] + f(*a)[:1]),
    "conv-gradients": ("proofs.gradients._direct", _wrong_direct),
    "gradient-index-formulas": ("proofs.gradients._direct", _wrong_direct),
    "max-pool-jacobian": ("proofs.definitions.max_pool_windows",
                          lambda f: lambda *a: (f(*a)[0], [w[:-1] if len(w) > 1 else w for w in f(*a)[1]])),
    "max-pool-subgradient": ("proofs.definitions.max_pool_select",
                             lambda f: lambda windows, values: [max(reversed(w), key=lambda t: values[t])
                                                               for w in windows]),  # ties to the last maximum
    "winograd": None,  # correlation=False
}
KNOBS = {"floor-collapse": {"c_integer": False}, "same-padding": {"extra_at_end": False},
         "ceil-mode-no-drop": {"hypothesis": False}, "tf-same-padding": {"clamp": False},
         "winograd": {"correlation": False}, "equivariance-strided": {"input_shift": lambda s: 1},
         "conv-transpose-size-inverse": {"output_padding": lambda *a: 0}}


def test_every_theorem_has_a_false_variant() -> None:
    assert set(FALSE_VARIANTS) == set(THEOREMS)


@pytest.mark.parametrize("name", list(FALSE_VARIANTS))
def test_false_variant_is_rejected(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    thm = THEOREMS[name]
    bound = min(thm.default_bound, 2)
    if name in KNOBS:
        check = thm.check
        fake = Theorem("false-" + name, "t", "c", thm.general, bound, lambda b: check(b, **KNOBS[name]))
    else:
        target, make = FALSE_VARIANTS[name]
        _patch(monkeypatch, target, make)
        fake = Theorem("false-" + name, "t", "c", thm.general, bound, thm.check)
    result = run_theorem(fake, bound)
    assert not result.ok, f"{name}: the false variant passed"
    assert result.detail.startswith(("counterexample:", "proof step not established:")), result.detail
    assert "error:" not in result.detail.split(":")[0]


def test_markdown_table_lists_every_theorem() -> None:
    results = run(["same-padding", "winograd"])
    table = markdown(results).splitlines()
    assert table[0] == "| theorem | claim | compares | scope | covers (counted by the run) |"
    assert [line.split("`")[1] for line in table[2:]] == ["same-padding", "winograd"]
    assert "| PROVED (general) |" in table[2] and "| PROVED (all weights, sizes <= 4) |" in table[3]
    assert "checked: 192 layers, 5 symbolic steps" in table[2]


def test_cli_exit_status_and_unknown_name() -> None:
    ok = subprocess.run([sys.executable, "-m", "proofs", "same-padding"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and "same-padding" in ok.stdout and "PROVED (general)" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "convalg", "prove", "no-such-theorem"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("convalg prove: error: no theorem named")


def test_convalg_prove_from_a_plain_install(tmp_path: Path) -> None:
    """A wheel built from the repository (``pip install .``, not editable) carries the theorems as
    ``convalg._proofs``: ``convalg prove`` runs from another directory, with no checkout on ``sys.path``."""
    src, site, elsewhere = tmp_path / "src", tmp_path / "site", tmp_path / "elsewhere"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("convalg", "proofs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, cwd=elsewhere)
    wheel = next((tmp_path / "dist").glob("convalg-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, cwd=elsewhere)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(site)}

    def convalg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(site / "bin" / "convalg"), *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=300)

    where = subprocess.run([sys.executable, "-c", "import convalg._proofs as p, importlib.util as u; "
                            "print(p.__file__, u.find_spec('proofs'))"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(site / "convalg" / "_proofs" / "__init__.py"), "None"]  # installed; no checkout in sight
    assert not (site / "gpu").exists() and not list(site.glob("convalg/kernels/cuda/cases.py"))  # fixtures stay out
    helped = convalg("prove", "--help")
    assert helped.returncode == 0 and "--bound" in helped.stdout
    proved = convalg("prove", "floor-collapse", "--bound", "2")
    assert proved.returncode == 0, proved.stderr
    assert "floor-collapse" in proved.stdout and "1/1 theorems proved, 0 failed" in proved.stdout


@pytest.mark.parametrize("name", ["proofs._core", "proofs.runner", "proofs.definitions", "proofs.mutate"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_readme_table_is_the_runner_table(results: dict[str, Result]) -> None:
    """The README's theorem table is what ``python -m proofs --markdown`` prints, counts included."""
    expected = markdown([results[name] for name in THEOREMS])
    readme = (ROOT / "README.md").read_text()
    assert expected in readme, "README theorem table is stale: paste `python -m proofs --markdown`"


def test_unproved_is_not_a_pass() -> None:
    def unproved(bound: int) -> Cases:
        raise Unproved("a step")

    assert not run_theorem(Theorem("u", "t", "c", True, 1, unproved)).ok


# -- the mutation harness --------------------------------------------------------------------------------------------

def test_every_mutation_applies_once_and_names_claiming_theorems() -> None:
    from proofs.mutate import MUTATIONS

    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS) >= 30
    for m in MUTATIONS:
        text = (ROOT / m.path).read_text()
        assert text.count(m.old) == 1, f"{m.name}: stale snippet in {m.path}"
        assert m.old != m.new and m.theorems and set(m.theorems) <= set(THEOREMS), m.name
        assert set(m.ci_theorems) <= set(m.theorems), m.name
    issue_examples = {"index-shift", "convT-stride-dilation-swap", "ceil-drop-rule-deleted", "exclude-pad-divisor",
                      "collapse-guard-dropped", "conv-rejects-dilation"}
    assert issue_examples == {m.name for m in MUTATIONS if m.ci}


def test_ci_mutations_are_caught() -> None:
    """Each CI mutation, in a temporary copy of the library, makes a theorem that claims about it fail."""
    from proofs.mutate import MUTATIONS, run_all

    ci = [m for m in MUTATIONS if m.ci]
    outcomes = run_all(ci, ci=True, jobs=2)
    assert sorted(o.mutation.name for o in outcomes) == sorted(m.name for m in ci) and ci  # each one ran
    for o in outcomes:
        assert o.caught, f"{o.mutation.name}: {o.error or 'no theorem failed'}"


def test_an_unmutated_copy_passes() -> None:
    """The harness itself: the same run on an unbroken copy proves everything (so 'caught' means the mutation)."""
    from proofs.mutate import Mutation, run_mutation

    identity = Mutation("identity", "convalg/shapes/formulas.py", "def same_padding(", "def same_padding(", "none",
                        ("same-padding", "window-counts"))
    outcome = run_mutation(identity)
    assert not outcome.error and outcome.survived == ["same-padding", "window-counts"] and not outcome.caught


@pytest.mark.slow
def test_every_mutation_is_caught() -> None:
    from proofs.mutate import MUTATIONS, run_all

    outcomes = run_all(MUTATIONS, jobs=2)
    assert [o.mutation.name for o in outcomes] == [m.name for m in MUTATIONS]  # each one ran
    missed = [o.mutation.name for o in outcomes if not o.caught]
    assert not missed
