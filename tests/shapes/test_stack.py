"""Stack algebra: nested-floor collapse, exact and size-preserving input sizes, by brute force."""

from __future__ import annotations

import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convalg import AvgPool, Conv, ConvTranspose, MaxPool, Sequential, SpecError
from convalg.cli.demo import small_unet
from convalg.shapes import collapse_floors, exact_sizes, format_size, latex_size, size_preserving_sizes

from ._brute import conv_positions

H = sp.Symbol("H", integer=True, positive=True)
N_RANGE = range(1, 161)


def layer_by_layer(layers, n: int) -> int | None:
    """Integer output size, one layer at a time (None when some layer rejects its input)."""
    try:
        for layer in layers:
            (n,) = layer.output_shape((n,))
    except SpecError:
        return None
    return n


@st.composite
def mixed_stack(draw: st.DrawFn, max_layers: int = 6):
    layers = []
    for _ in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg", "convt"]))
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        if kind == "conv":
            layers.append(Conv(k, stride=s, padding=((draw(st.integers(0, 2)), draw(st.integers(0, 2))),),
                               dilation=draw(st.integers(1, 2))))
        elif kind == "max":
            layers.append(MaxPool(k, stride=s, padding=draw(st.integers(0, k // 2)), ceil_mode=draw(st.booleans())))
        elif kind == "avg":
            layers.append(AvgPool(k, stride=s, padding=draw(st.integers(0, k // 2)), ceil_mode=draw(st.booleans())))
        else:
            op = draw(st.integers(0, s - 1))
            layers.append(ConvTranspose(k, stride=s, padding=draw(st.integers(0, 1)), output_padding=op))
    return layers


def test_four_strided_convs_collapse_to_one_floor() -> None:
    net = Sequential(*[Conv(3, stride=2, padding=1)] * 4)
    (out,) = net.output_shape((H,))
    assert format_size(out) == "floor((H - 1)/16) + 1"
    assert not any(isinstance(a, sp.floor) for f in out.atoms(sp.floor) for a in sp.preorder_traversal(f.args[0]))
    assert latex_size(out) == r"\left\lfloor{\frac{H - 1}{16}}\right\rfloor + 1"


def test_collapse_floors_on_a_nest_and_ceilings() -> None:
    nest = sp.floor((sp.floor((sp.floor((H + 1) / 2) + 3) / 3) - 1) / 5)
    assert collapse_floors(nest) == sp.floor((H + 1 + 6 - 6) / 30)
    ceil_nest = sp.ceiling((sp.ceiling(H / 2) + 1) / 2)
    assert collapse_floors(ceil_nest) == sp.ceiling((H + 2) / 4)
    # mixed: ceiling over floor and floor over ceiling
    assert collapse_floors(sp.ceiling((sp.floor((H - 1) / 16) - 1) / 2)) == sp.floor((H - 1 - 16 + 16) / 32)
    assert collapse_floors(sp.floor((sp.ceiling(H / 3) + 2) / 4)) == sp.ceiling((H + 6 - 9) / 12)
    for n in range(1, 200):
        assert (-(-((n - 1) // 16 - 1) // 2)) == (n - 1) // 32
    # not rewritten: a non-integer offset or a symbolic divisor
    half = sp.floor((sp.floor(H / 2) + sp.Rational(1, 2)) / 3)
    assert collapse_floors(half) == half
    m = sp.Symbol("m", positive=True)
    sym_div = sp.floor((sp.floor(H / 2) + 1) / m)
    assert collapse_floors(sym_div) == sym_div


@settings(max_examples=max(settings.default.max_examples, 100))
@given(mixed_stack())
def test_collapse_never_changes_values(layers) -> None:
    raw = (H,)
    for layer in layers:
        raw = layer.output_shape(raw)  # composed without collapsing
    collapsed = Sequential(*layers).output_shape((H,))
    assert collapsed[0] == collapse_floors(raw[0]) or collapse_floors(collapsed[0]) == collapsed[0]
    accepted = {n: layer_by_layer(layers, n) for n in [*range(1, 40), 63, 64, 65, 127, 128, 129]}
    accepted = {n: out for n, out in accepted.items() if out is not None}
    assume(accepted)  # a stack that rejects every size here has nothing to compare (Hypothesis counts these)
    for n, expected in accepted.items():
        assert int(sp.sympify(collapsed[0]).subs(H, n)) == expected
        assert int(sp.sympify(collapse_floors(raw[0])).subs(H, n)) == expected
        assert int(sp.sympify(raw[0]).subs(H, n)) == expected


def exact_brute(layers, n: int) -> bool | None:
    """True when every windowed layer's last window ends on the last padded element (no stride drops an
    element), by enumerating window positions; None when the stack rejects ``n``."""
    exact = True
    try:
        for layer in layers:
            if not isinstance(layer, ConvTranspose):
                (spec,) = layer.axis_specs((n,))
                count = conv_positions(n, spec.kernel, spec.stride, spec.dilation, spec.lo, spec.hi)
                last_tap = spec.stride * (count - 1) - spec.lo + spec.dilation * (spec.kernel - 1)
                exact = exact and last_tap == n + spec.hi - 1
            (n,) = layer.output_shape((n,))
    except SpecError:
        return None
    return exact


def check_size_set(size_set, truth: dict[int, bool]) -> None:
    valid = [n for n, ok in truth.items() if ok is not None]
    if valid:
        assert size_set.minimum == min(valid)
    else:  # the stack rejects every size of the range: the set starts above it, and holds none of them
        assert size_set.minimum > max(truth)
    for n, ok in truth.items():
        member = n in size_set
        assert member == bool(ok), n
        if n % 7 == 0 or member:  # the SymPy condition, on a sample (subs is slow)
            assert bool(size_set.condition.subs(size_set.symbol, n)) == member
    members = [n for n, ok in truth.items() if ok]
    for start in (1, 17, 50, 100):
        inside = [n for n in members if n >= start]
        got = size_set.smallest(start)
        if inside:
            assert got == inside[0]
        elif got is not None:
            assert got > max(truth)


@settings(max_examples=max(settings.default.max_examples, 80))
@given(mixed_stack(max_layers=5))
def test_exact_sizes_by_brute_force(layers) -> None:
    truth = {n: exact_brute(layers, n) for n in N_RANGE}
    check_size_set(exact_sizes(layers), truth)


@settings(max_examples=max(settings.default.max_examples, 80))
@given(mixed_stack(max_layers=5))
def test_size_preserving_sizes_by_brute_force(layers) -> None:
    truth = {}
    for n in N_RANGE:
        out = layer_by_layer(layers, n)
        truth[n] = None if out is None else out == n
    check_size_set(size_preserving_sizes(layers), truth)


def test_a_stack_rejecting_the_whole_range_is_checked_too() -> None:
    """The brute force finds no accepted size below 161: the sets must start above the range."""
    layers = [Conv(170), MaxPool(2)]
    truth = {n: exact_brute(layers, n) for n in N_RANGE}
    assert set(truth.values()) == {None}
    check_size_set(exact_sizes(layers), truth)
    check_size_set(size_preserving_sizes(layers), truth)
    assert exact_sizes(layers).minimum == 171


def test_unet_preserves_sizes_divisible_by_16() -> None:
    encoder, decoder = small_unet()
    net = Sequential(*encoder, *decoder)
    same = net.size_preserving_sizes(symbol="H")
    assert same.condition == sp.And(sp.Ge(H, 16), sp.Eq(sp.Mod(H, 16), 0))
    assert [n for n in range(1, 200) if layer_by_layer(net.bind(1).layers, n) == n] == list(range(16, 200, 16))
    assert same.smallest(500) == 512 and same.smallest(1) == 16
    assert net.exact_sizes().condition == sp.And(sp.Ge(sp.Symbol("n", integer=True, positive=True), 16),
                                                 sp.Eq(sp.Mod(sp.Symbol("n", integer=True, positive=True), 16), 0))


def test_finite_size_sets_and_empty_sets() -> None:
    drifting = size_preserving_sizes([Conv(1, stride=2), ConvTranspose(10)])  # ceil(n/2) + 9 == n
    assert drifting.values == (18, 19)
    assert [n for n in range(1, 100) if n in drifting] == [18, 19]
    assert drifting.smallest(19) == 19 and drifting.smallest(20) is None
    never = size_preserving_sizes([Conv(3)])  # n - 2
    assert never.smallest() is None and never.condition == sp.false
    two_d = Sequential(Conv((3, 1), stride=(2, 1), padding=(1, 0)))
    assert two_d.exact_sizes(axis=0).condition == sp.Eq(sp.Mod(sp.Symbol("n", integer=True, positive=True), 2), 1)
    assert two_d.exact_sizes(axis=1).condition == sp.Ge(sp.Symbol("n", integer=True, positive=True), 1)


def test_tf_same_stacks_simplify_to_ceil_n_over_product_of_strides() -> None:
    """Audit: TF 'SAME' stacks printed nests of Max/Mod (correct, unsimplified); with keff >= s the pad total
    drops its max and floor((R - Mod(X, m))/m) = floor(X/m) + floor((R - X)/m) collapses them."""
    from convalg.conventions import explicit_padding as pads

    layer = Conv(3, stride=2, padding=pads("SAME", 3, 2))
    assert format_size(Sequential(layer, layer, layer).output_shape((H,))[0]) == "ceiling(H/8)"
    # one layer alone, without a Sequential: the Mod of the size-dependent pad folds in the shared simplification
    assert layer.output_shape((H,)) == (sp.ceiling(H / 2),)
    assert Conv(7, stride=4, padding=pads("SAME", 7, 4)).output_shape((H,)) == (sp.ceiling(H / 4),)
    stem = Sequential(Conv(7, stride=2, padding=pads("SAME", 7, 2)), MaxPool(3, stride=2, padding=pads("SAME", 3, 2)),
                      Conv(1, stride=2, padding=pads("SAME", 1, 2)))
    assert format_size(stem.output_shape((H,))[0]) == "ceiling(H/8)"
    for k, s, d, convention in [(3, 2, 1, "SAME"), (2, 2, 1, "SAME_LOWER"), (3, 4, 1, "SAME"), (2, 3, 2, "SAME"),
                                (5, 3, 1, "SAME_LOWER"), (1, 3, 1, "SAME")]:
        layer = Conv(k, stride=s, dilation=d, padding=pads(convention, k, s, d))
        out = Sequential(layer, layer).output_shape((H,))[0]
        for n in range(1, 30):
            once = -(-n // s)  # TF: ceil(n/s) per layer
            assert out.subs(H, n) == -(-once // s), (k, s, d, convention, n, out)


def test_mod_rule_of_collapse_floors_by_exact_evaluation() -> None:
    y = sp.Symbol("y", real=True)
    for m in range(1, 5):
        for shift in (-3, -1, 0, 2, sp.Rational(5, 2)):  # a fraction: the rule may not fire, must stay exact
            for func in (sp.floor, sp.ceiling):
                expr = func((y + shift - sp.Mod(y, m)) / m)
                got = collapse_floors(expr)
                assert shift.__class__ is not int or not got.has(sp.Mod), got  # integer shifts collapse
                for value in [sp.Rational(p, 3) for p in range(-20, 21)]:
                    assert got.subs(y, value) == expr.subs(y, value), (m, shift, func, value)
