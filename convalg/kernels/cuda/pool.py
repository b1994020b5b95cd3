"""Pooling, unfold and fold kernels, generated from the index map (one thread per output element).

``planes`` (the ``int`` launch parameter, passed as ``numpy.int32``) is ``N * C``:
pooling acts on each (batch, channel) plane alike.

================================  ==============================================================
kernel                            rule (PyTorch's pooling semantics)
================================  ==============================================================
``max_pool``                      first maximum in row-major window scan wins ties; NaN
                                  propagates (the last NaN's index); taps outside the input
                                  are skipped (= -inf padding); index = flat position in the
                                  unpadded plane (int64)
``max_pool_grad`` (gather)        input ``i`` sums ``dy[o]`` over taps with ``gather_condition``
                                  and ``indices[o] == i``: no atomics, fixed order
``segment_sum``                   max-pool gradient without window geometry: CSR segments of
                                  the sorted indices summed in order (deterministic)
``avg_pool`` / ``avg_pool_grad``  divisor ``prod window_size(count_include_pad)`` or override
``adaptive_pool``                 :class:`~convalg.index_map.AdaptiveAxisMap` windows
``unfold`` / ``fold``             im2col (``valid`` taps) / col2im in gather form
================================  ==============================================================

>>> from convalg import MaxPool
>>> from convalg.index_map import index_map
>>> ks = max_pool(index_map(MaxPool(2), (4, 4)))
>>> ks.grid(3), "isnan" in ks.body
((1, 1, 1), True)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import sympy as sp

from ...index_map import IndexMap
from .codegen import Emitter, elementwise_kernel, ravel, skip_ungathered, spec_tag, sym, tap_loops, thread_prologue

if TYPE_CHECKING:
    from .codegen import KernelSource

__all__ = ["max_pool", "max_pool_grad", "segment_sum", "avg_pool", "avg_pool_grad", "adaptive_pool", "unfold",
           "fold"]

_P = "const float* __restrict__"
# first maximum wins, the last NaN wins; compared as ordered ints (cv_order_key), so subnormals order
# exactly even where float compares flush them to zero
_MAX_UPDATE = ("{ const int key = cv_order_key(v); "
               "if (arg < 0 || key > best_key || isnan(v)) { best = v; best_key = key; arg = pos; } }")
_W = "float* __restrict__"


def _sizes(imap: IndexMap) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(int(s) for s in imap.input_shape), tuple(int(s) for s in imap.output_shape)


def _per_element(imap: IndexMap, prefix: str, *spec: object, gather: bool = False, tag: str | None = None,
                 ) -> tuple[Emitter, sp.Symbol, int, str, tuple[int, ...], tuple[int, ...]]:
    """Start a one-thread-per-element kernel over the output (``o`` side) or, ``gather``, the input (``i`` side):
    its emitter, plane symbol, element count per plane, name (``cv_<prefix>_<hash of tag and spec>``) and the
    (input, output) spatial sizes."""
    in_sp, out_sp = _sizes(imap)
    coords, sizes = (imap.i, in_sp) if gather else (imap.o, out_sp)
    em = Emitter([*imap.k, *imap.i] if gather else [*imap.o, *imap.k])
    items = math.prod(sizes)
    plane = thread_prologue(em, "planes", items, coords, sizes)
    return em, plane, items, f"cv_{prefix}_" + spec_tag(tag or prefix, *spec), in_sp, out_sp


def _max_state(em: Emitter) -> None:
    em.line("float best = 0.0f;")
    em.line("int best_key = 0;")
    em.line("long long arg = -1;")


def _max_result(em: Emitter) -> None:
    em.line("y[t] = best;")
    em.line("indices[t] = arg;")


def _divisor(imap: IndexMap, count_include_pad: bool, divisor_override: int | None) -> sp.Expr:
    if divisor_override is not None:
        return sp.Integer(divisor_override)
    return sp.Mul(*[a.window_size(count_include_pad) for a in imap.axes])


def max_pool(imap: IndexMap) -> KernelSource:
    """Max pooling with int64 indices (params ``x, y, indices, planes``)."""
    em, plane, items, name, in_sp, _ = _per_element(imap, "maxpool", imap.axes)
    _max_state(em)
    tap_loops(em, imap.k, imap.kernel_size)
    em.line(f"if (!({em.expr(imap.valid)})) continue;")
    pos = ravel(imap.input_index, in_sp)
    em.line(f"const int pos = {em.expr(pos)};")
    em.line(f"const float v = x[{em.expr(plane * math.prod(in_sp))} + pos];")
    em.line(_MAX_UPDATE)
    for _ in imap.k:
        em.close()
    _max_result(em)
    return elementwise_kernel(name, ((_P, "x"), (_W, "y"), ("long long* __restrict__", "indices"), ("int", "planes")), em, items)


def max_pool_grad(imap: IndexMap) -> KernelSource:
    """Gather-form max-pool gradient (params ``dy, indices, dx, planes``)."""
    em, plane, items, name, in_sp, out_sp = _per_element(imap, "maxpoolgrad", imap.axes, gather=True)
    em.line("float acc = 0.0f;")
    tap_loops(em, imap.k, imap.kernel_size)
    skip_ungathered(em, imap)
    out_off = plane * math.prod(out_sp) + ravel(imap.o, out_sp)
    em.line(f"const int src = {em.expr(out_off)};")
    em.line(f"if (indices[src] == {em.expr(ravel(imap.i, in_sp))}) acc += dy[src];")
    for _ in imap.k:
        em.close()
    em.line("dx[t] = acc;")
    return elementwise_kernel(name, ((_P, "dy"), ("const long long* __restrict__", "indices"), (_W, "dx"), ("int", "planes")),
                   em, items)


def segment_sum(items: int) -> KernelSource:
    """``dx[e] = sum dy[order[j]]`` for ``j`` in ``[start[e], start[e + 1])`` (``planes * items`` elements).

    ``order`` sorts the flat targets ``plane * items + indices`` (stable), ``start``
    are the segment bounds (``searchsorted``): a deterministic scatter-add.
    """
    name = f"cv_segment_sum_{items}"
    em = Emitter()
    thread_prologue(em, "planes", items)
    em.line("float acc = 0.0f;")
    em.line("for (long long j = start[t]; j < start[t + 1]; ++j) acc += dy[order[j]];")
    em.line("dx[t] = acc;")
    params = ((_P, "dy"), ("const long long* __restrict__", "order"), ("const long long* __restrict__", "start"),
              (_W, "dx"), ("int", "planes"))
    return elementwise_kernel(name, params, em, items)


def avg_pool(imap: IndexMap, count_include_pad: bool = True, divisor_override: int | None = None) -> KernelSource:
    """Average pooling (params ``x, y, planes``)."""
    em, plane, items, name, in_sp, _ = _per_element(imap, "avgpool", imap.axes, count_include_pad, divisor_override)
    em.line("float acc = 0.0f;")
    tap_loops(em, imap.k, imap.kernel_size)
    off = plane * math.prod(in_sp) + ravel(imap.input_index, in_sp)
    em.line(f"if ({em.expr(imap.valid)}) acc += x[{em.expr(off)}];")
    for _ in imap.k:
        em.close()
    em.line(f"y[t] = acc / (float)({em.expr(_divisor(imap, count_include_pad, divisor_override))});")
    return elementwise_kernel(name, ((_P, "x"), (_W, "y"), ("int", "planes")), em, items)


def avg_pool_grad(imap: IndexMap, count_include_pad: bool = True,
                  divisor_override: int | None = None) -> KernelSource:
    """Gather-form average-pool gradient (params ``dy, dx, planes``)."""
    em, plane, items, name, _, out_sp = _per_element(imap, "avgpoolgrad", imap.axes, count_include_pad,
                                                     divisor_override, gather=True)
    em.line("float acc = 0.0f;")
    tap_loops(em, imap.k, imap.kernel_size)
    skip_ungathered(em, imap)
    em.nonneg.update(imap.o)
    off = plane * math.prod(out_sp) + ravel(imap.o, out_sp)
    em.line(f"acc += dy[{em.expr(off)}] / (float)({em.expr(_divisor(imap, count_include_pad, divisor_override))});")
    for _ in imap.k:
        em.close()
    em.line("dx[t] = acc;")
    return elementwise_kernel(name, ((_P, "dy"), (_W, "dx"), ("int", "planes")), em, items)


def adaptive_pool(imap: IndexMap) -> KernelSource:
    """Adaptive average (params ``x, y, planes``) or max (``x, y, indices, planes``) pooling."""
    is_max = imap.kind == "adaptive_max_pool"
    em, plane, items, name, in_sp, _ = _per_element(imap, "adaptive", imap.axes, tag=imap.kind)
    if is_max:
        _max_state(em)
    else:
        em.line("float acc = 0.0f;")
    tap_loops(em, imap.k, tuple(a.max_window for a in imap.axes))
    em.line(f"if (!({em.expr(imap.valid)})) continue;")
    em.line(f"const int pos = {em.expr(ravel(imap.input_index, in_sp))};")
    em.line(f"const float v = x[{em.expr(plane * math.prod(in_sp))} + pos];")
    em.line(_MAX_UPDATE if is_max else "acc += v;")
    for _ in imap.k:
        em.close()
    if is_max:
        _max_result(em)
        params = ((_P, "x"), (_W, "y"), ("long long* __restrict__", "indices"), ("int", "planes"))
    else:
        count = sp.Mul(*[a.window_end - a.window_start for a in imap.axes])
        em.line(f"y[t] = acc / (float)({em.expr(count)});")
        params = ((_P, "x"), (_W, "y"), ("int", "planes"))
    return elementwise_kernel(name, params, em, items)


def unfold(imap: IndexMap, channels: int) -> KernelSource:
    """im2col: ``cols[n, c*K + k, o] = x[n, c, input_index]`` (0 where not ``valid``); ``planes`` = N."""
    in_sp, out_sp = _sizes(imap)
    kernel = imap.kernel_size
    items = channels * math.prod(kernel) * math.prod(out_sp)
    name = "cv_unfold_" + spec_tag("unfold", imap.axes, channels)
    c = sym("c")
    em = Emitter([*imap.o, *imap.k])
    n = thread_prologue(em, "planes", items, (c, *imap.k, *imap.o), (channels, *kernel, *out_sp))
    off = ravel((n, c, *imap.input_index), (None, channels, *in_sp))
    em.line(f"y[t] = ({em.expr(imap.valid)}) ? x[{em.expr(off)}] : 0.0f;")
    return elementwise_kernel(name, ((_P, "x"), (_W, "y"), ("int", "planes")), em, items)


def fold(imap: IndexMap, channels: int) -> KernelSource:
    """col2im in gather form: ``x[n, c, i] = sum_k cols[n, c*K + k, gather_output(i, k)]``; ``planes`` = N."""
    in_sp, out_sp = _sizes(imap)
    kernel = imap.kernel_size
    items = channels * math.prod(in_sp)
    name = "cv_fold_" + spec_tag("fold", imap.axes, channels)
    c = sym("c")
    em = Emitter([*imap.k, *imap.i])
    n = thread_prologue(em, "planes", items, (c, *imap.i), (channels, *in_sp))
    em.line("float acc = 0.0f;")
    tap_loops(em, imap.k, kernel)
    skip_ungathered(em, imap)
    em.nonneg.update(imap.o)
    off = ravel((n, c, *imap.k, *imap.o), (None, channels, *kernel, *out_sp))
    em.line(f"acc += cols[{em.expr(off)}];")
    for _ in kernel:
        em.close()
    em.line("x[t] = acc;")
    return elementwise_kernel(name, ((_P, "cols"), (_W, "x"), ("int", "planes")), em, items)
