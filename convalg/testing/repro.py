"""Copy-paste Python repro snippets for the conformance harness's minimal failing cases.

A snippet rebuilds the drawn arrays, converts them as the harness did (array
library, device, memory layout), makes the same call -- arrays positionally,
the rest by keyword -- and hands the result to
:func:`convalg.testing.assert_conforms`, the harness's own judge.

>>> print(literal(np.array([[1.0, np.nan]], dtype=np.float32)))
np.array([1.0, np.nan], dtype=np.float32).reshape((1, 2))
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .families import FAMILIES, Family, params_of
from .ops import OPS

__all__ = ["repro_snippet", "literal", "LITERAL_MAX_ELEMENTS"]

#: Arrays up to this many elements are printed literally; larger ones as a ``make_array`` recipe.
LITERAL_MAX_ELEMENTS = 256


def _num(v: float) -> str:
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(float(v))


def literal(a: np.ndarray) -> str:
    """An exact, rebuildable literal for a float or integer array (values round-trip through ``repr``)."""
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        values = ", ".join(str(int(v)) for v in a.reshape(-1))
    else:
        values = ", ".join(_num(v) for v in np.asarray(a, dtype=np.float64).reshape(-1))
    return f"np.array([{values}], dtype=np.{a.dtype.name}).reshape({tuple(a.shape)})"


def _array_code(recipe: Any) -> str:
    if int(np.prod(recipe.shape)) <= LITERAL_MAX_ELEMENTS:
        return f"{literal(recipe.build())},  # = {recipe.code()}"
    return recipe.code() + ","


def _target_line(name: str) -> str:
    """How the snippet gets the target: ``load_target`` for an importable ``module:function``;
    a local function or lambda (``<locals>`` / ``<lambda>`` in its name) must be pasted in."""
    if "<" in name:
        return f"target = ...  # paste your function here: {name} is not importable"
    return f"target = load_target({name!r})  # or: from <your module> import <your function> as target"


def repro_snippet(name: str, op: str, case: Any, recipes: dict[str, Any], verdict: Any, model: Any,
                  array: str = "numpy", device: str = "cpu", autograd: bool = False) -> str:
    """Python source that rebuilds the inputs, makes the failing call and judges it as the harness did."""
    family = OPS[op].family
    fam, params = FAMILIES[family], params_of(family, case)
    roles = [r for r in recipes if r != "upstream"]
    lines = _header(name, op, recipes, roles, params, verdict)
    lines += _inputs(fam, recipes, roles, params)
    lines += _conversions(fam, recipes, roles, model, array, device, autograd)
    args = [n if (n in fam.arrays or n == "indices") else repr(params[n]) for n in fam.positional]
    kw = [f"{n}={n}" if n == "indices" else f"{n}={params[n]!r}" for n in fam.keywords
          if n in params or n == "indices"]
    lines.append(f"got = target({', '.join(args + kw)})")
    lines += _judgement(op, fam, recipes, roles, verdict, model, array, device, autograd)
    return "\n".join(lines)


def _header(name: str, op: str, recipes: dict[str, Any], roles: list[str], params: dict[str, Any],
            verdict: Any) -> list[str]:
    """The comment lines (verdict, problem), the imports and the line that gets the target."""
    shown = ", ".join([f"{r} {recipes[r].shape}" + (f" {recipes[r].layout}" if recipes[r].layout != "contiguous"
                                                     else "") for r in roles] +
                      [f"{k}={v!r}" for k, v in params.items()])
    return [
        f"# convalg check: minimal failing case for {op} (shrunk by Hypothesis)",
        "# verdict: " + verdict.message.splitlines()[0],
        f"# problem: {op}({shown})",
        "import numpy as np",
        "from convalg.testing import as_target, assert_conforms, load_target, make_array",
        "",
        _target_line(name),
    ]


def _inputs(fam: Family, recipes: dict[str, Any], roles: list[str], params: dict[str, Any]) -> list[str]:
    """The drawn arrays (and those derived from them), and the parameters."""
    lines = ["inputs = {  # the drawn values: the reference and the bound are computed from these"]
    lines += [f"    {r!r}: {_array_code(recipes[r])}" for r in roles]
    lines.append("}")
    if fam.derived:
        derived = fam.derived({k: recipes[k].build().astype(np.float64) for k in roles}, params)
        lines += [f"inputs[{k!r}] = {literal(v)}  # the reference's argmax" for k, v in derived.items()]
    if "bias" in fam.arrays and "bias" not in recipes:
        lines.append("inputs['bias'] = None")
    lines.append(f"params = {params!r}")
    return lines


def _conversions(fam: Family, recipes: dict[str, Any], roles: list[str], model: Any, array: str, device: str,
                 autograd: bool) -> list[str]:
    """The arrays converted as the harness handed them to the target (library, device, layout, dtype)."""
    lines = []
    grad = ".detach().requires_grad_(True)" if autograd else ""
    for r in [*roles, *(["bias"] if "bias" in fam.arrays and "bias" not in recipes else []),
              *(["indices"] if fam.derived else [])]:
        if r in recipes:
            lines.append(f"{r} = as_target(inputs[{r!r}], {array!r}, {device!r}, {recipes[r].layout!r}, "
                         f"{model.dtype!r}){grad}")
        elif r == "bias":
            lines.append("bias = None")
        else:
            lines.append(f"{r} = as_target(inputs[{r!r}], {array!r}, {device!r})")
    return lines


def _judgement(op: str, fam: Family, recipes: dict[str, Any], roles: list[str], verdict: Any, model: Any,
               array: str, device: str, autograd: bool) -> list[str]:
    """The ``assert_conforms`` lines (none when the target raised, hung or was interrupted)."""
    conv = ", ".join(f"{k}={getattr(model, k)!r}" for k in ("dtype", "accumulate", "growth", "c", "algorithm",
                                                              "ties"))
    where = f"array={array!r}, device={device!r}, {conv}"
    if autograd:
        return [f"grad_output = {literal(_grad_output(recipes, verdict))}",
                f"got.backward(as_target(grad_output, {array!r}, {device!r}, dtype={model.dtype!r}))",
                f"assert_conforms({op!r}, got.detach(), inputs, params, {where})",
                f"grads = {{{', '.join(f'{r!r}: {r}.grad' for r in roles)}}}",
                f"assert_conforms({op!r}, grads, inputs, params, grad_output=grad_output, {where})"]
    if verdict.kind not in ("raised", "timeout", "interrupted"):
        after = ", ".join(f"{r!r}: {r}" for r in [*roles, *(["indices"] if fam.derived else [])])
        return [f"assert_conforms({op!r}, got, inputs, params, after={{{after}}}, {where})"]
    return []


def _grad_output(recipes: dict[str, Any], verdict: Any) -> np.ndarray:
    shape = getattr(verdict, "grad_shape", None) or ()
    return dataclasses.replace(recipes["upstream"], shape=tuple(shape)).build()
