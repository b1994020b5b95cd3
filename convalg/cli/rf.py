"""``convalg rf``: receptive field, effective stride and padding of a layer list."""

from __future__ import annotations

import argparse
import json
from typing import Any

import sympy as sp

from ..shapes.simplify import format_size, latex_size
from ..spec.sequential import Sequential
from .syntax import parse_input, parse_layers

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser("rf", help="receptive field, effective stride and padding (Araujo et al. 2019)",
                       description="e.g.  convalg rf --input 224,224 'conv(k=3,p=1)*2 maxpool(k=2)'")
    p.add_argument("layers", nargs="+", help="layer list (Conv / MaxPool / AvgPool)")
    p.add_argument("--input", default=None, help="spatial input sizes (needed for size-dependent padding)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true")
    out.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    net = Sequential(*parse_layers(args.layers))
    spatial = parse_input(args.input) if args.input else None
    fields = net.receptive_field(spatial)
    if args.json:
        print(json.dumps([{"axis": a, "size": format_size(f.size), "stride": format_size(f.stride),
                           "padding": format_size(f.padding)} for a, f in enumerate(fields)], indent=2))
        return 0
    y = sp.Symbol("y", integer=True, nonnegative=True)
    for a, f in enumerate(fields):
        lo, hi = f.region(y)
        if args.latex:  # one paragraph per axis, the math in $...$: it compiles as it is
            print(f"axis {a}: receptive field ${latex_size(f.size)}$, effective stride ${latex_size(f.stride)}$, "
                  f"effective padding ${latex_size(f.padding)}$; output $y$ sees inputs "
                  f"$[{latex_size(lo)}, {latex_size(hi)}]$\n")
            continue
        print(f"axis {a}: receptive field {format_size(f.size)}, effective stride {format_size(f.stride)}, "
              f"effective padding {format_size(f.padding)}; output y sees inputs [{format_size(lo)}, {format_size(hi)}]")
    return 0
