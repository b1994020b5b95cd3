"""Brute-force window counts written from the window semantics, never from a size formula.

Every function enumerates window positions (or scattered writes) one by one on
one axis and counts those the semantics admit.  Coordinates: input elements
are ``0 .. n-1``; the zero padding occupies ``-lo .. -1`` and ``n .. n+hi-1``
(a negative pad crops).  Output ``o`` of a windowed layer starts its window at
``start = s*o - lo`` and reads taps ``start + d*j`` for ``j < k``.
"""

from __future__ import annotations

import math


def _taps(o: int, k: int, s: int, d: int, lo: int) -> list[int]:
    start = s * o - lo
    return [start + d * j for j in range(k)]


def conv_positions(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Number of window positions whose every tap lies in the padded input ``[-lo, n+hi)``."""
    count = 0
    for o in range(0, n + abs(lo) + abs(hi) + 2):
        taps = _taps(o, k, s, d, lo)
        if taps[0] > n + hi:  # every later window starts further right
            break
        if -lo <= taps[0] and taps[-1] <= n + hi - 1:
            count += 1
    return count


def pool_positions(n: int, k: int, s: int, d: int, lo: int, hi: int, ceil_mode: bool) -> int:
    """Window positions of PyTorch pooling.

    Floor mode: every tap inside the padded input ``[-lo, n+hi)``.  Ceil mode:
    a window may overhang the end of the padded input by up to ``s-1``
    elements (the "partial last window"), but it must *start* inside the input
    or the left padding (a window starting in the right padding is dropped).
    """
    overhang = s - 1 if ceil_mode else 0
    count = 0
    for o in range(0, n + lo + hi + s + 2):
        taps = _taps(o, k, s, d, lo)
        fits = -lo <= taps[0] and taps[-1] <= n + hi - 1 + overhang
        starts_ok = taps[0] <= n - 1 if ceil_mode else True
        if fits and starts_ok:
            count += 1
    return count


def transpose_extent(n: int, k: int, s: int, d: int, lo: int, hi: int, output_padding: int) -> int:
    """Output size of a transposed conv: scatter ``x[i]`` to ``s*i + d*j`` for all taps, take the
    written extent (max index + 1), crop ``lo`` at the start and ``hi`` at the end, add ``output_padding``."""
    written = {s * i + d * j for i in range(n) for j in range(k)}
    return max(written) + 1 - lo - hi + output_padding


def adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """Adaptive-pool windows from the definition ``[floor(i*n/o), ceil((i+1)*n/o))`` in exact integers."""
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def tf_same_pads(n: int, k_eff: int, s: int) -> tuple[int, int]:
    """TF 'SAME' per-side pads from the definition (out = ceil(n/s), pads make the windows fit)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2
