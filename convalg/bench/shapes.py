"""Benchmark: the symbolic output shape of a 100-layer mixed stack (target < 1 s).

The stack repeats a 10-layer block of 2-D convolutions (stride 1 and 2,
dilated, per-axis kernels), max / average pools (one in ceil mode) and
transposed convolutions: it down- and up-samples by 8 in every block, so every
layer's formula composes with the previous one and deep stacks stay valid.  Each run clears SymPy's cache first, so runs are cold and comparable.

    convalg bench shapes [--layers 100] [--runs 5]

>>> len(mixed_stack(20))
20
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import sympy as sp
from sympy.core.cache import clear_cache

from ..shapes.simplify import format_size
from ..spec import AvgPool, Conv, ConvTranspose, Layer, MaxPool, Sequential

__all__ = ["main", "mixed_stack", "time_output_shape"]


def _block() -> list[Layer]:
    # down 2 * 2 * 2, up 2 * 2 * 2: every block maps n to about n, so deep stacks stay valid
    return [
        Conv(3, padding=1),
        Conv(3, stride=2, padding=1),
        MaxPool(2),
        ConvTranspose(2, stride=2),
        Conv(5, padding=4, dilation=2),
        AvgPool(3, stride=1, padding=1),
        ConvTranspose(3, stride=2, padding=1, output_padding=1),
        MaxPool(3, stride=2, padding=1, ceil_mode=True),
        ConvTranspose((4, 2), stride=2, padding=(1, 0)),
        Conv((1, 3), padding=(0, 1)),
    ]


def mixed_stack(layers: int = 100) -> Sequential:
    """A stack of ``layers`` layers cycling through the benchmark block."""
    block = _block()
    return Sequential(*[block[i % len(block)] for i in range(layers)])


def time_output_shape(net: Sequential, spatial: tuple[sp.Expr, ...]) -> tuple[float, tuple[sp.Expr, ...]]:
    """Seconds to compute ``net.output_shape(spatial)`` from a cold SymPy cache, and the shape."""
    clear_cache()
    start = time.perf_counter()
    shape = net.output_shape(spatial)
    return time.perf_counter() - start, shape


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="convalg bench shapes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=100, help="stack depth (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    H, W = sp.symbols("H W", integer=True, positive=True)
    net = mixed_stack(args.layers)
    times, shape = [], None
    for _ in range(max(1, args.runs)):
        seconds, shape = time_output_shape(net, (H, W))
        times.append(seconds)
    assert shape is not None
    median = statistics.median(times)
    print(f"convalg bench shapes: {len(net)}-layer stack, symbolic (H, W), simplified")
    print(f"  output: ({', '.join(format_size(n) for n in shape)})")
    print(f"  median {median:.3f} s over {len(times)} cold runs (min {min(times):.3f} s, max {max(times):.3f} s); "
          f"target < 1 s: {'met' if median < 1 else 'MISSED'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
