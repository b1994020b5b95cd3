"""Cost model for ``algorithm='auto'``: predicted seconds per algorithm, cheapest wins.

Counting is kept apart from deciding (as ``scipy.signal.choose_conv_method``).
Per algorithm, with ``N`` batch, ``C``/``Co`` channels, ``G`` groups, ``K`` taps,
``O`` output points, ``P`` padded points, ``F`` FFT points (``next_fast_len``):

===========  =========================================================  ===============================
algorithm    FLOPs (GEMM part)                                          memory traffic (bytes, x itemsize)
===========  =========================================================  ===============================
gemm         ``2 N Co (C/G) K O``                                       ``N C K O`` (column copy) + in + out
direct       same FLOPs, ``K`` matmuls (stride 1)                       ``K (N Co O)`` (accumulation) + in
fft          ``8 B Co (C/G) F/2`` complex MACs + ``5 B (C + Co) F       spectra ``2 B (C + Co) F`` and the
             log2 F`` (transforms); ``B = N * tiles``                   kernel spectrum ``Co C/G F/2``
winograd     ``2 N Co (C/G) T prod(alpha)`` + transforms                ``prod(alpha)/prod(m)`` x (in + out)
===========  =========================================================  ===============================

``seconds = flops / RATE[alg] + bytes / BANDWIDTH + CALLS[alg] * overhead``; an algorithm whose
predicted peak memory (:func:`peak_bytes`) exceeds ``MEMORY_FACTOR * (input + weight + output
bytes) + MEMORY_SLACK`` is not chosen (``gemm``, whose columns are chunked, always fits); the FFT counts
use the overlap-save tiles of :func:`convalg.kernels.numpy.fft.fft_tiles` (``N * tiles`` batch
entries of ``F`` points each).

**Size threshold.**  FFT and Winograd are considered only when the direct FLOP count
``2 N Co (C/G) K O`` is at least :data:`TRANSFORM_MIN_FLOPS`.  Below it their fixed cost (a dozen
NumPy / ``scipy.fft`` calls) cannot pay (figures in ``docs/performance.md``), and
their error is only norm-wise (an output whose exact value is 0 may come out as ``-6.6e-10``),
so ``'auto'`` stays with the element-wise accurate ``gemm`` / ``direct``; pass
``algorithm='fft'`` / ``'winograd'`` explicitly to use them on small problems.

**Where the constants come from.**  They are set by hand (not fitted, not by ``--calibrate``)
from single-thread timings of every algorithm on the CPU anchor cases of ``convalg bench cpu``;
``convalg bench cpu --calibrate`` prints the raw throughputs of the primitives behind them (sgemm,
batched sgemm / cgemm, ``rfftn``, copy), which only need to be right relative to each other.  To
recalibrate on another machine, scale ``RATE`` / ``BANDWIDTH`` by the ratio of its figures to the
recorded ones, then time each algorithm (``--threads 1 --algorithm NAME``) and check that
``choose`` picks the fastest.  The figures, and the cases where the choice is not the fastest, are
in ``docs/performance.md`` ("Cost-model measurements").

>>> from convalg import Conv
>>> from convalg.kernels.numpy.plan import window_plan
>>> choose(window_plan(Conv(3, padding=1, ndim=2), (56, 56)), 1, 64, 64, 1, "float32")
'winograd'
>>> choose(window_plan(Conv(11, padding=5, ndim=2), (128, 128)), 1, 16, 16, 1, "float32")
'fft'
>>> choose(window_plan(Conv(1, ndim=2), (56, 56)), 1, 64, 64, 1, "float32")
'gemm'
"""

from __future__ import annotations

import math

from ..base import conv_flops
from .plan import WindowPlan

__all__ = ["estimate", "peak_bytes", "choose", "MEMORY_FACTOR", "MEMORY_SLACK", "TRANSFORM_MIN_FLOPS", "RATE", "BANDWIDTH", "GATHER_BANDWIDTH", "SPECTRUM_COST", "OVERHEAD"]

#: Direct FLOPs below which ``choose`` does not consider FFT or Winograd (see the module docstring).
TRANSFORM_MIN_FLOPS = 2e7
#: Effective FLOP/s per algorithm's main contraction (float32, 2 threads; float64 runs at half).
RATE = {"gemm": 150e9, "direct": 110e9, "fft": 25e9, "winograd": 100e9, "fft_transform": 6e9}
#: Effective bytes/s for copies, transposes and element-wise passes.
BANDWIDTH = 8e9
#: Effective bytes/s of the im2col gather when its contiguous rows are short (< 1024 elements).
GATHER_BANDWIDTH = 3e9
#: Seconds per element of the kernel spectrum ``Cout * Cin/G * F`` (generation, layout, batched matvec).
SPECTRUM_COST = 6e-9
#: Per-point GEMM size (columns ``N * tiles``) below which Winograd's batched GEMMs lose efficiency.
WINOGRAD_FULL_COLUMNS = 256
#: Seconds per Python-level kernel call (loop overhead).
OVERHEAD = 8e-6


def estimate(plan: WindowPlan, n: int, c: int, cout: int, groups: int, dtype: str) -> dict[str, float]:
    """Predicted seconds per applicable algorithm (see the module table)."""
    item = 8 if dtype == "float64" else 4
    slow = 2.0 if dtype == "float64" else 1.0
    cg = c // max(groups, 1)
    k = math.prod(plan.kernel)
    o = math.prod(plan.output_shape)
    p = math.prod(plan.extent)
    in_bytes, out_bytes = n * c * p * item, n * cout * o * item
    mac = float(conv_flops(n, c, cout, groups, plan.kernel, plan.output_shape))
    est: dict[str, float] = {}
    calls = n * max(1, -(-(cg * k * o * item) // (4 << 20)))
    run = plan.output_shape[-1] if plan.step[-1] == 1 else 1
    gather = BANDWIDTH if run >= 1024 else GATHER_BANDWIDTH
    copied = 0 if (k == 1 and plan.extent == plan.input_shape and all(s == 1 for s in plan.step)) else 1
    est["gemm"] = (slow * mac / RATE["gemm"] + copied * n * c * k * o * item / gather + (in_bytes + out_bytes) / BANDWIDTH
                   + calls * OVERHEAD)
    if all(s == 1 for s in plan.step):
        est["direct"] = slow * mac / RATE["direct"] + (k * out_bytes * 2 + in_bytes) / BANDWIDTH + k * OVERHEAD
    from .fft import fft_sizes, fft_tiles, tile_counts

    tiles = fft_tiles(plan, cout * cg)
    batches = n * (1 if tiles is None else math.prod(tile_counts(plan, tiles)))
    f = math.prod(fft_sizes(plan.extent if tiles is None else tiles))
    cmac = 8.0 * batches * cout * cg * f / 2
    trans = 5.0 * batches * (c + cout) * f * math.log2(max(f, 2)) / 2
    spectra = 2 * batches * (c + cout) * f * item
    est["fft"] = (slow * (cmac / RATE["fft"] + trans / RATE["fft_transform"]) + spectra / BANDWIDTH
                  + SPECTRUM_COST * cout * cg * f / 2 + 12 * OVERHEAD)
    from .winograd import supports, tile_sizes

    if supports(plan) and k > 1:
        ms = tile_sizes(plan)
        alphas = [m + r - 1 for m, r in zip(ms, plan.kernel)]
        tiles = math.prod(-(-oo // m) for oo, m in zip(plan.output_shape, ms))
        na = math.prod(alphas)
        wmac = 2.0 * n * cout * cg * tiles * na
        efficiency = min(1.0, max(n * tiles, 1) / WINOGRAD_FULL_COLUMNS) ** 0.5
        growth = na / math.prod(ms)
        tbytes = growth * (in_bytes * 3 + out_bytes * 3) + na * cout * cg * item
        est["winograd"] = slow * wmac / (RATE["winograd"] * efficiency) + tbytes / BANDWIDTH + (na + 10) * OVERHEAD
    return est


#: Peak-memory bound ``choose`` keeps to: ``MEMORY_FACTOR * (input + weight + output bytes) + MEMORY_SLACK``.
MEMORY_FACTOR, MEMORY_SLACK = 4, 32 << 20


def peak_bytes(plan: WindowPlan, n: int, c: int, cout: int, groups: int, dtype: str) -> dict[str, float]:
    """Predicted peak bytes of one forward call per applicable algorithm, on top of its arguments.

    ``gemm``: the padded input and a column chunk (``DEFAULT_BUDGET``); ``direct``: the padded input and two
    output-sized accumulators; ``fft``: the spectra of input and output (complex, ``N * tiles`` batch entries
    of ``F`` points) plus the kernel spectrum ``Cout * Cin/G * F/2``; ``winograd``: two stages of
    ``prod(alpha/m)`` times a batch chunk plus the output.
    """
    from .fft import fft_sizes, fft_tiles, tile_counts
    from .gemm import DEFAULT_BUDGET

    item = 8 if dtype == "float64" else 4
    cg = c // max(groups, 1)
    p, o = math.prod(plan.extent), math.prod(plan.output_shape)
    padded, out = n * c * p * item, n * cout * o * item
    peak: dict[str, float] = {"gemm": padded + min(DEFAULT_BUDGET, n * c * math.prod(plan.kernel) * o * item)}
    if all(s == 1 for s in plan.step):
        peak["direct"] = padded + 2 * out
    tiles = fft_tiles(plan, cout * cg)
    batches = n * (1 if tiles is None else math.prod(tile_counts(plan, tiles)))
    f = math.prod(fft_sizes(plan.extent if tiles is None else tiles))
    peak["fft"] = 2 * item * (batches * (c + cout) * f + cout * cg * f / 2) + out
    from .winograd import CHUNK_BYTES, supports, tile_sizes

    if supports(plan):
        ms = tile_sizes(plan)
        growth = math.prod((m + r - 1) / m for m, r in zip(ms, plan.kernel))
        peak["winograd"] = 2 * growth * min(padded + out, 2 * CHUNK_BYTES + padded / max(n, 1)) + out + padded
    return peak


def choose(plan: WindowPlan, n: int, c: int, cout: int, groups: int, dtype: str) -> str:
    """The algorithm with the least predicted time (GEMM / direct only below ``TRANSFORM_MIN_FLOPS``).

    >>> from convalg import Conv
    >>> from convalg.kernels.numpy.plan import window_plan
    >>> choose(window_plan(Conv(3, padding=1, ndim=2), (12, 12)), 1, 8, 8, 1, "float32")
    'gemm'
    """
    est = estimate(plan, n, c, cout, groups, dtype)
    if conv_flops(n, c, cout, groups, plan.kernel, plan.output_shape) < TRANSFORM_MIN_FLOPS:
        est = {k: v for k, v in est.items() if k in ("gemm", "direct")}
    # memory counts: an algorithm predicted past the bound is not chosen (GEMM's chunked columns always fit)
    item = 8 if dtype == "float64" else 4
    io = item * (n * c * math.prod(plan.input_shape) + n * cout * math.prod(plan.output_shape)
                 + cout * (c // max(groups, 1)) * math.prod(plan.kernel))
    peak = peak_bytes(plan, n, c, cout, groups, dtype)
    fits = {k: v for k, v in est.items() if k == "gemm" or peak.get(k, 0) <= MEMORY_FACTOR * io + MEMORY_SLACK}
    return min(fits, key=fits.__getitem__)

