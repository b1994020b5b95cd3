"""Copy-paste Python repro snippets for the conformance harness's minimal failing cases.

>>> print(literal(np.array([[1.0, np.nan]], dtype=np.float32)))
np.array([1.0, np.nan], dtype=np.float32).reshape((1, 2))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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
    """An exact, rebuildable literal for a float array (values round-trip through ``repr``)."""
    values = ", ".join(_num(v) for v in np.asarray(a, dtype=np.float64).reshape(-1))
    return f"np.array([{values}], dtype=np.{np.asarray(a).dtype.name}).reshape({tuple(a.shape)})"


def _array_code(recipe: Any) -> str:
    if int(np.prod(recipe.shape)) <= LITERAL_MAX_ELEMENTS:
        arr = recipe.build()
        return f"{literal(arr)}  # = {recipe.code()}"
    return recipe.code()


def _kwargs(kw: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kw.items())


def _target_line(name: str) -> str:
    """How the snippet gets the target: ``load_target`` for an importable ``module:function``;
    a local function or lambda (``<locals>`` / ``<lambda>`` in its name) must be pasted in."""
    if "<" in name:
        return f"target = ...  # paste your function here: {name} is not importable"
    return f"target = load_target({name!r})  # or: from <your module> import <your function> as target"


def repro_snippet(name: str, op: str, case: Any, recipes: dict[str, Any], outcome: Any, tolerance: str,
                  growth: str, c: float, ties: str, algorithm: str = "direct") -> str:
    """Python source that rebuilds the inputs, calls the target and shows expected vs got and the bound."""
    from .harness import _call_args

    kw = case.kwargs()
    arrays = {k: r.build() for k, r in recipes.items()}
    args, extra = _call_args(case, arrays)
    names = ["x", "weight", "bias"][: 3 if "weight" in arrays else 1]
    arg_src = ", ".join(names + [repr(a) for a in args[len(names):]] + [f"{k}={v!r}" for k, v in extra.items()])
    lines = [
        f"# convalg check: minimal failing case for {op} (shrunk by Hypothesis)",
        f"# verdict: {outcome.message}",
        f"# layer: {case.layer!r}, input shape {case.input_shape}",
        "import numpy as np",
        "from convalg.reference import direct as ref",
        "from convalg.testing.harness import load_target",
        "from convalg.testing.strategies import make_array",
        "from convalg.testing.tolerance import assert_within_bound, error_bound",
        "",
        _target_line(name),
    ]
    for n in ("x", "weight", "bias"):
        if n in recipes:
            lines.append(f"{n} = {_array_code(recipes[n])}")
        elif n == "bias" and "weight" in recipes:
            lines.append("bias = None")
    ref_args = ", ".join(names)
    lines.append(f"got = target({arg_src})")
    if case.op == "max_pool":
        lines += [
            f"expected = ref.max_pool({ref_args}, {_kwargs(kw)})",
            "print('expected:', expected, 'got:', got, sep='\\n')",
            f"# exact match required ({'indices: first maximum wins ties' if ties == 'first' else 'any maximal index'})",
        ]
        if kw["return_indices"]:
            lines.append("np.testing.assert_array_equal(got[0], expected[0]); "
                         "np.testing.assert_array_equal(got[1], expected[1])")
        else:
            lines.append("np.testing.assert_array_equal(got, expected)")
    else:
        lines += [
            f"expected = ref.{case.op}({ref_args}, {_kwargs(kw)})",
            f"bound = error_bound({case.op!r}, {ref_args}, dtype={tolerance!r}, growth={growth!r}, c={c!r}, "
            f"algorithm={algorithm!r}, {_kwargs(kw)})",
            "print('expected:', expected, 'got:', np.asarray(got), 'bound:', bound, sep='\\n')",
            "assert_within_bound(np.asarray(got), expected, bound)",
        ]
    return "\n".join(lines)
