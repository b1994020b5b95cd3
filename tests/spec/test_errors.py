"""Each invalid specification raises SpecError naming the parameter, the value and the rule."""

from __future__ import annotations

import math

import pytest

from convalg import AdaptiveAvgPool, AvgPool, Conv, ConvTranspose, GlobalAvgPool, MaxPool, SpecError


def message(call) -> str:
    with pytest.raises(SpecError) as info:
        call()
    assert isinstance(info.value, ValueError)
    return str(info.value)


def assert_names(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


@pytest.mark.parametrize("name", ["kernel_size", "stride", "dilation"])
@pytest.mark.parametrize("value", [0, -2])
def test_zero_or_negative_kernel_stride_dilation(name, value) -> None:
    kwargs = {"kernel_size": 3, name: value}
    assert_names(message(lambda: Conv(**kwargs)), f"{name}={value}", "positive integer (>= 1)")
    if name != "dilation":
        assert_names(message(lambda: AvgPool(**kwargs)), f"{name}={value}", ">= 1")
    assert_names(message(lambda: Conv(**{**kwargs, name: (3, value)})), f"{name}[1]={value}", ">= 1")


def test_negative_padding_where_forbidden() -> None:
    assert_names(message(lambda: Conv(3, padding=-1)), "padding=-1", "non-negative integer (>= 0)")
    assert_names(message(lambda: Conv(3, padding=(1, -1))), "padding[1]=-1", ">= 0")
    # negative (cropping) pairs are a zero-padding notion only
    assert Conv(3, padding=((-1, 0),)).output_shape((6,)) == (3,)
    assert_names(message(lambda: Conv(3, padding=((-1, 0),), padding_mode="reflect")), "padding[0][0]=-1", ">= 0")
    # ... and their transposes: a ConvTranspose with a negative pair grows its output
    assert ConvTranspose(3, padding=((0, -1),)).output_shape((4,)) == (7,)
    assert_names(message(lambda: ConvTranspose(3, padding=-1)), "padding=-1", ">= 0")
    assert_names(message(lambda: MaxPool(3, padding=-1)), "padding=-1", ">= 0")


def test_output_padding_not_smaller_than_stride_or_dilation() -> None:
    text = message(lambda: ConvTranspose(3, stride=2, output_padding=2))
    assert_names(text, "output_padding[0]=2", "smaller than either stride (2) or dilation (1)")
    assert ConvTranspose(3, stride=1, dilation=3, output_padding=2).output_shape((4,)) == (12,)
    text = message(lambda: ConvTranspose(3, stride=2, padding=1).output_padding_for((4,), (10,)))
    assert_names(text, "output_size[0]=10", "[7, 8]")


def test_groups_must_divide_channels() -> None:
    assert_names(message(lambda: Conv(3, groups=2, in_channels=3, out_channels=4)), "in_channels=3",
                 "divisible by groups=2")
    assert_names(message(lambda: Conv(3, groups=2, in_channels=4, out_channels=3)), "out_channels=3",
                 "divisible by groups=2")
    assert_names(message(lambda: ConvTranspose(3, groups=3, in_channels=6, out_channels=4)), "out_channels=4",
                 "groups=3")
    assert_names(message(lambda: Conv(3, groups=0)), "groups=0", ">= 1")


def test_same_with_stride_says_what_to_use_instead() -> None:
    text = message(lambda: Conv(3, stride=2, padding="same"))
    assert_names(text, "padding='same'", "stride 1", "stride=(2,)", "explicit_padding('SAME'")
    assert_names(message(lambda: ConvTranspose(3, padding="same")), "padding='same'", "output_padding_for")
    assert_names(message(lambda: MaxPool(3, padding="same")), "padding='same'", "explicit padding")
    assert_names(message(lambda: Conv(3, padding="full")), "padding='full'", "'same' or 'valid'")


def test_pool_padding_over_half_the_kernel() -> None:
    text = message(lambda: MaxPool(3, padding=2))
    assert_names(text, "padding[0]", "=2", "<= kernel_size // 2 = 1")
    # PyTorch checks the raw kernel whatever the dilation: k=2, d=3 allows pad 1 but not 2
    assert MaxPool(2, dilation=3, padding=1).output_shape((5,)) == (2,)
    assert_names(message(lambda: MaxPool(2, dilation=3, padding=2)), "=2", "kernel_size // 2 = 1")
    assert_names(message(lambda: AvgPool((2, 4), padding=((0, 0), (0, 3)))), "padding[1]", "=3", "= 2")


def test_reflect_pad_must_be_smaller_than_the_input() -> None:
    layer = Conv(3, padding=4, padding_mode="reflect")
    assert layer.output_shape((5,)) == (11,)
    assert_names(message(lambda: layer.output_shape((4,))), "padding[0]", "=4", "reflect", "< the input size 4")


def test_circular_pad_may_wrap_only_once() -> None:
    layer = Conv(3, padding=4, padding_mode="circular")
    assert layer.output_shape((4,)) == (10,)
    assert_names(message(lambda: layer.output_shape((3,))), "padding[0]", "=4", "circular", "<= the input size 3")


@pytest.mark.parametrize("value, shown", [(2.0, "2.0"), (2.5, "2.5"), (True, "True"), (math.nan, "nan"),
                                          ("3", "'3'"), (None, "None")])
def test_non_integers_bools_nan(value, shown) -> None:
    assert_names(message(lambda: Conv(value)), f"kernel_size={shown}", "must be an integer")
    assert_names(message(lambda: Conv(3, stride=(1, value))), f"stride[1]={shown}", "must be an integer")
    assert_names(message(lambda: MaxPool(3, padding=value)), "padding", shown,
                 "'same' or 'valid'" if isinstance(value, str) else "integer")
    assert_names(message(lambda: AdaptiveAvgPool(value)), f"output_size={shown}", "integer")
    assert_names(message(lambda: Conv(3).output_shape((value,))), f"input[0]={shown}", "integer")
    assert_names(message(lambda: Conv(3, bias=1)), "bias=1", "True or False")


def test_kernel_larger_than_the_padded_input() -> None:
    text = message(lambda: Conv(5, padding=1).output_shape((8, 2)))
    assert_names(text, "input[1]=2", "output size 0", "dilated kernel (5)", "padded input (2 + 1 + 1 = 4)")
    text = message(lambda: MaxPool(2, dilation=4).output_shape((4,)))
    assert_names(text, "input[0]=4", "dilated kernel (5)")
    text = message(lambda: ConvTranspose(1, padding=3).output_shape((2,)))
    assert_names(text, "input[0]=2", "output size -4", "crops")


def test_tuple_lengths_that_disagree_with_ndim() -> None:
    assert_names(message(lambda: Conv((3, 3), ndim=3)), "kernel_size=(3, 3)", "2 entries", "ndim=3")
    assert_names(message(lambda: Conv((3, 3), stride=(1, 1, 1))), "disagree", "kernel_size has 2", "stride has 3")
    assert_names(message(lambda: Conv(3, padding=((1, 1),) * 2, ndim=3)), "padding", "2 entries", "ndim=3")
    assert_names(message(lambda: Conv((3, 3)).output_shape((4, 4, 4))), "3 spatial sizes", "ndim=2")
    assert_names(message(lambda: Conv(3, padding=((1, 2, 3),))), "padding[0]=(1, 2, 3)", "(lo, hi)")
    assert_names(message(lambda: GlobalAvgPool(ndim=2).output_shape((3,))), "1 spatial sizes", "ndim=2")
    assert_names(message(lambda: Conv(())), "kernel_size=()", "at least one")


def test_sequential_checks_that_declared_channels_chain() -> None:
    from convalg import ConvTranspose, MaxPool, Sequential

    with pytest.raises(SpecError, match=r"layers\[2\].*in_channels=8: the layer expects in_channels=4"):
        Sequential(Conv(3, in_channels=3, out_channels=8), MaxPool(2), Conv(3, in_channels=4, out_channels=5))
    with pytest.raises(SpecError, match=r"layers\[1\].*divisible by groups=3"):
        Sequential(Conv(1, in_channels=3, out_channels=4), Conv(3, groups=3))
    # undeclared channels stay unchecked; a chain that matches is accepted
    net = Sequential(Conv(3, in_channels=3, out_channels=8), Conv(3), ConvTranspose(2, in_channels=6, out_channels=2))
    assert net.output_channels(3) == 2
    assert Sequential(Conv(3, in_channels=3, out_channels=8), Conv(3, in_channels=8, out_channels=5)).output_channels(
        None) == 5
