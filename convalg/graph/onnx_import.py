"""``from_onnx``: an ONNX model (``onnx.ModelProto`` or a path) into a :class:`~convalg.graph.Graph`.

The ``onnx`` package is imported when the function is called.  Windowed ops
become :mod:`convalg.spec` layers (``auto_pad`` through
:func:`convalg.spec.explicit_padding`, ``pads`` through
:func:`convalg.spec.onnx_pads`), the rest the ops of :mod:`convalg.graph.ops`,
so both importers share every formula.  Small integer tensors computed from
shapes (``Shape`` / ``Gather`` / ``Concat`` / arithmetic, as exporters emit for
``x.view(x.size(0), -1)`` or crops) are carried as SymPy values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import SpecError
from .core import Graph, size_symbol
from .onnx_rules import NoRule, convert
from .onnx_values import value_or_const
from .traced import Tensor, UnknownOp

__all__ = ["from_onnx"]


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _dims_of(value_info: Any) -> tuple[Any, ...]:
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else size_symbol(d.dim_param or value_info.name + "_dim"))
    return tuple(dims)


def from_onnx(model_or_path: Any, input_dims: Any = None, *, name: str | None = None) -> Graph:
    """Import an ONNX model; symbolic dims take their ``dim_param`` names unless ``input_dims`` overrides them.

    ``input_dims`` is one shape (ints, SymPy symbols or names), a list of
    shapes (one per graph input) or a dict input name -> shape.
    """
    from onnx import numpy_helper

    g = _load_model(model_or_path).graph
    consts: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    shapes = _input_shapes([i for i in g.input if i.name not in consts], input_dims)
    graph = Graph(shapes, name=name or g.name or "onnx")
    env: dict[str, Any] = {k: Tensor(k) for k in shapes}
    env.update({k: value_or_const(arr) for k, arr in consts.items()})
    for i, node in enumerate(g.node):
        _convert_node(graph, env, node, node.name or (node.output[0] if node.output else f"node{i}"), consts)
    graph.set_outputs([env[o.name].name for o in g.output if isinstance(env.get(o.name), Tensor)])
    return graph


def _load_model(model_or_path: Any) -> Any:
    """The ``onnx.ModelProto`` given, or read from a file path."""
    import onnx

    if isinstance(model_or_path, str):
        try:
            model = onnx.load(model_or_path)
        except Exception as e:  # a missing file, or bytes that are not an ONNX protobuf
            raise SpecError(f"model_or_path={model_or_path!r}: cannot be read as an ONNX model "
                            f"({type(e).__name__}: {e})") from None
    else:
        model = model_or_path
    if not isinstance(model, onnx.ModelProto):
        raise SpecError(f"model_or_path={type(model_or_path).__name__}: must be an onnx.ModelProto or a file path")
    return model


def _input_shapes(real_inputs: list[Any], input_dims: Any) -> dict[str, tuple[Any, ...]]:
    """The shapes of the graph inputs: the model's own, overridden by ``input_dims``."""
    shapes = {i.name: _dims_of(i) for i in real_inputs}
    if input_dims is None:
        return shapes
    if isinstance(input_dims, Mapping):
        given = dict(input_dims)
    elif input_dims and all(isinstance(s, (list, tuple)) for s in input_dims):
        given = dict(zip(shapes, input_dims))
    else:
        given = {next(iter(shapes)): input_dims}
    for k, v in given.items():
        if k not in shapes:
            raise SpecError(f"input_dims: {k!r} is not an input of the model ({list(shapes)})")
        if len(v) != len(shapes[k]):
            raise SpecError(f"input_dims[{k!r}]={tuple(v)}: the model input has rank {len(shapes[k])}")
        shapes[k] = tuple(size_symbol(d) if isinstance(d, str) else d for d in v)
    return shapes


def _convert_node(graph: Graph, env: dict[str, Any], node: Any, label: str, consts: dict[str, Any]) -> None:
    """Add one node (its outputs go to ``env``); a node without a rule becomes an unsupported node."""
    ins = [env.get(x) if x else None for x in node.input]
    try:
        outs = convert(graph, label, node.op_type, ins, _attrs(node), consts)
    except NoRule as e:
        first = next((v for v in ins if isinstance(v, Tensor)), None)
        rank = len(graph.shape_of(first.name)) if first is not None else 1
        graph.mark_unsupported(label, node.op_type, str(e))
        outs = [Tensor(graph.add(label, UnknownOp(node.op_type, rank, label), [first.name] if first else []))]
    except SpecError as e:
        raise SpecError(f"node {label} ({node.op_type}): {e}") from None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:  # malformed node
        raise SpecError(f"node {label} ({node.op_type}): its inputs or attributes do not fit the shape rule "
                        f"({type(e).__name__}: {e})") from None
    for out_name, value in zip(node.output, outs):
        env[out_name] = value
