"""``convalg shape``: output-shape formulas of a layer list."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import SpecError
from ..shapes.simplify import format_size
from ..spec.sequential import Sequential
from . import model
from .syntax import parse_input, parse_layers

__all__ = ["register", "run", "shape_report"]


def register(sub: Any) -> None:
    p = sub.add_parser("shape", help="output-shape formulas of a layer list",
                       description="Print each layer's output shape, e.g.  convalg shape --input H,W "
                                   "'conv(k=3,s=2,p=1)*4 maxpool(k=2)'")
    p.add_argument("layers", nargs="*", help="layer list, e.g. conv(k=3,s=2,p=1) maxpool(k=2); or a model.onnx file")
    model.add_arguments(p)
    p.add_argument("--input", required=True, help="spatial input sizes, ints or names: H,W or 224,224")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="LaTeX output")
    out.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=run)


def shape_report(layers_text: str | list[str], input_text: str) -> dict[str, Any]:
    net = Sequential(*parse_layers(layers_text))
    spatial = parse_input(input_text)
    shapes = net.shapes(spatial)
    return {"net": net, "input": spatial, "shapes": shapes}


def run(args: argparse.Namespace) -> int:
    if model.handles(args):
        return model.run(args)
    if not args.layers:
        raise SpecError("shape: give a layer list, a model.onnx file, or --torch package.module:factory")
    rep = shape_report(args.layers, args.input)
    net, shapes = rep["net"], rep["shapes"]
    if args.json:
        print(json.dumps({
            "input": [str(n) for n in shapes[0]],
            "layers": [{"layer": repr(layer), "output": [format_size(n) for n in s]}
                       for layer, s in zip(net.layers, shapes[1:])],
            "output": [format_size(n) for n in shapes[-1]],
        }, indent=2))
        return 0
    table = net.shape_table(rep["input"])
    print(table.to_latex() if args.latex else table)
    return 0
