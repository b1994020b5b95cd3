"""Targets built on the float64 references (NumPy in, same dtype out): they must pass every op."""

from __future__ import annotations

import numpy as np

from convalg.testing.families import FAMILIES
from convalg.testing.ops import OPS


def reference_target(op):
    """``op``'s call signature around its reference (the result cast to the input dtype)."""
    fam = FAMILIES[OPS[op].family]

    def target(*args, **kw):
        named = dict(zip(fam.positional, args))
        named.update(kw)
        arrays = {k: named[k] for k in (*fam.arrays, "indices") if named.get(k) is not None}
        params = {k: v for k, v in named.items() if k not in arrays and k != "bias"}
        dtype = next(a.dtype for a in arrays.values() if a.dtype.kind == "f")
        out = fam.reference({k: (v.astype(np.float64) if v.dtype.kind == "f" else v) for k, v in arrays.items()},
                            params)
        return (out[0].astype(dtype), out[1]) if isinstance(out, tuple) else out.astype(dtype)

    target.__qualname__ = f"reference_target[{op}]"
    return target
