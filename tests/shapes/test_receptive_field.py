"""Receptive fields (Araujo, Norris & Sim, Distill 2019): published values of real networks from their
layer lists, the closed form against the paper's recurrences, and the region / centre mapping against
brute-force composition of the index sets each output reads."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, reject
from hypothesis import strategies as st

from convalg import AvgPool, Conv, MaxPool, Sequential, SpecError, conventions
from convalg.shapes import ReceptiveField, receptive_field


def vgg16() -> Sequential:
    """VGG-16 (slim ``vgg_16``) up to ``pool5``: every 3x3 conv stride 1 with pad 1 (TF 'SAME' at stride 1),
    every pool 2x2 stride 2 without padding."""
    layers = []
    for convs in (2, 2, 3, 3, 3):
        layers += [Conv(3, padding=1)] * convs + [MaxPool(2)]
    return Sequential(*layers)


def resnet50_v1(n: int = 224, ndim: int = 2) -> Sequential:
    """ResNet-50 v1 (slim ``resnet_v1_50``) main path up to ``block4``.

    conv1: 7x7 stride 2 with explicit pad 3 (slim ``conv2d_same``: pads k-1 = 6 split 3/3, then VALID).
    pool1: 3x3 stride 2 max pool with TF 'SAME' padding, which at its input size 112 is (0, 1).
    Blocks 1-4 have 3, 4, 6, 3 bottleneck units (1x1, 3x3, 1x1); the 3x3 conv has pad 1, and the last unit
    of blocks 1-3 carries stride 2 on its 3x3 conv (slim puts the stride there).  1x1 convs add nothing to
    the receptive field but are kept for fidelity.
    """
    layers: list = [Conv(7, stride=2, padding=3)]
    pool_pads = conventions.explicit_padding("SAME", 3, stride=2, n=n // 2)
    assert pool_pads == ((0, 1),)
    layers.append(MaxPool(3, stride=2, padding=pool_pads * ndim))
    for units, strided in ((3, True), (4, True), (6, True), (3, False)):
        for u in range(units):
            stride = 2 if strided and u == units - 1 else 1
            layers += [Conv(1), Conv(3, stride=stride, padding=1), Conv(1)]
    return Sequential(*layers)


def test_resnet50_with_size_dependent_pool_padding() -> None:
    """The TF 'SAME' pool pads kept symbolic in the pool's input size give the same numbers at 224."""
    layers = list(resnet50_v1().layers)
    layers[1] = MaxPool(3, stride=2, padding=conventions.explicit_padding("SAME", (3, 3), stride=2))
    net = Sequential(*layers)
    assert net.receptive_field((224, 224)) == (ReceptiveField(483, 32, 239),) * 2
    n = sp.Symbol("n", integer=True, positive=True)
    layers = list(resnet50_v1(ndim=1).layers)
    layers[1] = MaxPool(3, stride=2, padding=conventions.explicit_padding("SAME", 3, stride=2))
    (rf,) = Sequential(*layers).receptive_field((n,))
    assert (rf.size, rf.stride) == (483, 32)
    assert int(sp.sympify(rf.padding).subs(n, 224)) == 239
    assert int(sp.sympify(rf.padding).subs(n, 225)) == 241  # 225 -> 113: pool pads (1, 1)


def alexnet_v2() -> Sequential:
    """AlexNet v2 (slim ``alexnet_v2``) up to ``pool5``: conv1 11x11 stride 4 VALID, pools 3x3 stride 2 VALID,
    conv2 5x5 pad 2, conv3-5 3x3 pad 1 (TF 'SAME' at stride 1)."""
    return Sequential(Conv(11, stride=4), MaxPool(3, stride=2), Conv(5, padding=2), MaxPool(3, stride=2),
                      Conv(3, padding=1), Conv(3, padding=1), Conv(3, padding=1), MaxPool(3, stride=2))


def test_vgg16_matches_google_research_receptive_field() -> None:
    # google-research/receptive_field README: vgg_16 212 / 32 / 90
    assert vgg16().receptive_field((224, 224)) == (ReceptiveField(212, 32, 90),) * 2
    assert vgg16().output_shape((224, 224)) == (7, 7)


def test_resnet50_v1_matches_google_research_receptive_field() -> None:
    # google-research/receptive_field README: resnet_v1_50 483 / 32 / 239
    net = resnet50_v1()
    assert net.receptive_field((224, 224)) == (ReceptiveField(483, 32, 239),) * 2
    assert net.output_shape((224, 224)) == (7, 7)


def test_alexnet_v2_matches_google_research_receptive_field() -> None:
    # google-research/receptive_field README: alexnet_v2 195 / 32 / 64
    assert alexnet_v2().receptive_field((224, 224)) == (ReceptiveField(195, 32, 64),) * 2


def test_symbolic_input_gives_the_same_numbers_for_size_independent_padding() -> None:
    H = sp.Symbol("H", integer=True, positive=True)
    assert vgg16().receptive_field((H,)) == (ReceptiveField(212, 32, 90),)
    assert vgg16().receptive_field() == (ReceptiveField(212, 32, 90),)


def test_tf_same_padding_gives_a_receptive_field_symbolic_in_n() -> None:
    n = sp.Symbol("n", integer=True, positive=True)
    net = Sequential(Conv(3, stride=2, padding=conventions.explicit_padding("SAME", 3, stride=2)),
                     Conv(3, stride=2, padding=conventions.explicit_padding("SAME", 3, stride=2)))
    (rf,) = net.receptive_field((n,))
    assert rf.size == 7 and rf.stride == 4
    for value in range(5, 40):
        (concrete,) = net.receptive_field((value,))
        assert int(sp.sympify(rf.padding).subs(n, value)) == concrete.padding
        lo0 = conventions.explicit_padding("SAME", 3, stride=2, n=value)[0][0]
        lo1 = conventions.explicit_padding("SAME", 3, stride=2, n=-(-value // 2))[0][0]
        assert concrete.padding == lo0 + 2 * lo1


# -- closed form vs recurrence, and the region by brute force --------------------------------------------

@st.composite
def stack(draw: st.DrawFn):
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "max", "avg"]))
        k, s = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        if kind == "conv":
            d = draw(st.integers(1, 3))
            lo, hi = draw(st.integers(0, 3)), draw(st.integers(0, 3))
            layers.append(Conv(k, stride=s, dilation=d, padding=((lo, hi),)))
        elif kind == "max":
            layers.append(MaxPool(k, stride=s, dilation=draw(st.integers(1, 2)), padding=draw(st.integers(0, k // 2))))
        else:
            layers.append(AvgPool(k, stride=s, padding=draw(st.integers(0, k // 2))))
    return layers


def recurrence(layers, n: int) -> tuple[int, int, int]:
    """Araujo's backward recurrences: r_{l-1} = s_l r_l + (k_l - s_l), S_in = s S_out, P_in = s P_out + p."""
    specs = []
    for layer in layers:
        (spec,) = layer.axis_specs((n,))
        specs.append(spec)
        (n,) = layer.output_shape((n,))
    r, S, P = 1, 1, 0
    for spec in reversed(specs):
        k = spec.dilation * (spec.kernel - 1) + 1
        r = spec.stride * r + (k - spec.stride)
        P = spec.stride * P + spec.lo
        S = spec.stride * S
    return r, S, P


def too_small(layers, n: int) -> bool:
    """Walk the sizes up the stack by hand: True when some layer's padded input is shorter than its
    dilated kernel (the input is too small for the stack)."""
    for layer in layers:
        (spec,) = layer.axis_specs((n,))
        span = spec.dilation * (spec.kernel - 1) + 1
        if n + spec.lo + spec.hi < span:
            return True
        n = (n + spec.lo + spec.hi - span) // spec.stride + 1
    return False


def read_indices(layers, y: int, n: int, clip: bool) -> set[int]:
    """Input indices output ``y`` depends on: compose, layer by layer from the top, the taps each output
    reads (``s*o - lo + d*j``); with ``clip`` drop the padding (indices outside the layer's input)."""
    sizes = [n]
    for layer in layers:
        sizes.append(layer.output_shape((sizes[-1],))[0])
    current = {y}
    for layer, size in zip(reversed(layers), reversed(sizes[:-1])):
        (spec,) = layer.axis_specs((size,))
        below = set()
        for o in current:
            for j in range(spec.kernel):
                i = spec.stride * o - spec.lo + spec.dilation * j
                if not clip or 0 <= i < size:
                    below.add(i)
        current = below
    return current


def gapless(layers, n: int) -> bool:
    """No layer skips an element: windows touch (d = 1, k >= s) and the last one ends on the padded end."""
    for layer in layers:
        (spec,) = layer.axis_specs((n,))
        (out,) = layer.output_shape((n,))
        last_tap = spec.stride * (out - 1) - spec.lo + spec.kernel - 1
        if spec.dilation != 1 or spec.kernel < spec.stride or last_tap != n + spec.hi - 1:
            return False
        n = out
    return True


@given(stack(), st.integers(30, 80))
def test_closed_form_matches_recurrence_and_region_matches_brute_force(layers, n) -> None:
    net = Sequential(*layers)
    try:
        (out,) = net.output_shape((n,))
    except SpecError:
        assert too_small(layers, n)  # rejected only when some window does not fit
        reject()  # counted by Hypothesis: a strategy that rarely fits fails the health check
    assert not too_small(layers, n)
    (rf,) = net.receptive_field((n,))
    assert (rf.size, rf.stride, rf.padding) == recurrence(layers, n)
    assert rf == receptive_field(layers, (n,))[0]
    for y in {0, out // 2, out - 1}:
        u, v = rf.region(y)
        unclipped = read_indices(layers, y, n, clip=False)
        assert (min(unclipped), max(unclipped)) == (u, v)
        assert rf.center(y) == sp.Rational(u + v, 2)
        clipped = read_indices(layers, y, n, clip=True)
        assert clipped <= set(range(max(u, 0), min(v, n - 1) + 1))
        if gapless(layers, n) and clipped:
            assert clipped == set(range(max(u, 0), min(v, n - 1) + 1))


def influence(layers, n: int) -> np.ndarray:
    """Perturb-and-see: ``influence[i, y]`` is True when an impulse at input ``i`` changes output ``y``.

    A brute-force 1-D forward pass (all-ones kernels, zero padding, windows enumerated one by one) of every
    impulse at once; with non-negative data, sums and maxima are non-zero exactly where an impulse arrives.
    """
    x = np.eye(n)
    for layer in layers:
        (spec,) = layer.axis_specs((x.shape[1],))
        (out,) = layer.output_shape((x.shape[1],))
        padded = np.zeros((n, x.shape[1] + spec.lo + spec.hi + spec.stride * out + spec.dilation * spec.kernel))
        padded[:, spec.lo:spec.lo + x.shape[1]] = x
        y = np.zeros((n, out))
        for o in range(out):
            taps = [spec.stride * o + spec.dilation * j for j in range(spec.kernel)]  # in padded coordinates
            y[:, o] = padded[:, taps].max(axis=1) if isinstance(layer, MaxPool) else padded[:, taps].sum(axis=1)
        x = y
    return x > 0


@pytest.mark.parametrize("net", [vgg16, lambda: resnet50_v1(ndim=1), alexnet_v2], ids=["vgg16", "resnet50_v1", "alexnet_v2"])
def test_real_network_regions_by_perturbation(net) -> None:
    stack = net().bind(1)
    exact = stack.exact_sizes().smallest(224)  # no stride drops an input pixel: every pixel of a region is read
    for n in sorted({224, exact}):
        seen = influence(stack.layers, n)
        (rf,) = receptive_field(stack.layers, (n,))
        for y in range(seen.shape[1]):
            u, v = rf.region(y)
            region = set(range(max(u, 0), min(v, n - 1) + 1))
            assert set(np.flatnonzero(seen[:, y])) <= region
            if n == exact:
                assert set(np.flatnonzero(seen[:, y])) == region, (n, y)


def test_deep_strided_stack_without_input_sizes() -> None:
    """Audit regression: ``convalg rf 'conv(k=3,s=2,p=1)*1000'`` died with RecursionError (the unneeded symbolic
    sizes nested 1000 floors); the closed form is r = 2^1001 - 1, S = 2^1000, P = 2^1000 - 1."""
    import time

    start = time.monotonic()
    (rf,) = Sequential(*[Conv(3, stride=2, padding=1)] * 1000).receptive_field()
    assert (rf.size, rf.stride, rf.padding) == (2**1001 - 1, 2**1000, 2**1000 - 1)
    assert time.monotonic() - start < 5
