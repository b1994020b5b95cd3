"""``convalg demo``: derive and print the shape algebra of a small U-Net."""

from __future__ import annotations

import argparse
from typing import Any

import sympy as sp

from ..shapes.simplify import format_size
from ..spec import Conv, ConvTranspose, MaxPool, Sequential

__all__ = ["register", "run", "small_unet"]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="derive and print the shape formulas of a small U-Net")
    p.set_defaults(func=run)


def small_unet(depth: int = 4) -> tuple[Sequential, Sequential]:
    """Encoder and decoder of a U-Net (two 3x3 'same' convs per level, 2x2 pooling / up-convs)."""
    block = [Conv(3, padding=1), Conv(3, padding=1)]
    encoder = Sequential(*[layer for _ in range(depth) for layer in (*block, MaxPool(2))], *block)
    decoder = Sequential(*[layer for _ in range(depth) for layer in (ConvTranspose(2, stride=2), *block)])
    return encoder, decoder


def run(args: argparse.Namespace | None = None) -> int:
    H, W = sp.symbols("H W", integer=True, positive=True)
    print("convalg demo: exact shape algebra of a 4-level U-Net (PyTorch semantics)\n")
    encoder, decoder = small_unet()
    net = Sequential(*encoder.layers, *decoder.layers)
    print(f"{len(net)} layers applied to a symbolic input (H, W); each row is the layer's output size")
    shapes = net.shapes((H, W))
    for i, (layer, s) in enumerate(zip(net.layers, shapes[1:])):
        print(f"  {i:2d} {layer!r:<46} -> ({', '.join(format_size(n) for n in s)})")
    print(f"\nbottleneck size: {format_size(encoder.output_shape((H,))[0])}")
    print(f"output size    : {format_size(shapes[-1][0])}")
    same = net.size_preserving_sizes(symbol="H")
    print(f"output == input exactly when {same.condition}; smallest such H >= 500: {same.smallest(500)}")
    strided = Sequential(*[Conv(3, stride=2, padding=1)] * 4)
    print(f"\nfour stride-2 3x3 convs: {format_size(strided.output_shape((H,))[0])}")
    exact = strided.exact_sizes(symbol="H")
    print(f"no pixel dropped when {exact.condition}; smallest such H >= 224: {exact.smallest(224)}")
    (rf,) = Sequential(*encoder.layers).receptive_field((H,))
    print(f"\nencoder receptive field {rf.size}, effective stride {rf.stride}, effective padding {rf.padding}")
    return 0
