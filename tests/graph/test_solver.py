"""The accepted-size solver against direct evaluation of every constraint, size by size."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from convalg import AvgPool, Conv, ConvTranspose, MaxPool
from convalg.graph import Graph, solve_axis
from convalg.graph.accepted import AcceptedSizes
from convalg.graph.intsets import IntSet, solve_in
from convalg.graph.ops import BroadcastOp, ConcatOp, FlattenOp, LayerOp, LinearOp, ResizeOp, SliceOp

H = sp.Symbol("H", integer=True, positive=True)
t = sp.Symbol("t", integer=True)


def _brute(g: Graph, upto: int = 160) -> list[int]:
    return [n for n in range(1, upto + 1) if not g.violated({"H": n})]


def test_intset_algebra() -> None:
    a = IntSet.of([(1, 5), (10, None)])
    b = IntSet.of([(4, 12)])
    assert (a & b).intervals == ((4, 5), (10, 12))
    assert (a | b).intervals == ((1, None),)
    assert (a - b).intervals == ((1, 3), (13, None))
    assert solve_in(sp.Ge(t**2 - 10 * t, 0), t, IntSet.at_least(0)).intervals == ((0, 0), (10, None))
    assert solve_in(sp.Eq(t**2, 49), t, IntSet.of([(None, None)])).intervals == ((-7, -7), (7, 7))


def test_undecidable_is_reported() -> None:
    n, w = sp.symbols("n w", integer=True, positive=True)
    s = solve_axis([sp.Eq(sp.floor(n / 2) * w, 12)], n)
    assert s.undecided and "w" in s.undecided
    assert "undecided" in str(s)
    s2 = solve_axis([sp.Ge(sp.floor(n**2 / 3), 2)], n)  # a rounding that is not affine in n
    assert s2.undecided is not None


def test_accepted_sizes_api() -> None:
    s = AcceptedSizes(H, modulus=4, residues=(0, 1), start=20, below=(3, 8, 9, 13, 16, 17))
    assert [n for n in range(1, 30) if n in s] == [3, 8, 9, 13, 16, 17, 20, 21, 24, 25, 28, 29]
    assert s.exceptions == (12,) and s.extra == (3,)
    assert s.smallest(10) == 13 and s.smallest(18) == 20
    cond = s.condition
    assert [n for n in range(1, 30) if cond.subs(H, n) is sp.true] == [n for n in range(1, 30) if n in s]


_LAYERS = st.sampled_from([
    Conv(3, padding=1), Conv(3, stride=2, padding=1), Conv(5, stride=2), Conv(3, dilation=2),
    MaxPool(2), MaxPool(3, stride=2, ceil_mode=True), MaxPool(2, ceil_mode=True), AvgPool(3, stride=2, padding=1),
    ConvTranspose(2, stride=2), ConvTranspose(3, stride=2, padding=1, output_padding=1),
])


@settings(max_examples=15, deadline=None)
@given(st.lists(_LAYERS, min_size=1, max_size=4), st.lists(_LAYERS, min_size=1, max_size=4),
       st.sampled_from(["add", "cat", "linear", "crop"]))
def test_two_branch_graph_matches_direct_evaluation(left, right, merge) -> None:
    g = Graph({"x": (1, 2, H)})
    a, b = "x", "x"
    for i, layer in enumerate(left):
        a = g.add(f"l{i}", LayerOp(layer.bind(1)), [a])
    for i, layer in enumerate(right):
        b = g.add(f"r{i}", LayerOp(layer.bind(1)), [b])
    if merge == "add":
        g.add("out", BroadcastOp("add"), [a, b])
    elif merge == "cat":
        g.add("out", ConcatOp(1), [a, b])
    elif merge == "crop":
        g.add("crop", SliceOp((slice(None), slice(None), slice(1, -1))), [a])
        g.add("up", ResizeOp(scale=(sp.Integer(2),)), [b])
    else:
        f = g.add("flat", FlattenOp(1), [a])
        g.add("fc", LinearOp(14, 3), [f])
    s = g.accepted_sizes(H)
    assert s.undecided is None, s.undecided
    assert [n for n in range(1, 161) if n in s] == _brute(g)


def test_multi_input_constraints_cross_inputs() -> None:
    a = sp.Symbol("A", integer=True, positive=True)
    g = Graph({"x": (1, 2, H), "y": (1, 2, a)})
    p = g.add("pool", LayerOp(MaxPool(2).bind(1)), ["x"])
    g.add("sum", BroadcastOp("add"), [p, "y"])
    assert str(g.accepted_sizes(H, {"A": 5})) == "H in {2..3, 10..11}"  # floor(H/2) == 5, or == 1 broadcasts
    assert str(g.accepted_sizes(a, {"H": 12})) == "A in {1, 6}"
    assert g.accepted_sizes(H).undecided is not None  # coupled with a free A: said, not guessed
