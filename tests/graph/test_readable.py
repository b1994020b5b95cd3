"""Readable shapes on the accepted sizes: equal to the exact shapes (and to torch) wherever the model runs."""

from __future__ import annotations

import pytest
import sympy as sp

from convalg import Conv
from convalg.graph import Graph
from convalg.graph.ops import BroadcastOp, LayerOp

H, W = sp.symbols("H W", integer=True, positive=True)


def _two_strides(width) -> Graph:
    g = Graph({"x": (1, 1, H, width)})
    a = g.add("a", LayerOp(Conv(3, stride=2, padding=1, ndim=2)), ["x"])
    b = g.add("b", LayerOp(Conv(3, stride=4, padding=1, ndim=2)), ["x"])
    g.add("s", BroadcastOp("add"), [a, b])
    return g


def test_both_axes_rewritten_and_equal_at_every_accepted_pair() -> None:
    g = _two_strides(W)
    exact, readable = g.shape_of("s"), g.simplified_shape()
    assert readable[2] != exact[2] and not readable[2].has(sp.Eq)
    for h in range(1, 40):
        for w in range(1, 12):
            values = {"H": h, "W": w}
            if g.accepts(values):
                at = {H: h, W: w}
                assert tuple(sp.sympify(d).xreplace(at) for d in readable) == g.shapes_at(values, ["s"])["s"]


def test_branches_kept_where_the_solver_cannot_decide() -> None:
    """A broadcast between two inputs couples H with W: with W free nothing is proved, so nothing changes."""
    g = Graph({"x": (1, H), "y": (1, W)})
    g.add("s", BroadcastOp("add"), ["x", "y"])
    assert g.shape_of("s")[1].has(sp.Piecewise)
    assert g.simplified_shape() == g.shape_of("s")
    fixed = g.simplified_shape(given={"W": 5})  # H in {1, 5}: both branches stay, each exact
    assert [fixed[1].xreplace({H: h}) for h in (1, 5)] == [5, 5]


def test_given_sizes_and_an_empty_set_keep_the_exact_shape() -> None:
    g = _two_strides(8)  # W = 8: 4 != 2 at the add, so no H is accepted: nothing is rewritten
    assert g.accepted_sizes(H).empty
    assert g.simplified_shape()[2] == g.shape_of("s")[2]
    g = _two_strides(W)
    assert g.simplified_shape(given={"W": 1})[3] == 1


torch = pytest.importorskip("torch")

import convalg  # noqa: E402

from .torch_models import FPN, MODELS  # noqa: E402


def test_fpn_reads_as_cases() -> None:
    g = convalg.from_torch(FPN().eval(), (1, 3, "H", "W"))
    h, w = g._symbol("H"), g._symbol("W")
    assert g.simplified_output_shapes() == (
        (1, 2, sp.Piecewise((4, h <= 2), (sp.floor((h - 1) / 2) + 1, True)),
         sp.Piecewise((4, w <= 2), (sp.floor((w - 1) / 2) + 1, True))),
        (1, 2, sp.Piecewise((2, h <= 2), (sp.floor((h - 1) / 4) + 1, True)),
         sp.Piecewise((2, w <= 2), (sp.floor((w - 1) / 4) + 1, True))),
        (1, 2, sp.floor((h - 1) / 8) + 1, sp.floor((w - 1) / 8) + 1))


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"unet_valid"}))  # unet_valid: no Piecewise, slow solver
def test_simplified_shapes_equal_torch_on_accepted_sizes(name) -> None:
    factory, shape, fixed = MODELS[name]
    torch.manual_seed(0)
    model = factory().eval()
    g = convalg.from_torch(model, shape)
    assert g.symbols, name
    for sym in g.symbols:
        others = {k: v for k, v in fixed.items() if k != sym.name}
        readable = g.simplified_output_shapes(others)
        accepted = g.accepted_sizes(sym, others)
        first = accepted.minimum
        assert first is not None, (name, sym, "no accepted size: nothing would be checked")
        sizes = [n for n in range(first, first + 120) if n in accepted]  # the first accepted size and on
        for n in sizes:
            values = {**others, sym.name: n}
            with torch.no_grad():
                out = model(torch.zeros(tuple(values.get(d, d) if isinstance(d, str) else d for d in shape)))
            outs = out if isinstance(out, (tuple, list)) else (out,)
            got = [tuple(int(sp.sympify(d).xreplace({sym: n})) for d in s) for s in readable]
            assert got == [tuple(o.shape) for o in outs], (name, values)
