"""Concrete index tables evaluated from the symbolic index map (the only index arithmetic here).

For one spatial axis, :func:`axis_table` evaluates the :class:`~convalg.index_map.AxisMap`
expressions ``input_index`` / ``valid`` / ``padded_index(mode)`` / ``tap(flip)``
(lambdified to exact Python integers) at every ``(o, k)`` and keeps the pairs
that read the input.  :func:`adaptive_table` does the same for an
:class:`~convalg.index_map.AdaptiveAxisMap`.  Every operator in this package
is a product of these per-axis tables with the channel blocks on top.

>>> from convalg.index_map import AxisMap
>>> t = axis_table(AxisMap(n=4, n_out=4, kernel=3, lo=1, hi=1), "circular")
>>> [(int(o), int(i)) for o, i in zip(t.o[0], t.i[0])]   # tap 0 wraps o=0 to i=3
[(0, 3), (1, 0), (2, 1), (3, 2)]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ..checks import check_int, check_spatial
from ..errors import SpecError
from ..index_map import AdaptiveAxisMap, AxisMap, IndexMap, index_map
from ..vocabulary import CONV_KINDS, kind_of

__all__ = ["AxisTable", "axis_table", "adaptive_table", "concrete_map", "tap_tuples", "combine", "resolve_channels",
           "sparse_from_dict"]


@dataclass(frozen=True)
class AxisTable:
    """Per tap ``k`` (list position): the outputs ``o[k]`` that read input ``i[k]`` with weight index ``tap[k]``."""

    n: int
    n_out: int
    o: tuple[np.ndarray, ...]
    i: tuple[np.ndarray, ...]
    tap: tuple[int, ...]

    @property
    def taps(self) -> int:
        return len(self.o)


def _frozen(values: list[int]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.int64)
    arr.flags.writeable = False
    return arr


@lru_cache(maxsize=512)
def axis_table(axis: AxisMap, mode: str = "zeros", flip: bool = False) -> AxisTable:
    """Evaluate ``axis`` (concrete sizes) at every ``(o, k)``.

    ``mode='zeros'`` keeps the pairs where ``valid`` holds, with
    ``i = input_index``; other modes keep every pair with
    ``i = padded_index(mode)`` (the fold back into the input).
    """
    n, n_out, kernel = (int(v) for v in (axis.n, axis.n_out, axis.kernel))
    f = sp.lambdify((axis.o, axis.k), (axis.valid, axis.padded_index(mode), axis.tap(flip)), "math")
    os_, is_, taps = [], [], []
    for k in range(kernel):
        o_k, i_k, tap = [], [], None
        for o in range(n_out):
            valid, i, tap = f(o, k)
            if mode == "zeros" and not valid:
                continue
            if not 0 <= i < n:  # a fold outside [0, n) means the padding limit was broken
                raise SpecError(f"padding_mode={mode!r}: tap {k} of output {o} folds to {i}, outside [0, {n})")
            o_k.append(o)
            i_k.append(int(i))
        if tap is None:
            tap = int(f(0, k)[2])
        os_.append(_frozen(o_k))
        is_.append(_frozen(i_k))
        taps.append(int(tap))
    return AxisTable(n, n_out, tuple(os_), tuple(is_), tuple(taps))


@lru_cache(maxsize=512)
def adaptive_table(axis: AdaptiveAxisMap) -> AxisTable:
    """Evaluate an adaptive window map: tap ``k`` of output ``o`` reads ``start(o) + k`` while ``< stop(o)``."""
    n, n_out = int(axis.n), int(axis.n_out)
    windows = [(int(axis.start(o)), int(axis.stop(o))) for o in range(n_out)]
    width = max(stop - start for start, stop in windows)
    os_, is_ = [], []
    for k in range(width):
        pairs = [(o, start + k) for o, (start, stop) in enumerate(windows) if start + k < stop]
        os_.append(_frozen([p[0] for p in pairs]))
        is_.append(_frozen([p[1] for p in pairs]))
    return AxisTable(n, n_out, tuple(os_), tuple(is_), tuple(range(width)))


def concrete_map(layer: Any, spatial: Sequence[Any]) -> IndexMap:
    """The index map of ``layer`` at concrete sizes (``SpecError`` for symbolic ones)."""
    if kind_of(layer) == "sequential":
        raise SpecError("layer: a Sequential has no single matrix here; build one matrix per layer and multiply")
    spatial = check_spatial(spatial, layer.ndim)
    for a, n in enumerate(spatial):
        if not isinstance(n, int):
            raise SpecError(
                f"input[{a}]={n}: a concrete operator matrix needs concrete sizes; "
                "use layer.index_map(spatial) for the symbolic form"
            )
    m = index_map(layer, spatial)
    for a, n in enumerate(m.output_shape):
        if not isinstance(n, int):
            raise SpecError(f"output[{a}]={n}: not concrete (symbolic padding?); use layer.index_map(spatial)")
    return m


def resolve_channels(layer: Any, in_channels: int | None, spatial: Sequence[Any] | None = None) -> Any:
    """``layer`` with ``in_channels`` filled in from the argument (checked against the layer and groups).

    With ``spatial``, a layer without ``ndim`` is first bound to ``len(spatial)`` dims.
    """
    if kind_of(layer) not in CONV_KINDS:
        return layer
    if spatial is not None and layer.ndim is None:
        layer = layer.bind(len(check_spatial(spatial, None)))
    if in_channels is not None:
        in_channels = check_int("in_channels", in_channels, minimum=1)
        if layer.in_channels is None:
            layer = layer.replace(in_channels=in_channels)
        elif layer.in_channels != in_channels:
            raise SpecError(f"in_channels={in_channels}: the layer has in_channels={layer.in_channels}")
    if layer.in_channels is None:
        raise SpecError(f"in_channels: missing for {layer!r}; pass in_channels=... or set it on the layer")
    if layer.out_channels is None:
        raise SpecError(f"out_channels: missing for {layer!r}; set out_channels on the layer")
    return layer


def tap_tuples(tables: Sequence[AxisTable]) -> itertools.product:
    """All N-d taps ``(k0, k1, ...)`` in row-major order."""
    return itertools.product(*(range(t.taps) for t in tables))


def combine(tables: Sequence[AxisTable], ks: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Flat (row-major) output and input positions of every N-d output that N-d tap ``ks`` connects."""
    os_ = [t.o[k] for t, k in zip(tables, ks)]
    is_ = [t.i[k] for t, k in zip(tables, ks)]
    if any(len(o) == 0 for o in os_):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    out_shape = tuple(t.n_out for t in tables)
    in_shape = tuple(t.n for t in tables)
    rows = np.ravel_multi_index(np.meshgrid(*os_, indexing="ij"), out_shape).ravel()
    cols = np.ravel_multi_index(np.meshgrid(*is_, indexing="ij"), in_shape).ravel()
    return rows, cols


def sparse_from_dict(rows: int, cols: int, entries: dict[tuple[int, int], Any]) -> sp.SparseMatrix:
    """A ``SparseMatrix`` from a ``{(r, c): value}`` dict, zero values dropped."""
    clean = {}
    for key, v in entries.items():
        v = sp.sympify(v)
        if v != 0:
            clean[key] = v
    return sp.SparseMatrix(rows, cols, clean)
