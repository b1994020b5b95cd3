"""Side-by-side run (not a test): torch.export with dynamic Dims, onnxruntime's SymbolicShapeInference and
convalg on the architectures of ``torch_models``: the output shape each reports, or its failure, and the time.

    PYTHONPATH=. python -m tests.graph.peers
"""

from __future__ import annotations

import time
import warnings

import torch

import convalg

from .test_onnx_models import export
from .torch_models import MODELS


def _torch_export(model, shape, fixed):
    from torch.export import Dim
    from torch.export import export as texport

    x = torch.zeros(tuple(fixed.get(d, d) if isinstance(d, str) else d for d in shape))
    dims = {i: Dim(d, min=1, max=4096) for i, d in enumerate(shape) if isinstance(d, str)}
    ep = texport(model, (x,), dynamic_shapes={"x": dims})
    out = [n for n in ep.graph.nodes if n.op == "output"][0].args[0]
    return [tuple(str(s) for s in o.meta["val"].shape) for o in out]


def _torch_export_auto(model, shape, fixed):
    """Dim.AUTO: torch.export infers the ranges itself; report its output shape and its range constraints."""
    from torch.export import Dim
    from torch.export import export as texport

    x = torch.zeros(tuple(fixed.get(d, d) if isinstance(d, str) else d for d in shape))
    ep = texport(model, (x,), dynamic_shapes={"x": {i: Dim.AUTO for i, d in enumerate(shape) if isinstance(d, str)}})
    out = [n for n in ep.graph.nodes if n.op == "output"][0].args[0]
    ranges = {str(k): f"[{v.lower}, {v.upper}]" for k, v in ep.range_constraints.items()}
    return [tuple(str(s) for s in o.meta["val"].shape) for o in out], ranges


def _ort(model, shape, fixed):
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    proto = export(model, shape, fixed)
    inferred = SymbolicShapeInference.infer_shapes(proto, auto_merge=False, guess_output_rank=False)
    return [tuple(d.dim_param or str(d.dim_value) for d in o.type.tensor_type.shape.dim) for o in inferred.graph.output]


def _convalg(model, shape, fixed):
    g = convalg.from_torch(model, shape)
    acc = [str(g.accepted_sizes(s)) for s in g.symbols]
    return [tuple(convalg.shapes.format_size(d) for d in o) for o in g.output_shapes], acc


def main() -> None:
    warnings.filterwarnings("ignore")
    for name, (factory, shape, fixed) in MODELS.items():
        model = factory().eval()
        for label, fn in (("torch.export", _torch_export), ("export AUTO", _torch_export_auto),
                          ("ort-symbolic", _ort), ("convalg", _convalg)):
            t0 = time.perf_counter()
            try:
                result = fn(model, shape, fixed)
                status = f"ok {result}"
            except Exception as e:  # report any failure of a peer
                status = f"FAILED {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
            print(f"{name:11s} {label:13s} {time.perf_counter() - t0:7.2f}s  {status[:400]}", flush=True)


if __name__ == "__main__":
    main()
