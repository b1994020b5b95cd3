"""Layer kinds: each layer class states one, every stage's dispatch table has an entry for each, and the
stages below the specifications neither import them nor hide imports of other stages in functions."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

import convalg.spec as spec
from convalg import SpecError
from convalg.index_map import KINDS, index_map
from convalg.index_map.maps import BUILDERS
from convalg.operators import matrix
from convalg.operators.linear import MATRIX_BUILDERS
from convalg.plot.arithmetic import _DIRECT
from convalg.plot.receptive import _OPERATOR
from convalg.shapes.stack import SLIDING_WINDOW
from convalg.vocabulary import LAYER_KINDS, kind_of

#: The classes ``convalg.spec`` exports that are layers (every one a subclass of ``Layer``).
LAYER_CLASSES = [c for name in spec.__all__ if inspect.isclass(c := getattr(spec, name))
                 and issubclass(c, spec.Layer) and c is not spec.Layer]

#: Every table that dispatches on ``layer.kind``, by the stage that owns it.
DISPATCH_TABLES = {
    "shapes.stack.SLIDING_WINDOW": SLIDING_WINDOW,
    "index_map.maps.BUILDERS": BUILDERS,
    "operators.linear.MATRIX_BUILDERS": MATRIX_BUILDERS,
    "plot.arithmetic._DIRECT": _DIRECT,
    "plot.receptive._OPERATOR": _OPERATOR,
}

#: The stages below ``convalg.spec``: they read ``layer.kind`` and must never import the layer classes.
BELOW_SPEC = ("errors", "checks", "vocabulary", "shapes", "index_map", "operators", "display")


def test_every_layer_class_has_a_kind_and_kinds_are_distinct() -> None:
    assert len(LAYER_CLASSES) == 9  # the seven kinds and the two global pools
    kinds = {c: c.kind for c in LAYER_CLASSES}
    assert set(kinds.values()) == set(LAYER_KINDS)
    own = [c for c in LAYER_CLASSES if not c.__name__.startswith("Global")]
    assert len({c.kind for c in own}) == len(own), "two layer classes share a kind"
    # a global pool is an adaptive pool and inherits its kind
    assert spec.GlobalAvgPool.kind == spec.AdaptiveAvgPool.kind == "adaptive_avg_pool"
    assert spec.GlobalMaxPool.kind == spec.AdaptiveMaxPool.kind == "adaptive_max_pool"
    assert set(KINDS) == set(LAYER_KINDS) - {"sequential"}


@pytest.mark.parametrize("name", sorted(DISPATCH_TABLES))
def test_every_dispatch_table_covers_every_kind(name: str) -> None:
    table = DISPATCH_TABLES[name]
    assert set(table) == set(LAYER_KINDS), f"{name}: missing {set(LAYER_KINDS) - set(table)}, " \
                                           f"extra {set(table) - set(LAYER_KINDS)}"


def test_kind_of_tells_layers_from_other_objects() -> None:
    conv = spec.Conv(3, ndim=1)
    assert kind_of(conv) == "conv" and kind_of(spec.Sequential(conv)) == "sequential"
    # an index map has a kind too, but is not a layer
    assert kind_of(index_map(conv, (5,))) is None and kind_of("conv") is None and kind_of(None) is None


def test_a_non_layer_gets_a_spec_error_from_the_dispatchers() -> None:
    m = index_map(spec.Conv(3, ndim=1), (5,))
    with pytest.raises(SpecError, match="must be a convalg layer"):
        index_map(m, (5,))
    with pytest.raises(SpecError, match="no operator matrix for this layer type"):
        matrix(m, (5,))
    with pytest.raises(SpecError, match="one index map per layer"):
        index_map(spec.Sequential(spec.Conv(3)), (5,))


def _structure():  # tests/structure.py, read with ast (nothing of convalg imported)
    path = Path(__file__).resolve().parent.parent / "structure.py"
    module_spec = importlib.util.spec_from_file_location("convalg_structure", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules.setdefault(module_spec.name, module)  # its dataclasses look their module up
    module_spec.loader.exec_module(module)
    return module.read_package()


def test_the_stages_have_no_cycle_and_the_stages_below_spec_do_not_import_it() -> None:
    package = _structure()
    assert package.stage_cycles() == []
    below = [m for m in package.modules if package.stage(m) in BELOW_SPEC]
    assert len(below) > 20
    upward = [(m, t) for m in below for t in package.top_level.get(m, ()) if package.stage(t) == "spec"]
    upward += [(a, b) for a, b, _ in package.in_functions if a in below and package.stage(b) == "spec"]
    assert upward == []


def test_the_core_stages_hide_no_imports_of_other_stages_in_functions() -> None:
    package = _structure()
    core = {*BELOW_SPEC, "spec", "plot"}
    hidden = [(a, b, line) for a, b, line in package.cross_stage_function_imports()
              if package.stage(a) in core or a == "convalg.cli.draw"]
    assert hidden == []
