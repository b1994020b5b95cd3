"""Access to convalg's operator layer for the theorems (a clear failure when it is missing)."""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import sympy as sp

from ._core import MissingDependency

__all__ = ["ops", "mat", "vec", "symbols_like", "conv_vs_definition", "conv_transpose_vs_definition"]


def ops() -> Any:
    """``convalg.operators`` or :class:`MissingDependency`."""
    try:
        return importlib.import_module("convalg.operators")
    except ImportError as e:  # pragma: no cover - depends on the checkout
        raise MissingDependency(f"convalg.operators is not importable ({e})") from e


def mat(layer: Any, spatial: tuple[int, ...], **kw: Any) -> sp.SparseMatrix:
    """The library's operator matrix of ``layer``."""
    return ops().matrix(layer, spatial, **kw)


def symbols_like(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of fresh real SymPy symbols ``prefix_i_j...``."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(prefix + "_" + "_".join(map(str, idx)), real=True)
    return out


def vec(arr: np.ndarray) -> sp.Matrix:
    """Flatten an object array (row-major) into a column vector."""
    return sp.Matrix(list(np.asarray(arr, dtype=object).reshape(-1)))


def _tuple(v: Any, nd: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def conv_vs_definition(cases: Any, spatial: tuple[int, ...], K: Any, s: Any = 1, d: Any = 1, pads: Any = ((0, 0),),
                       groups: int = 1, cin: int = 1, cout: int = 1, mode: str = "zeros", flip: bool = False,
                       weights: Any = None) -> Any:
    """Build ``Conv`` from explicit parameters, compare its matrix with the direct sum; ``(conv, A)`` or ``None``.

    A ``SpecError`` is accepted only where PyTorch rejects the case too (counted); the comparison is counted
    as ``matrices vs definition``.
    """
    from convalg import Conv

    from . import definitions as D
    from ._core import same_entries

    nd = len(spatial)
    K, s, d = _tuple(K, nd), _tuple(s, nd), _tuple(d, nd)
    pads = tuple(pads) if len(pads) == nd else tuple(pads) * nd
    where = f"Conv(K={K}, s={s}, d={d}, pads={pads}, groups={groups}, C={cin}->{cout}, {mode}, flip={flip}) at {spatial}"
    ok = D.conv_valid(spatial, K, s, d, pads, mode)

    def build() -> Any:
        conv = Conv(K, stride=s, padding=pads, dilation=d, groups=groups, padding_mode=mode, flip_kernel=flip,
                    in_channels=cin, out_channels=cout, ndim=nd)
        return conv, mat(conv, spatial, weights=weights)

    got = cases.expect_rejection(where, ok, build)
    if got is None:
        return None
    conv, A = got
    w = conv.weight_symbols if weights is None else weights
    outs = [D.conv_windows(*a) for a in zip(spatial, K, s, d, *zip(*pads))]
    entries = D.conv_entries(spatial, K, s, d, pads, groups, cin, cout, w, mode, flip)
    same_entries(A, entries, (cout * math.prod(outs), cin * math.prod(spatial)), where + ": matrix vs direct sum")
    cases.add("matrices vs definition")
    return conv, A


def conv_transpose_vs_definition(cases: Any, spatial: tuple[int, ...], K: Any, s: Any = 1, d: Any = 1,
                                 pads: Any = ((0, 0),), op: Any = 0, groups: int = 1, cin: int = 1, cout: int = 1,
                                 flip: bool = False, weights: Any = None) -> Any:
    """As :func:`conv_vs_definition` for ``ConvTranspose`` against the scatter definition."""
    from convalg import ConvTranspose

    from . import definitions as D
    from ._core import same_entries

    nd = len(spatial)
    K, s, d, op = _tuple(K, nd), _tuple(s, nd), _tuple(d, nd), _tuple(op, nd)
    pads = tuple(pads) if len(pads) == nd else tuple(pads) * nd
    where = (f"ConvTranspose(K={K}, s={s}, d={d}, pads={pads}, op={op}, groups={groups}, C={cin}->{cout}, "
             f"flip={flip}) at {spatial}")
    ok = D.conv_transpose_valid(spatial, K, s, d, pads, op)

    def build() -> Any:
        t = ConvTranspose(K, stride=s, padding=pads, output_padding=op, dilation=d, groups=groups, flip_kernel=flip,
                          in_channels=cin, out_channels=cout, ndim=nd)
        return t, mat(t, spatial, weights=weights)

    got = cases.expect_rejection(where, ok, build)
    if got is None:
        return None
    t, A = got
    w = t.weight_symbols if weights is None else weights
    outs = [D.conv_transpose_size(m, k, a, b, lo, hi, o) for m, k, a, b, (lo, hi), o in zip(spatial, K, s, d, pads, op)]
    entries = D.conv_transpose_entries(spatial, K, s, d, pads, op, groups, cin, cout, w, flip)
    same_entries(A, entries, (cout * math.prod(outs), cin * math.prod(spatial)), where + ": matrix vs scatter")
    cases.add("matrices vs definition")
    return t, A
