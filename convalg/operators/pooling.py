"""Average-pooling operators: exact ``Rational`` entries from the index map.

=========================  ================================================================
layer                      entry ``A[(c, o), (c, i)]`` for each valid tap ``i``
=========================  ================================================================
``AvgPool``                ``1/divisor(o)``; ``divisor_override`` if set, else the
                           product over axes of ``AxisMap.window_size(count_include_pad)``
``AdaptiveAvgPool``        ``1/prod(stop(o) - start(o))`` (``AdaptiveAxisMap`` windows)
``GlobalAvgPool``          ``1/prod(n)``
=========================  ================================================================

Pooling acts per channel: the ``C``-channel matrix is block diagonal with
``C`` equal blocks.

>>> from convalg import AvgPool
>>> pool_matrix(AvgPool(3, stride=2, padding=1, count_include_pad=False, ndim=1), (4,))
Matrix([
[1/2, 1/2,   0,   0],
[  0, 1/3, 1/3, 1/3]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..checks import check_int
from ..errors import SpecError
from ..index_map import AxisMap
from .budget import Budget, check_budget
from .tables import adaptive_table, axis_table, combine, concrete_map, sparse_from_dict, tap_tuples

__all__ = ["pool_matrix", "avg_divisors"]


def avg_divisors(m: Any) -> np.ndarray:
    """Divisor of every output position of an average-pool index map (int array, output shape)."""
    layer = m.layer
    if m.kind == "avg_pool":
        if layer.divisor_override is not None:
            return np.full(m.output_shape, layer.divisor_override, dtype=object)
        per_axis = []
        for a in m.axes:
            assert isinstance(a, AxisMap)
            f = sp.lambdify(a.o, a.window_size(layer.count_include_pad), "math")
            per_axis.append(np.array([int(f(o)) for o in range(int(a.n_out))], dtype=object))
    else:
        per_axis = [np.array([a.stop(o) - a.start(o) for o in range(int(a.n_out))], dtype=object) for a in m.axes]
    out = per_axis[0]
    for v in per_axis[1:]:
        out = np.multiply.outer(out, v)
    return out


def pool_matrix(layer: Any, spatial: Sequence[int], channels: int = 1, budget: Budget | None = None) -> sp.SparseMatrix:
    """The matrix of an ``AvgPool`` / ``AdaptiveAvgPool`` / ``GlobalAvgPool`` on ``channels`` channels.

    >>> from convalg import AvgPool
    >>> pool_matrix(AvgPool(2, padding=1, count_include_pad=False, ndim=1), (3,))
    Matrix([
    [1,   0,   0],
    [0, 1/2, 1/2]])
    """
    channels = check_int("in_channels", channels, minimum=1)
    m = concrete_map(layer, spatial)
    if m.kind not in ("avg_pool", "adaptive_avg_pool"):
        raise SpecError(f"layer={layer!r}: not an average pool")
    if m.kind == "avg_pool":
        tables = [axis_table(a, "zeros") for a in m.axes]
    else:
        tables = [adaptive_table(a) for a in m.axes]
    size_in, size_out = math.prod(m.input_shape), math.prod(m.output_shape)
    nnz = channels * math.prod(t.n_out * t.taps for t in tables)
    check_budget(channels * size_out, channels * size_in, nnz, type(layer).__name__, budget)
    divisors = avg_divisors(m).reshape(-1)
    weights = [sp.Rational(1, int(d)) for d in divisors]
    entries: dict[tuple[int, int], Any] = {}
    for ks in tap_tuples(tables):
        rows, cols = combine(tables, ks)
        for r, c in zip(rows.tolist(), cols.tolist()):
            for ch in range(channels):
                entries[(ch * size_out + r, ch * size_in + c)] = weights[r]
    return sparse_from_dict(channels * size_out, channels * size_in, entries)
