"""``convalg bench matrix``: time building symbolic operator matrices (operator issue, target < 1 s).

Each case is built cold: the per-axis table and weight-symbol caches are
cleared before every repetition, so the figure includes lambdifying the index
map.  The anchor case is a 2-D conv on a 32x32 input with a 3x3 symbolic
kernel and one channel (``padding=1``: a 1024 x 1024 matrix, 8836 entries),
target < 1 s.

Run: ``convalg bench matrix [--repeat N] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..operators import kronecker_sum, kronecker_terms, matrix, symbols, tables
from ..spec import AvgPool, Conv, ConvTranspose

__all__ = ["main", "cases", "TARGET_S"]

#: Target for the anchor case (seconds).
TARGET_S = 1.0


def cases(quick: bool = False) -> list[tuple[str, Callable[[], Any]]]:
    """``(name, build)`` pairs; the first is the anchor case."""
    anchor = Conv(3, padding=1, in_channels=1, out_channels=1, ndim=2)
    out = [("conv2d 32x32 k3 p1 C1 (anchor)", lambda: matrix(anchor, (32, 32)))]
    if quick:
        return out
    circ = Conv(3, padding=1, padding_mode="circular", in_channels=1, out_channels=1, ndim=2)
    grouped = Conv(3, stride=2, padding=1, groups=2, in_channels=4, out_channels=8, ndim=2)
    conv3d = Conv(3, padding=1, in_channels=1, out_channels=1, ndim=3)
    convt = ConvTranspose(4, stride=2, padding=1, in_channels=2, out_channels=2, ndim=2)
    small = Conv(3, padding=1, in_channels=1, out_channels=1, ndim=2)
    out += [
        ("conv2d 32x32 k3 p1 circular", lambda: matrix(circ, (32, 32))),
        ("conv2d 16x16 k3 s2 Cin4 Cout8 g2", lambda: matrix(grouped, (16, 16))),
        ("conv3d 10x10x10 k3 p1", lambda: matrix(conv3d, (10, 10, 10))),
        ("convT2d 16x16 k4 s2 p1 C2", lambda: matrix(convt, (16, 16))),
        ("avgpool2d 32x32 k2 C4", lambda: matrix(AvgPool(2, ndim=2), (32, 32), in_channels=4)),
        ("kronecker sum 2d 16x16 k3", lambda: kronecker_sum(kronecker_terms(small, (16, 16)))),
    ]
    return out


def _clear_caches() -> None:
    tables.axis_table.cache_clear()
    tables.adaptive_table.cache_clear()
    symbols._weights.cache_clear()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="convalg bench matrix", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per case (median reported)")
    parser.add_argument("--quick", action="store_true", help="only the anchor case")
    args = parser.parse_args(list(argv or []))
    print(f"{'case':<36} {'shape':>14} {'nnz':>8} {'median s':>10} {'min s':>8}")
    anchor_median = None
    for name, build in cases(args.quick):
        times = []
        for _ in range(max(1, args.repeat)):
            _clear_caches()
            t0 = time.perf_counter()
            A = build()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        anchor_median = med if anchor_median is None else anchor_median
        shape = f"{A.rows}x{A.cols}"
        print(f"{name:<36} {shape:>14} {A.nnz():>8} {med:>10.4f} {min(times):>8.4f}")
    status = "met" if anchor_median < TARGET_S else "MISSED"
    print(f"\nanchor target < {TARGET_S:.0f} s: {status} (median {anchor_median:.4f} s, cold caches)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
