"""Max pooling as a selection operator: the mask ``M`` with ``y = M x`` and ``dL/dx = M^T g``.

PyTorch's CPU rule (``aten/src/ATen/native/cpu/MaxPoolKernel.cpp``), scanning
each window's taps in row-major order over the taps that lie inside the input
(padding acts as ``-inf``)::

    maxval = -inf; maxindex = first tap inside the input
    for each tap:  if (val > maxval) or isnan(val): maxval, maxindex = val, tap

so ties go to the **first** maximum and, with NaNs present, the **last** NaN
wins.  Every row of ``M`` has exactly one 1; overlapping windows may select
the same input, and then ``M^T g`` adds their gradients.  ``indices`` follow
PyTorch's ``return_indices`` format: the flat position in the unpadded
``(N, C)`` plane.

>>> import numpy as np
>>> from convalg import MaxPool
>>> sel = max_pool_mask(MaxPool(2, stride=1, ndim=1), np.array([[1.0, 3.0, 3.0, 2.0]]))
>>> sel.mask
Matrix([
[0, 1, 0, 0],
[0, 1, 0, 0],
[0, 0, 1, 0]])
>>> sel.indices, sel.output
(array([[1, 1, 2]]), array([[3., 3., 3.]]))
>>> sel.grad(np.array([[1.0, 10.0, 100.0]]))
array([[  0.,  11., 100.,   0.]])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from .budget import Budget, check_budget
from .tables import adaptive_table, axis_table, concrete_map

__all__ = ["MaxPoolSelection", "max_pool_mask", "max_pool_mask_symbolic", "window_candidates", "COMPARISON_COST"]


@dataclass(frozen=True)
class MaxPoolSelection:
    """The result of :func:`max_pool_mask`.

    ``mask``: ``SparseMatrix`` with rows the flattened output ``([N,] C, *out)``
    and columns the flattened input; ``indices`` (numeric input only):
    PyTorch-format argmax per output; ``output``: ``M x`` shaped like the output.
    """

    mask: sp.SparseMatrix
    indices: np.ndarray | None
    output: np.ndarray
    input_shape: tuple[int, ...]

    def grad(self, g: Any) -> np.ndarray:
        """``dL/dx = M^T g`` (numeric ``g`` shaped like the output), gradients of shared inputs added."""
        g = np.asarray(g)
        if g.shape != self.output.shape:
            raise SpecError(f"g: shape {g.shape} does not match the output shape {self.output.shape}")
        out = np.zeros(int(np.prod(self.input_shape)), dtype=np.result_type(g.dtype, np.float64))
        for (r, c), v in self.mask.todok().items():
            out[c] += float(v) * g.reshape(-1)[r]
        return out.reshape(self.input_shape)


#: A symbolic mask entry compares its tap with every other tap of the window; one SymPy relational inside
#: ``Piecewise(And(...))`` costs ~0.7 ms, so each comparison counts as this many stored entries of the budget
#: (default budget: ~10,000 comparisons, a few seconds).
COMPARISON_COST = 25


def window_candidates(layer: Any, spatial: tuple[int, ...]) -> tuple[Any, list[list[int]]]:
    """Index map and, per flat output position, the flat input positions of its taps in row-major scan order."""
    m = concrete_map(layer, spatial)
    if m.kind == "max_pool":
        tables = [axis_table(a, "zeros") for a in m.axes]
    elif m.kind == "adaptive_max_pool":
        tables = [adaptive_table(a) for a in m.axes]
    else:
        raise SpecError(f"layer={layer!r}: not a max pool (MaxPool, AdaptiveMaxPool, GlobalMaxPool)")
    per_axis = []
    for t in tables:
        lists: list[list[int]] = [[] for _ in range(t.n_out)]
        for k in range(t.taps):  # k ascending: scan order along this axis
            for o, i in zip(t.o[k].tolist(), t.i[k].tolist()):
                lists[o].append(i)
        per_axis.append(lists)
    out = []
    for o in itertools.product(*(range(t.n_out) for t in tables)):
        taps = itertools.product(*(per_axis[a][oa] for a, oa in enumerate(o)))
        flat = [int(np.ravel_multi_index(i, spatial)) for i in taps]
        if not flat:
            raise SpecError(
                f"layer={layer!r}: at input size {spatial} the window of output {o} reads only padding "
                "(PyTorch returns -inf there with an index outside the input); no selection matrix exists"
            )
        out.append(flat)
    return m, out


def _split(layer: Any, x: Any, batched: bool | None) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    arr = np.asarray(x)
    if layer.ndim is not None:
        if arr.ndim not in (layer.ndim + 1, layer.ndim + 2):
            raise SpecError(f"x: shape {arr.shape}: expected (C, *spatial) or (N, C, *spatial) with {layer.ndim} "
                            "spatial dims")
        batched = arr.ndim == layer.ndim + 2
    elif batched is None:
        batched = False
    lead = 2 if batched else 1
    if arr.ndim <= lead:
        raise SpecError(f"x: shape {arr.shape} has no spatial dims")
    return arr, arr.shape[:lead], arr.shape[lead:]


def _is_real_number(v: Any) -> bool:
    if isinstance(v, sp.Basic):
        return bool(v.is_number) and (v.is_extended_real is True or v is sp.nan)
    return isinstance(v, (int, float, np.integer, np.floating, np.bool_))


def _is_symbolic(arr: np.ndarray) -> bool:
    return arr.dtype == object and any(isinstance(v, sp.Basic) and not v.is_number for v in arr.flat)


def max_pool_mask(layer: Any, x: Any, *, batched: bool | None = None, budget: Budget | None = None) -> MaxPoolSelection:
    """The selection mask of ``layer`` (MaxPool / AdaptiveMaxPool / GlobalMaxPool) for input ``x``.

    ``x``: ``(C, *spatial)`` or ``(N, C, *spatial)`` (NumPy; for a layer
    without ``ndim``, ``(C, *spatial)`` unless ``batched=True``).  A symbolic
    ``x`` (object array of SymPy expressions) gives ``Piecewise`` entries, see
    :func:`max_pool_mask_symbolic`.

    >>> from convalg import AdaptiveMaxPool
    >>> sel = max_pool_mask(AdaptiveMaxPool(2), np.array([[4.0, 1.0, 1.0, 4.0, 2.0]]))   # windows [0,3) [2,5)
    >>> sel.indices, sel.output
    (array([[0, 3]]), array([[4., 4.]]))
    """
    arr, lead, spatial = _split(layer, x, batched)
    m, cands = window_candidates(layer, spatial)
    planes, size_in, size_out = math.prod(lead), math.prod(spatial), len(cands)
    check_budget(planes * size_out, planes * size_in, planes * size_out, type(layer).__name__, budget)
    if _is_symbolic(arr):
        return max_pool_mask_symbolic(layer, arr, batched=len(lead) == 2, budget=budget)
    if arr.dtype.kind not in "fiub" and not (arr.dtype == object and all(_is_real_number(v) for v in arr.flat)):
        raise TypeError(f"x: expected real numbers or SymPy expressions, got dtype {arr.dtype}")
    flat = arr.reshape(planes, size_in).astype(np.float64)
    indices = np.empty((planes, size_out), dtype=np.int64)
    entries = {}
    for p in range(planes):
        row = flat[p]
        for r, taps in enumerate(cands):
            maxval, best = -np.inf, taps[0]
            for t in taps:
                val = row[t]
                if val > maxval or np.isnan(val):
                    maxval, best = val, t
            indices[p, r] = best
            entries[(p * size_out + r, p * size_in + best)] = sp.Integer(1)
    mask = sp.SparseMatrix(planes * size_out, planes * size_in, entries)
    out_shape = (*lead, *m.output_shape)
    output = np.take_along_axis(arr.reshape(planes, size_in), indices, axis=1).reshape(out_shape)
    return MaxPoolSelection(mask, indices.reshape(out_shape), output, arr.shape)


def max_pool_mask_symbolic(layer: Any, x: Any, *, batched: bool | None = None,
                           budget: Budget | None = None) -> MaxPoolSelection:
    """The mask for a symbolic input: tap ``j`` of a window is selected iff ``x_j > x_l`` for every
    earlier tap ``l`` and ``x_j >= x_l`` for every later one (first maximum; NaN is not modelled).

    >>> import sympy as sp
    >>> from convalg import MaxPool
    >>> a, b = sp.symbols("a b")
    >>> max_pool_mask_symbolic(MaxPool(2, ndim=1), np.array([[a, b]], dtype=object)).mask
    Matrix([[Piecewise((1, a >= b), (0, True)), Piecewise((1, a < b), (0, True))]])
    """
    arr, lead, spatial = _split(layer, np.asarray(x, dtype=object), batched)
    m, cands = window_candidates(layer, spatial)
    planes, size_in, size_out = math.prod(lead), math.prod(spatial), len(cands)
    taps = sum(len(c) for c in cands)
    comparisons = planes * sum(len(c) * (len(c) - 1) for c in cands)
    what = f"symbolic {type(layer).__name__} mask ({comparisons} comparisons, {COMPARISON_COST} entries each)"
    check_budget(planes * size_out, planes * size_in, max(planes * taps, COMPARISON_COST * comparisons), what, budget)
    flat = arr.reshape(planes, size_in)
    entries = {}
    for p in range(planes):
        for r, taps in enumerate(cands):
            for j, t in enumerate(taps):
                conds = [sp.StrictGreaterThan(flat[p, t], flat[p, u]) for u in taps[:j]]
                conds += [sp.GreaterThan(flat[p, t], flat[p, u]) for u in taps[j + 1:]]
                cond = sp.And(*conds)
                entry = sp.Integer(1) if cond is sp.true else sp.Piecewise((1, cond), (0, True))
                if entry != 0:
                    entries[(p * size_out + r, p * size_in + t)] = entry
    mask = sp.SparseMatrix(planes * size_out, planes * size_in, entries)
    output = np.array(list(mask * sp.Matrix(flat.reshape(-1).tolist())), dtype=object)
    return MaxPoolSelection(mask, None, output.reshape((*lead, *m.output_shape)), arr.shape)
