"""Other frameworks' padding conventions (TF / JAX 'SAME', ONNX auto_pad and pads, F.pad tuples) against their documented formulas."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from convalg import Conv, MaxPool, SpecError, conventions
from convalg.spec import INPUT_SIZE
from convalg.spec.conventions import explicit_padding, onnx_pads, tf_output_size, torch_pad_tuple

H = sp.Symbol("H", integer=True, positive=True)


def tf_same_pads(n: int, k_eff: int, s: int) -> tuple[int, int]:
    """TF 'SAME' as tf.nn documents it: out = ceil(n/s); total = max((out-1)*s + k_eff - n, 0); extra at the end."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def conv_positions(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Windows (start s*o - lo, taps every d) that fit in the padded input [-lo, n + hi), counted one by one."""
    return sum(1 for o in range(n + lo + hi + 1) if s * o + d * (k - 1) <= n + lo + hi - 1)


@st.composite
def window(draw: st.DrawFn):
    return draw(st.integers(1, 60)), draw(st.integers(1, 7)), draw(st.integers(1, 5)), draw(st.integers(1, 3))


@given(window())
def test_tf_same_pads_and_output_size(case) -> None:
    n, k, s, d = case
    k_eff = d * (k - 1) + 1
    pads = explicit_padding("SAME", k, stride=s, dilation=d, n=n)
    assert pads == (tf_same_pads(n, k_eff, s),)
    # the ONNX / PR #45667 equivalent forms of the total
    total = sum(pads[0])
    assert total == (max(k_eff - s, 0) if n % s == 0 else max(k_eff - n % s, 0)) == max(0, k_eff - 1 - (n - 1) % s)
    lo, hi = pads[0]
    assert conv_positions(n, k, s, d, lo, hi) == math.ceil(n / s)  # TF: out = ceil(n/s)
    assert Conv(k, stride=s, dilation=d, padding=pads).output_shape((n,)) == (math.ceil(n / s),)
    assert tf_output_size(n, k, s, d, "SAME") == math.ceil(n / s)
    assert explicit_padding("SAME_UPPER", k, stride=s, dilation=d, n=n) == pads
    assert explicit_padding("SAME_LOWER", k, stride=s, dilation=d, n=n) == ((hi, lo),)  # extra pad at the start
    if k_eff <= n:
        assert tf_output_size(n, k, s, d, "VALID") == (n - k_eff + s) // s == Conv(k, stride=s, dilation=d,
                                                                                 padding="valid").output_shape((n,))[0]
    if d == 1 and max(lo, hi) <= k // 2:  # a pool takes the same pads
        assert MaxPool(k, stride=s, padding=pads).output_shape((n,)) == (math.ceil(n / s),)


@given(st.integers(1, 7), st.integers(1, 5), st.integers(1, 3), st.sampled_from(["SAME", "SAME_LOWER"]))
def test_symbolic_same_pads_evaluate_to_the_concrete_ones(k, s, d, convention) -> None:
    ((lo, hi),) = explicit_padding(convention, k, stride=s, dilation=d)
    assert {str(x) for e in (lo, hi) if isinstance(e, sp.Basic) for x in e.free_symbols} <= {str(INPUT_SIZE)}
    layer = Conv(k, stride=s, dilation=d, padding=((lo, hi),))
    (symbolic,) = layer.output_shape((H,))
    pool = MaxPool(k, stride=s, padding=((lo, hi),)) if d == 1 else None  # pools take symbolic pads too
    pool_symbolic = pool.output_shape((H,))[0] if pool is not None else None
    for n in range(1, 3 * s + 2 * k + 3):
        concrete = explicit_padding(convention, k, stride=s, dilation=d, n=n)
        assert (int(sp.sympify(lo).subs(INPUT_SIZE, n)), int(sp.sympify(hi).subs(INPUT_SIZE, n))) == concrete[0]
        assert layer.axis_specs((n,))[0][3:5] == concrete[0]
        assert layer.output_shape((n,)) == (math.ceil(n / s),)
        assert int(sp.sympify(symbolic).subs(H, n)) == math.ceil(n / s)
        if pool is not None:
            assert pool.output_shape((n,)) == (math.ceil(n / s),)
            assert int(sp.sympify(pool_symbolic).subs(H, n)) == math.ceil(n / s)


def test_size_dependent_pool_pads_are_checked_when_evaluated() -> None:
    pool = MaxPool(2, stride=3, padding=explicit_padding("SAME", 2, stride=3, dilation=3))
    assert pool.output_shape((9,)) == (3,)  # total max(3 - 8 % 3, 0) = 1: pads (0, 1)
    with pytest.raises(SpecError, match=r"padding\[0\] hi=2 at input size 7: .*kernel_size // 2 = 1"):
        pool.output_shape((7,))  # total max(3 - 6 % 3, 0) = 3: pads (1, 2) > 2 // 2


def test_same_depends_on_n_through_n_mod_s() -> None:
    assert explicit_padding("SAME", 7, stride=2, n=224) == ((2, 3),)  # PyTorch's k//2 would be (3, 3)
    assert explicit_padding("SAME", 3, stride=2, n=(112, 113)) == ((0, 1), (1, 1))
    assert explicit_padding("SAME", (3, 3), stride=2, n=(112, 113)) == ((0, 1), (1, 1))
    assert explicit_padding("VALID", 5, stride=3) == ((0, 0),)
    assert explicit_padding("torch_same", 4, dilation=3) == ((4, 5),)
    assert explicit_padding("SAME", 4, dilation=3) == ((4, 5),)  # stride 1: TF and PyTorch agree
    with pytest.raises(SpecError, match="stride=2.*torch_same"):
        explicit_padding("torch_same", 3, stride=2)
    with pytest.raises(SpecError, match="convention='same'"):
        explicit_padding("same", 3)
    with pytest.raises(SpecError, match="n"):
        explicit_padding("SAME", 3, n=0)


@given(st.lists(st.integers(0, 9), min_size=1, max_size=4), st.lists(st.integers(0, 9), min_size=4, max_size=4))
def test_onnx_pads_are_begins_then_ends(begins, ends) -> None:
    ends = ends[: len(begins)]
    assert onnx_pads(begins + ends) == tuple(zip(begins, ends))
    layer = Conv(1, padding=onnx_pads(begins + ends))
    sizes = tuple(range(3, 3 + len(begins)))
    assert layer.output_shape(sizes) == tuple(n + b + e for n, b, e in zip(sizes, begins, ends))


@given(st.lists(st.tuples(st.integers(-2, 5), st.integers(-2, 5)), min_size=1, max_size=3))
def test_torch_pad_tuple_is_last_axis_first(pairs) -> None:
    flat = tuple(v for pair in reversed(pairs) for v in pair)  # F.pad order: last axis first
    assert torch_pad_tuple(flat) == tuple(pairs)


def test_torch_pad_tuple_matches_f_pad_shapes() -> None:
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, 1, 7, 8, 9)
    for pad in [(1, 2), (0, 1, 2, 3), (3, 0, -1, 2, 1, 1), (-2, 1)]:
        pairs = torch_pad_tuple(pad)
        expected = tuple(torch.nn.functional.pad(x, pad).shape[2:])
        sizes = (7, 8, 9)[3 - len(pairs):]
        assert tuple(n + lo + hi for n, (lo, hi) in zip(sizes, pairs)) == expected[3 - len(pairs):]
        assert Conv(1, padding=pairs).output_shape(sizes) == expected[3 - len(pairs):]


def test_conventions_reject_bad_input() -> None:
    for bad in ([1, 2, 3], [], 5, "1,2", [1, -1], [1.0, 2]):
        with pytest.raises(SpecError, match="pads"):
            onnx_pads(bad)
    for bad in ((1, 2, 3), (), 5, (1.5, 2)):
        with pytest.raises(SpecError, match="pad"):
            torch_pad_tuple(bad)
    with pytest.raises(SpecError, match="padding='FULL'"):
        tf_output_size(5, 3, padding="FULL")
    with pytest.raises(SpecError, match="n=2"):
        tf_output_size(2, 3, padding="VALID")
    assert conventions.CONVENTIONS == ("SAME", "SAME_UPPER", "SAME_LOWER", "VALID", "torch_same")
