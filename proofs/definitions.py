r"""Independent definitions: the layers written as brute-force sums, without convalg's index maps or tables.

Every function here is written from the layer's *documented semantics*
(PyTorch's), in plain Python loops, and never imports ``convalg``: the
theorems compare the library's matrices, masks and sizes against these, so an
error in the library's index relation cannot hide on both sides.

=========================  ==================================================================
definition                 rule (per axis; N-d = all axes at once)
=========================  ==================================================================
padded input               position ``j`` (relative to the input start) reads ``x[j]`` when
                           ``0 <= j < n``; outside: zero, ``j mod n`` (circular), the mirror
                           image without the edge (reflect), the nearest edge (replicate)
:func:`conv_windows`       window ``o`` covers padded positions ``s o .. s o + d(K-1)``; the
                           windows are those that fit in the padded input (counted by sliding)
:func:`conv_entries`       ``y[co, o] = Σ_{ci, k} w[co, ci, tap(k)] · xpad[g·Cin/G + ci, s o - lo + d k]``
:func:`conv_transpose_entries`
                           scatter: ``x[c, o] · w[c, co, tap(k)]`` is added to position
                           ``s o + d k`` of a buffer of length ``(m-1)s + d(K-1) + 1 + op``,
                           which is then cropped by ``lo`` at the start and ``hi`` at the end
:func:`pool_windows`       windows slide by ``s`` while they fit (floor mode) or while the
                           previous one stopped short of the end of the padded input (ceil
                           mode); a window that would start in the right padding is ignored
:func:`avg_pool_entries`   sum of the taps inside the input over the divisor:
                           ``divisor_override``, else the taps inside ``[-lo, n + hi)``
                           (``count_include_pad``) or inside ``[0, n)``
:func:`max_pool_select`    the first maximum among the taps inside the input, scanning the
                           taps in row-major order (``>``: ties go to the first)
=========================  ==================================================================

>>> conv_windows(5, 3, 2, 1, 1, 1)
3
>>> pool_windows(5, 2, 2, 1, 1, 1, ceil_mode=True)        # a fourth window would start in the right padding
[-1, 1, 3]
>>> sorted(conv_entries((3,), (2,), (1,), (1,), ((1, 0),), 1, 1, 1, [[["a", "b"]]]).items())
[((0, 0), 'b'), ((1, 0), 'a'), ((1, 1), 'b'), ((2, 1), 'a'), ((2, 2), 'b')]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "padded_source", "conv_windows", "conv_valid", "conv_entries", "conv_transpose_size", "conv_transpose_valid",
    "conv_transpose_entries", "pool_windows", "avg_pool_entries", "max_pool_windows", "max_pool_select",
    "dense",
]

MODES = ("zeros", "circular", "reflect", "replicate")


def padded_source(j: int, n: int, mode: str) -> int | None:
    """The input position that padded position ``j`` (relative to the input start) reads; ``None`` = zero."""
    if 0 <= j < n:
        return j
    if mode == "zeros":
        return None
    if mode == "circular":
        return j % n
    if mode == "replicate":
        return 0 if j < 0 else n - 1
    if mode == "reflect":
        return -j if j < 0 else 2 * (n - 1) - j
    raise ValueError(mode)


def conv_windows(n: int, K: int, s: int, d: int, lo: int, hi: int) -> int:
    """How many windows of span ``d(K-1)+1``, sliding by ``s`` from the start, fit in the padded input."""
    count = 0
    while s * count + d * (K - 1) <= n + lo + hi - 1:
        count += 1
    return count


def conv_valid(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], d: Sequence[int],
               pads: Sequence[tuple[int, int]], mode: str = "zeros") -> bool:
    """PyTorch accepts the conv: one window at least, and the pads within the mode's limit."""
    for n, k, ss, dd, (lo, hi) in zip(spatial, K, s, d, pads):
        if conv_windows(n, k, ss, dd, lo, hi) < 1:
            return False
        if mode == "reflect" and max(lo, hi) >= n:
            return False
        if mode == "circular" and max(lo, hi) > n:
            return False
    return True


def _flat(index: Sequence[int], shape: Sequence[int]) -> int:
    out = 0
    for i, n in zip(index, shape):
        out = out * n + i
    return out


def _add(entries: dict, key: tuple[int, int], value: Any) -> None:
    entries[key] = entries[key] + value if key in entries else value


def conv_entries(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], d: Sequence[int],
                 pads: Sequence[tuple[int, int]], groups: int, cin: int, cout: int, w: Any,
                 mode: str = "zeros", flip: bool = False) -> dict[tuple[int, int], Any]:
    """``{(row, col): entry}`` of ``y = A x`` for the direct sum (rows ``(co, *out)``, columns ``(c, *in)``).

    ``w[co][ci][k0][k1]...`` is indexed like PyTorch's Conv weight ``(C_out, C_in/G, *K)``.
    """
    outs = [conv_windows(n, k, a, b, lo, hi) for n, k, a, b, (lo, hi) in zip(spatial, K, s, d, pads)]
    cin_g, cout_g = cin // groups, cout // groups
    entries: dict[tuple[int, int], Any] = {}
    for co in range(cout):
        g = co // cout_g
        for ci in range(cin_g):
            c = g * cin_g + ci
            for o in itertools.product(*map(range, outs)):
                for k in itertools.product(*map(range, K)):
                    src = [padded_source(ss * oo - lo + dd * kk, n, mode)
                           for ss, oo, (lo, _), dd, kk, n in zip(s, o, pads, d, k, spatial)]
                    if None in src:
                        continue
                    tap = tuple(kk - 1 - t if flip else t for kk, t in zip(K, k))
                    value = w[co][ci]
                    for t in tap:
                        value = value[t]
                    _add(entries, (co * math.prod(outs) + _flat(o, outs), c * math.prod(spatial) + _flat(src, spatial)),
                         value)
    return entries


def conv_transpose_size(m: int, K: int, s: int, d: int, lo: int, hi: int, op: int) -> int:
    """Length of the scatter buffer, ``(m-1)s + d(K-1) + 1 + op``, less the crops ``lo`` and ``hi``."""
    return (m - 1) * s + d * (K - 1) + 1 + op - lo - hi


def conv_transpose_valid(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], d: Sequence[int],
                         pads: Sequence[tuple[int, int]], op: Sequence[int]) -> bool:
    """PyTorch accepts the transposed conv: output_padding < stride or < dilation, and a non-empty output."""
    return all((o < ss or o < dd) and conv_transpose_size(m, k, ss, dd, lo, hi, o) >= 1
               for m, k, ss, dd, (lo, hi), o in zip(spatial, K, s, d, pads, op))


def conv_transpose_entries(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], d: Sequence[int],
                           pads: Sequence[tuple[int, int]], op: Sequence[int], groups: int, cin: int, cout: int,
                           w: Any, flip: bool = False) -> dict[tuple[int, int], Any]:
    """The scatter form of ConvTranspose; ``w[c][co_in_group][k...]`` as PyTorch's ``(C_in, C_out/G, *K)``."""
    outs = [conv_transpose_size(m, k, a, b, lo, hi, o) for m, k, a, b, (lo, hi), o in zip(spatial, K, s, d, pads, op)]
    cin_g, cout_g = cin // groups, cout // groups
    entries: dict[tuple[int, int], Any] = {}
    for c in range(cin):
        g = c // cin_g
        for cg in range(cout_g):
            co = g * cout_g + cg
            for o in itertools.product(*map(range, spatial)):
                for k in itertools.product(*map(range, K)):
                    pos = [ss * oo + dd * kk - lo for ss, oo, dd, kk, (lo, _) in zip(s, o, d, k, pads)]
                    if not all(0 <= p < n for p, n in zip(pos, outs)):
                        continue  # cropped
                    tap = tuple(kk - 1 - t if flip else t for kk, t in zip(K, k))
                    value = w[c][cg]
                    for t in tap:
                        value = value[t]
                    _add(entries, (co * math.prod(outs) + _flat(pos, outs), c * math.prod(spatial) + _flat(o, spatial)),
                         value)
    return entries


def pool_windows(n: int, K: int, s: int, d: int, lo: int, hi: int, ceil_mode: bool) -> list[int]:
    """Start (input coordinates, ``-lo`` = first padded position) of every pooling window on one axis."""
    span, total = d * (K - 1) + 1, n + lo + hi
    starts = []
    p = 0  # padded coordinate of the window start
    while True:
        fits = p + span <= total
        previous_short = p - s + span < total  # the window before this one did not reach the end
        if not (fits or (ceil_mode and previous_short)):
            break
        if p >= n + lo:  # starts in the right padding: ignored
            break
        starts.append(p - lo)
        p += s
    return starts


def _window_taps(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], d: Sequence[int],
                 pads: Sequence[tuple[int, int]], ceil_mode: bool) -> tuple[list[int], list[list[tuple[int, ...]]]]:
    per_axis = [pool_windows(n, k, a, b, lo, hi, ceil_mode) for n, k, a, b, (lo, hi) in zip(spatial, K, s, d, pads)]
    outs = [len(p) for p in per_axis]
    windows = []
    for o in itertools.product(*map(range, outs)):
        windows.append([tuple(per_axis[a][o[a]] + d[a] * k[a] for a in range(len(spatial)))
                        for k in itertools.product(*map(range, K))])
    return outs, windows


def avg_pool_entries(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], pads: Sequence[tuple[int, int]],
                     ceil_mode: bool, count_include_pad: bool,
                     divisor_override: int | None) -> tuple[list[int], dict[tuple[int, int], Any]]:
    """Output sizes and ``{(row, col): 1/divisor}`` of average pooling (one channel, dilation 1)."""
    from fractions import Fraction

    outs, windows = _window_taps(spatial, K, s, [1] * len(spatial), pads, ceil_mode)
    entries: dict[tuple[int, int], Any] = {}
    for r, taps in enumerate(windows):
        inside = [t for t in taps if all(0 <= i < n for i, n in zip(t, spatial))]
        with_pad = [t for t in taps if all(-lo <= i < n + hi for i, n, (lo, hi) in zip(t, spatial, pads))]
        divisor = divisor_override if divisor_override is not None else len(with_pad if count_include_pad else inside)
        for t in inside:
            entries[(r, _flat(t, spatial))] = Fraction(1, divisor)
    return outs, entries


def max_pool_windows(spatial: Sequence[int], K: Sequence[int], s: Sequence[int], d: Sequence[int],
                     pads: Sequence[tuple[int, int]], ceil_mode: bool) -> tuple[list[int], list[list[int]]]:
    """Output sizes and, per output (row-major), the flat input positions of its taps inside the input, in scan order."""
    outs, windows = _window_taps(spatial, K, s, d, pads, ceil_mode)
    return outs, [[_flat(t, spatial) for t in taps if all(0 <= i < n for i, n in zip(t, spatial))]
                  for taps in windows]


def max_pool_select(windows: Sequence[Sequence[int]], values: Sequence[Any]) -> list[int]:
    """Per window, the flat input position of its first maximum (``values`` flat, comparable)."""
    out = []
    for taps in windows:
        best = taps[0]
        for t in taps[1:]:
            if values[t] > values[best]:
                best = t
        out.append(best)
    return out


def dense(rows: int, cols: int, entries: dict[tuple[int, int], Any]) -> list[list[Any]]:
    """A list-of-rows matrix from an entry dict (zeros elsewhere)."""
    out = [[0] * cols for _ in range(rows)]
    for (r, c), v in entries.items():
        out[r][c] = v
    return out
