"""The compact layer-list syntax of the command line."""

from __future__ import annotations

import pytest
import sympy as sp

from convalg import (
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    AvgPool,
    Conv,
    ConvTranspose,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    SpecError,
)
from convalg.cli.syntax import parse_input, parse_layers


@pytest.mark.parametrize("text, expected", [
    ("conv(k=3)", [Conv(3)]),
    ("conv(k=3,s=2,p=1)*2", [Conv(3, stride=2, padding=1)] * 2),
    ("conv(k=3x5,s=1x2,p=1:2x0:1,d=2)", [Conv((3, 5), stride=(1, 2), padding=((1, 2), (0, 1)), dilation=2)]),
    ("conv(k=4,p=same) conv(k=3,p=valid)", [Conv(4, padding="same"), Conv(3, padding="valid")]),
    ("conv(k=3,p=0:1)", [Conv(3, padding=((0, 1),))]),
    ("conv(k=3,mode=reflect,g=2,cin=4,cout=6,flip=1,bias=false)",
     [Conv(3, padding_mode="reflect", groups=2, in_channels=4, out_channels=6, flip_kernel=True, bias=False)]),
    ("convt(k=3,s=2,p=1,op=1) deconv(k=2,s=2)", [ConvTranspose(3, stride=2, padding=1, output_padding=1),
                                                 ConvTranspose(2, stride=2)]),
    ("maxpool(k=3,s=2,ceil=1,d=2)", [MaxPool(3, stride=2, ceil_mode=True, dilation=2)]),
    ("avgpool(k=2,cip=0,div=3)", [AvgPool(2, count_include_pad=False, divisor_override=3)]),
    ("aap(o=7) amp(o=2xnone) gap gmp", [AdaptiveAvgPool(7), AdaptiveMaxPool((2, None)), GlobalAvgPool(),
                                        GlobalMaxPool()]),
    ("  CONV ( k = 3 )  *  3 ", [Conv(3)] * 3),
    (["conv(k=3)", "maxpool(k=2)"], [Conv(3), MaxPool(2)]),
])
def test_parse_layers(text, expected) -> None:
    assert parse_layers(text) == expected


@pytest.mark.parametrize("text", ["", "conv", "conv(k=3", "conv(k=3))", "conv(k)", "conv(k=)", "conv(k=a)",
                                  "conv(k=3)*0", "conv(k=3)*100001", "conv(k=3,ceil=2)", "maxpool(k=2,ceil=maybe)",
                                  "conv(k=3x)", "1conv(k=3)", "conv(k=3);", "conv(k=3,s=2,p=same)"])
def test_parse_layers_rejects(text) -> None:
    with pytest.raises(SpecError):
        parse_layers(text)


def test_parse_input() -> None:
    H = sp.Symbol("H", integer=True, positive=True)
    assert parse_input("224,224") == (224, 224)
    assert parse_input(" H , 64 ") == (H, 64)
    for bad in ("", "H,", "3.5", "H W", "2*H"):
        with pytest.raises(SpecError):
            parse_input(bad)
