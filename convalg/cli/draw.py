"""``convalg draw``: the pictures of :mod:`convalg.plot` from the command line (needs the ``plot`` extra).

::

    convalg draw sparsity   --input 3,3 'conv(k=3,p=1)' --cin 2 --cout 2 -o sparsity.png
    convalg draw arithmetic --input 5,5 'conv(k=3,s=2,p=1)' --position 1,1 -o conv.png
    convalg draw arithmetic --input 3,3 'convt(k=3,s=2,p=1,op=1)' -o convt.gif     # .gif: every window position
    convalg draw rf         --input 16,16 'conv(k=3,p=1) maxpool(k=2) conv(k=3,p=1)' --output 3,3 -o rf.png
    convalg draw maxpool    'maxpool(k=2)' --values '1 4 2 2; 4 0 1 0; 3 5 5 1; 0 2 5 6' -o routing.png
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

from .. import plot
from ..display import OperatorMatrix
from ..errors import SpecError
from .syntax import parse_input, parse_layers, syntax_help

__all__ = ["register", "run", "parse_values"]


def _sizes(flag: str, text: str) -> tuple[int, ...]:
    sizes = parse_input(text)
    if not all(isinstance(n, int) for n in sizes):
        raise SpecError(f"{flag}={text!r}: needs integers, e.g. 1,2")
    return tuple(int(n) for n in sizes)


def parse_values(text: str) -> np.ndarray:
    """``'1 4 2; 4 0 1'`` (rows split by ``;``, values by spaces or commas) as a float array, 1-D for one row.

    >>> parse_values("1 4 2; 4 0 1").tolist(), parse_values("3,3,1,2").tolist()
    ([[1.0, 4.0, 2.0], [4.0, 0.0, 1.0]], [3.0, 3.0, 1.0, 2.0])
    """
    try:
        rows = [[float(v) for v in row.replace(",", " ").split()] for row in text.split(";")]
    except ValueError:
        raise SpecError(f"--values {text!r}: must be numbers, rows separated by ';'") from None
    if not rows or any(len(r) != len(rows[0]) or not r for r in rows):
        raise SpecError(f"--values {text!r}: rows must be non-empty and of equal length")
    arr = np.array(rows)
    return arr[0] if len(rows) == 1 else arr


def _add(sub: Any, name: str, help_text: str, layers_help: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text, epilog=syntax_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("layers", nargs="+", help=layers_help)
    p.add_argument("-o", "--out", required=True, help="image file (.png; arithmetic also .gif)")
    p.set_defaults(func=run, picture=name)
    return p


def register(sub: Any) -> None:
    p = sub.add_parser("draw", help="draw the lecture's pictures (sparsity, conv arithmetic, receptive field, "
                                    "max-pool routing)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    pictures = p.add_subparsers(dest="picture", metavar="PICTURE", required=True)
    s = _add(pictures, "sparsity", "an operator matrix: numbered entries, legend, block lines", "one layer")
    s.add_argument("--input", required=True, help="concrete spatial input sizes, e.g. 3,3")
    s.add_argument("--cin", type=int, default=None, help="input channels (default: the layer's, else 1)")
    s.add_argument("--cout", type=int, default=None, help="output channels of a conv (default: the layer's, else 1)")
    a = _add(pictures, "arithmetic", "a Dumoulin & Visin diagram of one layer (GIF: every window position)",
             "one Conv, ConvTranspose, MaxPool or AvgPool")
    a.add_argument("--input", required=True, help="spatial input sizes, 1-D or 2-D, e.g. 5,5")
    a.add_argument("--position", default=None, help="output position of the drawn window (PNG), e.g. 1,1")
    a.add_argument("--fps", type=int, default=2, help="GIF frames per second")
    r = _add(pictures, "rf", "the receptive field of one output of a stack, as a heat map", "layer list")
    r.add_argument("--input", required=True, help="spatial input sizes, 1-D or 2-D, e.g. 16,16")
    r.add_argument("--output", default=None, help="the output position (default: the centre), e.g. 2,2")
    m = _add(pictures, "maxpool", "max-pool gradient routing, ties marked", "one MaxPool")
    m.add_argument("--values", default=None, help="input values, rows split by ';' (default: random 0..3 on --input)")
    m.add_argument("--input", default="6,6", help="spatial sizes of the random input (default 6,6)")
    m.add_argument("--seed", type=int, default=0, help="seed of the random input")


def _one(layers: list[str], what: str) -> Any:
    parsed = parse_layers(layers)
    if len(parsed) != 1:
        raise SpecError(f"layers: `convalg draw {what}` takes one layer, got {len(parsed)}")
    return parsed[0]


def run(args: argparse.Namespace) -> int:
    path = args.out if os.path.splitext(args.out)[1] else args.out + ".png"
    if args.picture == "sparsity":
        for flag, value in (("--cin", args.cin), ("--cout", args.cout)):
            if value is not None and value < 1:
                raise SpecError(f"{flag}={value}: a channel count must be >= 1")
        op = OperatorMatrix.of(_one(args.layers, "sparsity"), _sizes("--input", args.input), args.cin, args.cout)
        plot.sparsity(op.matrix, op.row_shape, op.col_shape, path, title=repr(op.layer))
    elif args.picture == "arithmetic":
        layer, spatial = _one(args.layers, "arithmetic"), _sizes("--input", args.input)
        if path.lower().endswith(".gif"):
            frames = plot.conv_arithmetic_gif(layer, spatial, path, fps=args.fps)
            print(f"wrote {path} ({frames} frames, one per window position)", file=sys.stderr)
            return 0
        position = None if args.position is None else _sizes("--position", args.position)
        plot.conv_arithmetic(layer, spatial, position, path)
    elif args.picture == "rf":
        output = None if args.output is None else _sizes("--output", args.output)
        plot.receptive_field_map(parse_layers(args.layers), _sizes("--input", args.input), output, path)
    else:
        layer = _one(args.layers, "maxpool")
        if layer.kind != "max_pool":
            raise SpecError(f"layer={layer!r}: `convalg draw maxpool` takes a maxpool(...)")
        if args.values is not None:
            x = parse_values(args.values)
        else:
            x = np.random.default_rng(args.seed).integers(0, 4, _sizes("--input", args.input)).astype(float)
        plot.max_pool_routing(layer, x, path=path)
    print(f"wrote {path}", file=sys.stderr)
    return 0
