"""``from_torch``: a PyTorch ``nn.Module`` traced with ``torch.fx`` into a :class:`~convalg.graph.Graph`.

torch is imported when the function is called, never at import time.  Module
and function calls map onto the shape ops of :mod:`convalg.graph.ops` (and
windowed layers onto :mod:`convalg.spec`) in :mod:`.torch_rules`; scalar
arithmetic on sizes (``x.size(2) - y.size(2)``, ``// 2``) is carried out on
SymPy expressions, so crops computed from sizes stay exact.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import SpecError
from .core import Graph, size_symbol
from .op_base import Op, Shape
from .torch_layers import NoShapeRule
from .torch_modules import call_module
from .torch_rules import call_function, call_method
from .traced import Tensor, UnknownOp

__all__ = ["from_torch", "Tensor"]


def _shapes(input_shape: Any) -> list[tuple[Any, ...]]:
    if isinstance(input_shape, Mapping):
        return [tuple(v) for v in input_shape.values()]
    if isinstance(input_shape, (list, tuple)) and input_shape and all(isinstance(s, (list, tuple)) for s in input_shape):
        return [tuple(s) for s in input_shape]
    if isinstance(input_shape, (list, tuple)):
        return [tuple(input_shape)]
    raise SpecError(f"input_shape={input_shape!r}: must be a shape tuple, a list of them, or a dict name -> shape")


def _dims(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(size_symbol(d) if isinstance(d, str) else d for d in shape)


def _trace(module: Any, leaves: tuple[Any, ...]) -> Any:
    import torch
    from torch import fx

    names = {n for n in leaves if isinstance(n, str)}
    types = tuple(t for t in leaves if isinstance(t, type))

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
            return qualname in names or isinstance(m, types) or super().is_leaf_module(m, qualname)

    try:
        return fx.GraphModule(module, Tracer().trace(module)).graph
    except Exception as e:  # fx raises TraceError, TypeError, AttributeError... on untraceable code
        raise SpecError(
            f"torch.fx could not trace {type(module).__name__}: {type(e).__name__}: {e}. "
            "Code that branches on tensor values or calls untraceable functions cannot be traced; mark the "
            "submodule that does it as a leaf, from_torch(..., leaf_modules=['name.of.submodule']) (or its "
            "type), and give its shape rule in leaf_rules={'name.of.submodule': lambda shape: new_shape}"
        ) from None


def from_torch(
    module: Any,
    input_shape: Any,
    *,
    leaf_modules: Sequence[Any] = (),
    leaf_rules: Mapping[Any, Callable[[Shape], Shape]] | None = None,
    name: str | None = None,
) -> Graph:
    """Trace ``module`` and propagate ``input_shape`` (ints, SymPy symbols or names) through it.

    ``input_shape`` is one shape, or a list / dict of shapes for several inputs.
    ``leaf_modules`` (qualified names or module types) are not traced into;
    ``leaf_rules`` maps such a name or type to a function from input shape to
    output shape (a leaf without a rule is reported unsupported).

    Example (needs torch, so not run as a doctest; ``tests/graph`` checks it)::

        import torch, sympy as sp
        H, W = sp.symbols("H W", integer=True, positive=True)
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.MaxPool2d(2))
        g = from_torch(net, (1, 3, H, W))
        g.output_shape                  # (1, 8, floor(H/4 - 3/4) + 1, floor(W/4 - 3/4) + 1)
        str(g.accepted_sizes(H))        # 'H >= 3'
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise SpecError(f"module={type(module).__name__}: from_torch needs a torch.nn.Module")
    rules = dict(leaf_rules or {})
    fx_graph = _trace(module, tuple(leaf_modules) + tuple(rules))
    placeholders = [n for n in fx_graph.nodes if n.op == "placeholder"]
    graph = Graph(_input_dims(module, placeholders, input_shape), name=name or type(module).__name__)
    env: dict[Any, Any] = {p: Tensor(p.name) for p in placeholders}
    for node in fx_graph.nodes:
        if node.op != "placeholder":
            _visit(graph, env, node, module, rules)
    return graph


def _input_dims(module: Any, placeholders: list[Any], input_shape: Any) -> dict[str, tuple[Any, ...]]:
    """The graph inputs: one shape per ``forward`` argument."""
    shapes = _shapes(input_shape)
    if len(shapes) != len(placeholders):
        raise SpecError(f"input_shape: {len(shapes)} shapes given but {type(module).__name__}.forward takes "
                        f"{len(placeholders)} inputs ({[p.target for p in placeholders]})")
    return {p.name: _dims(s) for p, s in zip(placeholders, shapes)}


def _visit(graph: Graph, env: dict[Any, Any], node: Any, module: Any, rules: dict[Any, Any]) -> None:
    """Add one fx node to ``graph`` (or record its size value in ``env``); a call without a rule becomes
    an unsupported node, and a rule that cannot read its arguments a SpecError naming the node."""
    from torch import fx

    args = fx.node.map_arg(node.args, lambda n: env[n])
    kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
    if node.op == "output":
        graph.set_outputs([o.name for o in _flat_outputs(args[0]) if isinstance(o, Tensor)])
        return
    try:
        env[node] = _node_value(graph, node, module, rules, args, kwargs)
    except NoShapeRule as e:
        first = next((a for a in args if isinstance(a, Tensor)), None)
        rank = len(graph.shape_of(first.name)) if first is not None else 1
        graph.mark_unsupported(node.name, e.op, e.reason)
        env[node] = Tensor(graph.add(node.name, UnknownOp(e.op, rank, node.name),
                                     [first.name] if first is not None else []))
    except SpecError as e:
        raise SpecError(f"node {node.name} ({node.op} {_target_name(node.target)}): {e}") from None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:  # arguments a rule cannot read
        raise SpecError(f"node {node.name} ({node.op} {_target_name(node.target)}): its arguments do not fit "
                        f"the shape rule ({type(e).__name__}: {e})") from None


def _flat_outputs(outs: Any) -> list[Any]:
    if isinstance(outs, dict):
        return list(outs.values())
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]


def _node_value(graph: Graph, node: Any, module: Any, rules: dict[Any, Any], args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    """The traced value of one ``get_attr`` / ``call_module`` / ``call_function`` / ``call_method`` node."""
    if node.op == "get_attr":
        import torch

        value = operator.attrgetter(node.target)(module)
        if isinstance(value, torch.Tensor):
            return Tensor(graph.add(node.name, _Const(tuple(value.shape)), []))
        return value
    if node.op == "call_module":
        sub = module.get_submodule(node.target)
        rule = rules.get(node.target) or next((r for t, r in rules.items()
                                               if isinstance(t, type) and isinstance(sub, t)), None)
        return call_module(graph, node.name, sub, args, kwargs, rule, node.target)
    if node.op == "call_function":
        return call_function(graph, node.name, node.target, args, kwargs)
    return call_method(graph, node.name, node.target, args, kwargs)


def _target_name(target: Any) -> str:
    return getattr(target, "__name__", None) or str(target)


class _Const(Op):
    kind = "constant"

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def infer(self, ctx: Any) -> Shape:
        return self.shape
