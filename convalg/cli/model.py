"""``convalg shape model.onnx --input N,3,H,W`` and ``convalg shape --torch pkg.module:factory --input ...``.

Whole models: the per-node table (shapes, receptive fields, parameters,
MACs, activations), the accepted input sizes per symbolic axis and the output
shapes, as text or ``--json``.  The ``shape`` command hands over here when it
is given a model instead of a layer list.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import Any

from ..errors import SpecError
from ..graph.onnx_import import from_onnx
from ..graph.torch_import import from_torch
from ..shapes.simplify import format_size
from .syntax import parse_input

__all__ = ["add_arguments", "handles", "run", "load_model"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the model form of ``convalg shape``."""
    p.add_argument("--torch", metavar="MODULE:FACTORY", default=None,
                   help="a PyTorch model: import MODULE and call FACTORY() (e.g. torchvision.models:resnet18)")


def handles(args: argparse.Namespace) -> bool:
    """True when ``convalg shape`` was given a model (an .onnx file or --torch) rather than a layer list."""
    layers = getattr(args, "layers", None) or []
    return bool(getattr(args, "torch", None)) or (len(layers) == 1 and layers[0].lower().endswith(".onnx"))


def load_model(args: argparse.Namespace) -> Any:
    """Import the model named on the command line into a :class:`convalg.graph.Graph`."""
    dims = parse_input(args.input)
    if args.torch:
        if args.layers:
            raise SpecError(f"--torch {args.torch}: give either --torch or a layer list / .onnx file, not both")
        module_name, _, factory = args.torch.partition(":")
        if not module_name or not factory:
            raise SpecError(f"--torch {args.torch!r}: must be 'package.module:factory'")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise SpecError(f"--torch {args.torch!r}: cannot import {module_name!r} ({e})") from None
        make = getattr(module, factory, None)
        if not callable(make):
            raise SpecError(f"--torch {args.torch!r}: {module_name} has no callable {factory!r}")
        model = make()
        if hasattr(model, "eval"):
            model.eval()
        return from_torch(model, dims, name=factory)
    return from_onnx(args.layers[0], dims)


def run(args: argparse.Namespace) -> int:
    graph = load_model(args)
    summary = graph.summary()
    accepted = {} if graph.unsupported else {s.name: graph.accepted_sizes(s) for s in graph.symbols}
    # Output shapes as the solver proves them readable on the accepted sizes (exact as they are
    # where it cannot decide, and whenever a node is unsupported).
    shape_of = graph.shape_of if graph.unsupported else graph.simplified_shape
    outputs = {name: shape_of(name) for name in graph._outputs()}
    if getattr(args, "json", False):
        print(json.dumps({
            "model": graph.name,
            **summary.as_dict(),
            "accepted_sizes": {k: str(v) for k, v in accepted.items()},
            "outputs": {k: [format_size(d) for d in v] for k, v in outputs.items()},
            "unsupported": [str(u) for u in graph.unsupported],
            "exact_outputs": list(graph.exact_outputs),
        }, indent=2))
        return 0
    print(summary)
    print()
    for k, v in accepted.items():
        print(f"accepted {k}: {v}")
    for u in graph.unsupported:
        print(f"unsupported: {u}")
    if graph.unsupported:
        print(f"exact outputs: {', '.join(graph.exact_outputs) or 'none'}")
    for k, v in outputs.items():
        print(f"output {k}: ({', '.join(format_size(d) for d in v)})")
    return 0
