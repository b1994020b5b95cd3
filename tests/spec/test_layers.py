"""Layer API behaviour: exact transposes, output_padding solving, immutability, N-d binding, channels."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from convalg import (
    AdaptiveAvgPool,
    AvgPool,
    Conv,
    ConvTranspose,
    GlobalAvgPool,
    MaxPool,
    Sequential,
    SpecError,
)

H = sp.Symbol("H", integer=True, positive=True)


@st.composite
def conv_and_size(draw: st.DrawFn):
    ndim = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    sizes = tuple(draw(st.integers(di * (ki - 1) + 1, 30)) for ki, di in zip(k, d))
    return Conv(k, stride=s, padding=pads, dilation=d), sizes


@given(conv_and_size())
def test_conv_transpose_maps_the_output_size_back(case) -> None:
    conv, sizes = case
    out = conv.output_shape(sizes)
    t = conv.transpose(sizes)
    assert isinstance(t, ConvTranspose)
    assert t.output_shape(out) == sizes
    assert (t.kernel_size, t.stride, t.dilation, t.padding) == (conv.kernel_size, conv.stride, conv.dilation,
                                                                 conv.padding)
    assert all(0 <= op < s for op, s in zip(t.output_padding, t.stride))
    assert t.output_padding_for(out, sizes) == t.output_padding
    assert t.replace(output_padding=0).with_output_size(out, sizes) == t
    assert t.transpose() == conv


def test_output_padding_for_is_symbolic_for_symbolic_sizes() -> None:
    t = ConvTranspose(3, stride=2, padding=1, ndim=1)
    (op,) = t.output_padding_for((H,), (2 * H,))
    assert op == 1
    (op,) = t.output_padding_for((H,), (2 * H - 1,))
    assert op == 0
    with pytest.raises(SpecError, match=r"output_size\[0\]=9: must lie in \[7, 8\]"):
        t.output_padding_for((4,), (9,))


def test_conv_transpose_restrictions() -> None:
    with pytest.raises(SpecError, match="padding_mode='reflect'"):
        ConvTranspose(3, padding_mode="reflect")
    with pytest.raises(SpecError, match="only a zero-padded Conv"):
        Conv(3, padding=1, padding_mode="circular").transpose((5,))
    with pytest.raises(SpecError, match=">= stride"):
        ConvTranspose(3, stride=1, dilation=2, output_padding=1).transpose()


def test_same_padding_splits_the_extra_pad_to_the_end() -> None:
    assert Conv(4, padding="same").padding == ((1, 2),)
    assert Conv((4, 3), padding="same", dilation=(3, 2)).padding == ((4, 5), (2, 2))
    assert Conv(4, padding="same").output_shape((H, 7)) == (H, 7)


def test_layers_are_immutable_hashable_and_compare_by_value() -> None:
    a, b = Conv(3, stride=2, padding=1), Conv((3,), stride=(2,), padding=((1, 1),))
    with pytest.raises(AttributeError):
        a.stride = (1,)  # type: ignore[misc]
    assert a != b and a.bind(1) == b and hash(a.bind(1)) == hash(b)  # any-ndim vs 1-d
    assert len({a, a.replace(), b, b.replace()}) == 2
    assert {Conv(3): "x"}[Conv(3)] == "x"


def test_bind_expands_scalars_to_every_axis() -> None:
    layer = Conv(3, stride=2, padding=1).bind(3)
    assert (layer.ndim, layer.kernel_size, layer.stride, layer.padding) == (3, (3,) * 3, (2,) * 3, ((1, 1),) * 3)
    assert Sequential(Conv(3), MaxPool(2)).bind(2).ndim == 2
    assert GlobalAvgPool().bind(4).output_shape((2, 3, 4, 5)) == (1, 1, 1, 1)
    with pytest.raises(SpecError, match="ndim=2"):
        Conv((3, 3)).bind(3)
    with pytest.raises(SpecError, match="ndim=0"):
        Conv(3).bind(0)


def test_pool_defaults() -> None:
    assert MaxPool(3).stride == (3,) and MaxPool((2, 3)).stride == (2, 3)
    assert MaxPool(3, stride=()).stride == (3,)
    assert AvgPool(2, stride=1).output_shape((5,)) == (4,)
    assert AdaptiveAvgPool((None, 2)).output_shape((H, 9)) == (H, 2)


def test_channels_and_weight_shapes() -> None:
    conv = Conv(3, groups=2, in_channels=4, out_channels=6, ndim=2)
    assert conv.weight_shape == (6, 2, 3, 3) and conv.output_channels(4) == 6
    t = ConvTranspose(3, groups=2, in_channels=4, out_channels=6, ndim=2)
    assert t.weight_shape == (4, 3, 3, 3)
    assert Sequential(conv, MaxPool(2), Conv(1, in_channels=6, out_channels=8)).output_channels(4) == 8
    with pytest.raises(SpecError, match="in_channels=5"):
        conv.output_channels(5)
    with pytest.raises(SpecError, match="weight_shape needs"):
        Conv(3).weight_shape  # noqa: B018


@pytest.mark.parametrize("layer", [
    MaxPool(2, stride=1), MaxPool((2, 3), stride=(2, 1)), AvgPool(3, stride=3, padding=1),
    Conv(4, padding="same"), Conv(3, padding=((1, 2), (0, 0))), AdaptiveAvgPool((None,)),
    ConvTranspose(3, stride=2, output_padding=1, dilation=2), GlobalAvgPool(ndim=2),
    Sequential(Conv(3, stride=2), MaxPool(2, stride=1)),
])
def test_repr_round_trips(layer) -> None:
    import convalg

    namespace = {name: getattr(convalg, name) for name in convalg.__all__}
    if layer.ndim is None and any(lo != hi for lo, hi in getattr(layer, "padding", ())):
        layer = layer.bind(1)  # an asymmetric pad needs a (lo, hi) pair, which fixes ndim
    assert eval(repr(layer), namespace) == layer


def test_replace_keeps_any_ndim_layers() -> None:
    assert Conv(3).replace(stride=2) == Conv(3, stride=2) and Conv(3).replace(stride=2).ndim is None
    assert MaxPool(2).replace(ndim=2) == MaxPool((2, 2))
    assert Conv(3).replace(stride=(2, 1)) == Conv((3, 3), stride=(2, 1))


def test_output_padding_for_symbolic_sizes_rejects_what_sympy_can_bound() -> None:
    """Audit regression: output_size=3H at input H (stride 2) returned output_padding H + 1 (>= stride for every H)."""
    from convalg import ConvTranspose, SpecError

    layer = ConvTranspose(3, stride=2, padding=1)
    assert layer.output_padding_for((H,), (2 * H,)) == (1,)
    with pytest.raises(SpecError, match=r"output_size\[0\]=3\*H: must lie in \[2\*H - 1, 2\*H\]"):
        layer.output_padding_for((H,), (3 * H,))


def test_output_padding_for_symbolic_sizes_needs_a_proof_of_the_range() -> None:
    """An output_padding valid for some sizes only (2 - H: H in {1, 2}) is refused; a Mod that SymPy cannot bound
    by itself is bounded by [0, m - 1]."""
    from convalg import ConvTranspose, SpecError

    layer = ConvTranspose(3, stride=2, padding=1)
    with pytest.raises(SpecError, match=r"output_padding 2 - H is not provably in \[0, 1\] for every size"):
        layer.output_padding_for((H,), (H + 1,))
    assert layer.output_padding_for((H,), (2 * H - 1 + sp.Mod(H, 2),)) == (sp.Mod(H, 2),)
    assert layer.output_padding_for((H,), (2 * H - sp.Mod(H, 2),)) == (1 - sp.Mod(H, 2),)
    with pytest.raises(SpecError, match="not provably"):
        layer.output_padding_for((H,), (2 * H + sp.Mod(H, 3),))  # Mod(H, 3) + 1 reaches 3


def test_stack_errors_name_the_failing_layer() -> None:
    """Audit: a U-Net on input 8 said only 'input[0]=1: MaxPool gives output size 0' (which of 16 layers?)."""
    from convalg import ConvTranspose, SpecError

    unet = Sequential(*([Conv(3, padding=1), MaxPool(2)] * 4 + [ConvTranspose(2, stride=2), Conv(3, padding=1)] * 4))
    with pytest.raises(SpecError, match=r"^layers\[7\]=MaxPool\(kernel_size=2\) \(input size \(1,\)\): input\[0\]=1"):
        unet.output_shape((8,))
