"""The package's structure, measured by ``tests/structure.py``: no import cycles, none hidden in functions.

The stage order is written in :mod:`convalg`'s docstring; ``tests/spec/test_layer_kinds.py`` checks the
core stages in detail (kinds and their dispatch tables).  Here the whole package is held to the figures
that ``python tests/structure.py`` prints.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("convalg_structure", Path(__file__).with_name("structure.py"))
assert _spec is not None and _spec.loader is not None
structure = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = structure  # its dataclasses look their module up there
_spec.loader.exec_module(structure)

#: Imports of another stage inside a function, each for an optional dependency the caller must not pay for.
LAZY_ON_PURPOSE = {
    ("convalg.cli.check", "convalg.testing.harness"),  # Hypothesis is optional: `convalg check` prints a hint
    ("convalg.cli.matrix", "convalg.plot.sparsity"),  # matplotlib, only for --png
}
#: ``isinstance`` on a layer class that validates an argument (not a dispatch on the layer's kind).
TYPE_CHECKS = {("convalg.spec.base", "Layer"), ("convalg.spec.sequential", "Layer")}
LONGEST_FUNCTION = 80


@pytest.fixture(scope="module")
def package():
    return structure.read_package()


def test_the_reader_sees_the_whole_package(package) -> None:
    assert len(package.modules) > 100
    assert "convalg.kernels.base" in package.modules and "convalg.spec.conv" in package.modules
    assert package.top_level["convalg.functional"]  # imports are read


def test_no_module_cycle_not_even_through_imports_inside_functions(package) -> None:
    assert package.cycles() == []
    assert package.all_cycles() == []


def test_no_cycle_between_stages(package) -> None:
    assert package.stage_cycles() == []


def test_no_import_of_another_stage_hidden_in_a_function(package) -> None:
    crossing = {(a, b) for a, b, _ in package.cross_stage_function_imports()}
    assert crossing <= LAZY_ON_PURPOSE, sorted(crossing - LAZY_ON_PURPOSE)


def test_layers_are_told_apart_by_kind_not_by_isinstance(package) -> None:
    sites = {(module, names) for module, _, names in package.isinstance_sites}
    assert sites <= TYPE_CHECKS, sorted(sites - TYPE_CHECKS)


def test_no_function_is_longer_than_the_limit(package) -> None:
    longest = max(package.functions)
    assert longest[0] <= LONGEST_FUNCTION, longest


def test_the_measures_catch_what_they_claim(tmp_path: Path) -> None:
    """A planted cycle through a function-level import, a planted isinstance dispatch and a long function."""
    root = tmp_path / "convalg"
    (root / "spec").mkdir(parents=True)
    (root / "shapes").mkdir()
    (root / "__init__.py").write_text("")
    (root / "spec" / "__init__.py").write_text("class Conv:\n    pass\n")
    (root / "shapes" / "__init__.py").write_text(
        "def f(layer):\n    from ..spec import Conv\n    return isinstance(layer, Conv)\n")
    (root / "spec" / "size.py").write_text("from ..shapes import f\n\n\ndef g():\n" + "    x = 1\n" * 90)
    planted = structure.read_package(root)
    assert planted.cross_stage_function_imports() == [("convalg.shapes", "convalg.spec", 2)]
    assert planted.stage_cycles() == [["shapes", "spec"]]
    assert planted.isinstance_sites == [("convalg.shapes", 3, "Conv")]
    assert max(planted.functions)[0] == 91
