"""Cost model choosing among the generated CUDA convolution kernels.

Counting (:func:`convalg.kernels.base.conv_flops`, shared with the NumPy cost model;
:func:`gemm_blocks`) and deciding (:func:`choose`, the entry point of both backends' cost
models) are separate pure functions, as in SciPy's ``choose_conv_method``.

=============  ===========================================================================
algorithm      estimated time
=============  ===========================================================================
``gemm``       ``flops / (PEAK * eff(tile) * tile_fill * wave_fill)`` + launch; ``tile_fill``
               = useful fraction of the padded ``M x P`` tiles, ``wave_fill`` = blocks /
               (waves * resident blocks); split-K for the weight gradient adds its
               partial-sum traffic
``direct``     ``max(flops / (PEAK * EFF_DIRECT), bytes / BANDWIDTH)``: the depthwise /
               grouped kernel (each input read ~once from DRAM, reuse through L1)
``fft``        ``(5 F log2 F)`` per transform for ``N*C_in + N*C_out + C_in*C_out/G``
               transforms plus the per-frequency complex GEMM, at ``EFF_FFT``; zeros
               padding only (all three passes)
=============  ===========================================================================

**The constants are not calibrated.**  ``PEAK`` and ``BANDWIDTH`` are the
figures of an H100 SXM (fp32 FMA ceiling 51 TFLOP/s, copy 2.95 TB/s); the
efficiencies are guesses for these kernel designs and must be fitted on a device
(``gpu/run.py`` prints the per-algorithm times needed to do it).

>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> dense = index_map(Conv(3, padding=1), (56, 56))
>>> choose(dense, 64, 64, 1, 32, "fwd").algorithm
'gemm'
>>> depthwise = index_map(Conv(3, padding=1, groups=256), (28, 28))
>>> choose(depthwise, 256, 256, 256, 32, "fwd").algorithm
'direct'
>>> big = index_map(Conv(11, padding=5), (256, 256))
>>> choose(big, 16, 16, 1, 8, "fwd").algorithm
'fft'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...errors import SpecError
from ...index_map import IndexMap
from ..base import conv_flops
from .codegen import MAX_GRID, ceil_div
from .igemm import TILES, Tile, gemm_sizes

__all__ = ["Choice", "choose", "pass_flops", "gemm_blocks", "splits_for", "fits_grid", "PEAK", "BANDWIDTH", "SMS", "TILE_EFF"]

PEAK = 51e12  # fp32 FMA ceiling (H100 SXM), FLOP/s
BANDWIDTH = 2.95e12  # bytes/s
SMS = 132
LAUNCH = 4e-6  # s per kernel launch
TILE_EFF = {"128x128": 0.60, "64x128": 0.52, "64x64": 0.42, "32x128": 0.40, "16x128": 0.30}  # uncalibrated
EFF_DIRECT = 0.12  # uncalibrated
EFF_FFT = 0.15  # uncalibrated
FFT_MIN_TAPS = 25  # heuristic guard until calibrated: FFT only for kernels of >= 25 taps (5x5 and up)


@dataclass(frozen=True)
class Choice:
    """An algorithm with its parameters and the model's estimate (seconds), for every candidate."""

    algorithm: str
    tile: Tile | None = None
    splits: int = 1
    estimate: float = 0.0
    candidates: dict[str, float] = field(default_factory=dict, compare=False)


def pass_flops(imap: IndexMap, c_in: int, c_out: int, groups: int, n_batch: int) -> int:
    """Multiply-adds x 2 of one pass of ``imap`` (:func:`convalg.kernels.base.conv_flops`)."""
    return conv_flops(n_batch, c_in, c_out, groups, [int(a.kernel) for a in imap.axes], [int(a.n_out) for a in imap.axes])


def gemm_blocks(m: int, p: int, groups: int, tile: Tile, splits: int = 1) -> int:
    return ceil_div(m, tile.bm) * ceil_div(p, tile.bn) * groups * splits


def _gemm_time(imap: IndexMap, conv_pass: str, c_in: int, c_out: int, groups: int, n_batch: int, name: str,
                splits: int) -> float:
    tile = TILES[name]
    m, q, p = gemm_sizes(imap, conv_pass, c_in, c_out, groups, n_batch)
    if m * p == 0:  # an empty output (e.g. batch 0): nothing to launch
        return LAUNCH
    fill = (m * p) / (ceil_div(m, tile.bm) * tile.bm * ceil_div(p, tile.bn) * tile.bn)
    blocks = gemm_blocks(m, p, groups, tile, splits)
    slots = SMS * tile.blocks_per_sm  # the kernels' __launch_bounds__ minimum
    waves = ceil_div(blocks, slots)
    wave_fill = blocks / (waves * slots)
    flops = pass_flops(imap, c_in, c_out, groups, n_batch)
    t = flops / (PEAK * TILE_EFF[name] * fill * wave_fill) + LAUNCH
    if splits > 1:
        t += 2 * 4 * splits * m * p * groups / BANDWIDTH + LAUNCH
    return t


def _direct_time(imap: IndexMap, c_in: int, c_out: int, groups: int, n_batch: int) -> float:
    i_sp = math.prod(int(a.n) for a in imap.axes)
    o_sp = math.prod(int(a.n_out) for a in imap.axes)
    k = math.prod(int(a.kernel) for a in imap.axes)
    moved = 4 * (n_batch * (c_in * i_sp + c_out * o_sp) + c_out * (c_in // groups) * k)
    return max(pass_flops(imap, c_in, c_out, groups, n_batch) / (PEAK * EFF_DIRECT), moved / BANDWIDTH) + LAUNCH


def _fft_time(imap: IndexMap, c_in: int, c_out: int, groups: int, n_batch: int) -> float:
    f = math.prod(int(a.n) + int(a.lo) + max(int(a.hi), 0) for a in imap.axes)
    transforms = n_batch * c_in + n_batch * c_out + c_out * (c_in // groups)
    fft_flops = transforms * 5 * f * math.log2(max(f, 2)) / 2
    gemm_flops = 8 * n_batch * c_out * (c_in // groups) * f / 2
    moved = 8 * transforms * f / 2 * 3
    return (fft_flops + gemm_flops) / (PEAK * EFF_FFT) + moved / BANDWIDTH + 4 * LAUNCH


def splits_for(m: int, q: int, p: int, groups: int, tile: Tile) -> int:
    """Split-K slices of the weight pass: enough blocks for two waves, each slice at least 4 ``BK`` steps, <= 64,
    and ``groups * splits`` within the grid's z limit."""
    blocks = gemm_blocks(m, p, groups, tile)
    want = ceil_div(2 * SMS, blocks)
    return max(1, min(want, ceil_div(q, 4 * tile.bk), 64, MAX_GRID[2] // groups))


def fits_grid(m: int, p: int, groups: int, tile: Tile, splits: int) -> bool:
    """Whether the implicit GEMM's grid ``(P / BN, M / BM, groups * splits)`` is within CUDA's limits."""
    return all(g <= lim for g, lim in zip((ceil_div(p, tile.bn), ceil_div(m, tile.bm), groups * splits), MAX_GRID))


def choose(imap: IndexMap, c_in: int, c_out: int, groups: int, n_batch: int, conv_pass: str,
           gemm_only: bool = False) -> Choice:
    """Pick the fastest-estimated kernel for ``conv_pass`` (``fwd``, ``bwd_data``, ``bwd_weight``).

    ``c_in``/``c_out`` are the channels of the conv's ``i``/``o`` sides.  The FFT
    path is considered for every pass of zeros-padded maps with at least
    :data:`FFT_MIN_TAPS` taps.  ``gemm_only``: the best tile and split count
    (for ``algorithm='gemm'``).
    """
    cands: dict[str, tuple[float, Choice]] = {}
    m, q, p = gemm_sizes(imap, conv_pass, c_in, c_out, groups, n_batch)
    for name, tile in TILES.items():
        splits = splits_for(m, q, p, groups, tile) if conv_pass == "bwd_weight" else 1
        if not fits_grid(m, p, groups, tile, splits):
            continue
        t = _gemm_time(imap, conv_pass, c_in, c_out, groups, n_batch, name, splits)
        cands[f"gemm:{name}"] = (t, Choice("gemm", tile, splits, t))
    t = _direct_time(imap, c_in, c_out, groups, n_batch)
    if not gemm_only:
        cands["direct"] = (t, Choice("direct", None, 1, t))
    if not gemm_only and imap.padding_mode == "zeros" and math.prod(int(a.kernel) for a in imap.axes) >= FFT_MIN_TAPS:
        t = _fft_time(imap, c_in, c_out, groups, n_batch)
        cands["fft"] = (t, Choice("fft", None, 1, t))
    if not cands:
        raise SpecError(f"groups={groups}: the implicit GEMM's grid (blocks x groups) passes CUDA's limits "
                        f"{MAX_GRID}; use algorithm='direct'")
    best = min(cands, key=lambda c: cands[c][0])
    t, ch = cands[best]
    return Choice(ch.algorithm, ch.tile, ch.splits, t, {k: v[0] for k, v in cands.items()})
