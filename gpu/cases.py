"""Test and benchmark cases for the CUDA kernels, shared by ``tests/kernels`` and ``gpu/run.py``: a spread over
op families, N-d 1..3, padding modes, groups, dilation, strides and flips, and the GPU benchmark cases.

They live beside the GPU harness, outside the ``convalg`` package, so they do not ship in the wheel.

>>> len(CONV_CASES) >= 8 and all(isinstance(k, str) for k in conv_kernels(*CONV_CASES[0]))
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from convalg.kernels.cuda import cost, direct, igemm, pool
from convalg.spec import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, Conv, ConvTranspose, MaxPool

__all__ = ["CONV_CASES", "TRANSPOSE_CASES", "POOL_CASES", "AVG_CASES", "ADAPTIVE_CASES", "WINDOW_CASES",
           "conv_kernels", "all_kernels", "Anchor", "ANCHORS", "anchor_kernels"]

# (layer, input spatial, c_in, c_out)
CONV_CASES = [
    (Conv(3, padding=1, ndim=2), (6, 7), 4, 6),
    (Conv((3, 2), stride=(2, 1), padding=((1, 2), (0, 1)), dilation=(1, 2), groups=2, ndim=2), (9, 8), 4, 6),
    (Conv(5, stride=3, padding=2, dilation=2, ndim=1), (17,), 3, 5),
    (Conv(2, stride=2, padding=1, ndim=3), (5, 4, 6), 2, 4),
    (Conv(3, padding=2, padding_mode="reflect", flip_kernel=True, ndim=2), (6, 5), 2, 3),
    (Conv(3, stride=2, padding=1, padding_mode="circular", ndim=1), (7,), 2, 2),
    (Conv((2, 3), padding=(1, 1), padding_mode="replicate", ndim=2), (4, 5), 3, 3),
    (Conv(3, padding=1, groups=4, ndim=2), (6, 6), 4, 8),  # depthwise, multiplier 2
]

TRANSPOSE_CASES = [
    (ConvTranspose(3, stride=2, padding=1, output_padding=1, ndim=2), (4, 5), 4, 6, 1),
    (ConvTranspose(4, stride=3, padding=2, dilation=2, groups=2, ndim=1), (6,), 4, 6, 2),
]

POOL_CASES = [
    (MaxPool(3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True, ndim=2), (7, 9)),
    (MaxPool(2, ndim=1), (9,)),
    (MaxPool(2, stride=1, padding=1, ndim=3), (3, 4, 3)),
]
AVG_CASES = [
    (AvgPool(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False, ndim=2), (7, 9), False, None),
    (AvgPool(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True, ndim=1), (10,), True, None),
    (AvgPool(2, stride=1, padding=1, divisor_override=3, ndim=3), (3, 4, 3), True, 3),
]
ADAPTIVE_CASES = [(AdaptiveAvgPool((3, 4)), (7, 9)), (AdaptiveMaxPool(3), (10,)), (AdaptiveAvgPool(2), (3, 5, 4))]
WINDOW_CASES = [(Conv((2, 3), stride=(2, 1), padding=1, dilation=(1, 2), ndim=2), (7, 9), 3)]


@functools.cache
def conv_kernels(layer, spatial, c_in, c_out):
    """Every conv kernel family for one case (tile 64x64 for the implicit GEMM; splits 3 for the weight pass)."""
    m = layer.index_map(spatial)
    g = layer.groups
    tile = igemm.TILES["64x64"]
    return {
        "direct": direct.direct_conv(m, c_in, c_out, g, True),
        "gemm_fwd": igemm.igemm(m, "fwd", c_in, c_out, g, True, tile),
        "gather": direct.gather_conv(m, c_out, c_in, g, False),
        "gemm_bwd_data": igemm.igemm(m, "bwd_data", c_in, c_out, g, False, tile),
        "wgrad": direct.wgrad_direct(m, c_in, c_out, g, threads=32),
        "gemm_bwd_weight": igemm.igemm(m, "bwd_weight", c_in, c_out, g, False, tile, splits=3),
    }


@functools.cache
def all_kernels():
    """Generated kernels covering every family, unique by name (for the compile tests)."""
    out = []
    for layer, spatial, ci, co in CONV_CASES:
        ks = conv_kernels(layer, spatial, ci, co)
        if layer.padding_mode != "zeros":
            ks = {k: v for k, v in ks.items() if k in ("direct", "gemm_fwd", "wgrad", "gemm_bwd_weight")}
        out += list(ks.values())
    for layer, spatial, ci, co, g in TRANSPOSE_CASES:
        m = layer.index_map(spatial)
        out += [direct.gather_conv(m, ci, co, g, True), igemm.igemm(m, "bwd_data", co, ci, g, True,
                                                                    igemm.TILES["128x128"])]
    for layer, spatial in POOL_CASES:
        m = layer.index_map(spatial)
        out += [pool.max_pool(m), pool.max_pool_grad(m)]
    for layer, spatial, cip, div in AVG_CASES:
        m = layer.index_map(spatial)
        out += [pool.avg_pool(m, cip, div), pool.avg_pool_grad(m, cip, div)]
    for layer, spatial in ADAPTIVE_CASES:
        out.append(pool.adaptive_pool(layer.index_map(spatial)))
    for layer, spatial, c in WINDOW_CASES:
        m = layer.index_map(spatial)
        out += [pool.unfold(m, c), pool.fold(m, c)]
    out += [igemm.splitk_sum(54, 3), igemm.splitk_sum(54, 3, guarded=True), pool.segment_sum(63)]
    m = CONV_CASES[0][0].index_map(CONV_CASES[0][1])
    out += [igemm.igemm(m, "bwd_weight", 4, 6, 1, False, igemm.TILES["64x128"], 8, guarded=True)]  # FFT fallback
    for name in igemm.TILES:
        m = Conv(3, padding=1, ndim=2).index_map((8, 8))
        out.append(igemm.igemm(m, "fwd", 8, 16, 1, True, igemm.TILES[name]))
    return tuple({k.name: k for k in out}.values())


@dataclass(frozen=True)
class Anchor:
    """One GPU anchor case (N x C x H x W -> O, k, s, p, d, groups)."""

    label: str
    n: int
    c: int
    hw: int
    o: int
    k: int
    s: int
    p: int
    d: int
    g: int

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.n, self.c, self.hw, self.hw)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.o, self.c // self.g, self.k, self.k)

    def out_hw(self) -> int:
        return (self.hw + 2 * self.p - self.d * (self.k - 1) - 1) // self.s + 1

    def flops(self) -> float:
        return 2.0 * self.n * self.o * self.out_hw() ** 2 * (self.c // self.g) * self.k * self.k

    def layer(self) -> Conv:
        return Conv(self.k, stride=self.s, padding=self.p, dilation=self.d, groups=self.g, bias=False,
                    in_channels=self.c, out_channels=self.o, ndim=2)


ANCHORS = [
    Anchor("32x64x56x56->64 k3", 32, 64, 56, 64, 3, 1, 1, 1, 1),
    Anchor("32x256x14x14->256 k3", 32, 256, 14, 256, 3, 1, 1, 1, 1),
    Anchor("32x3x224x224->64 k7 s2", 32, 3, 224, 64, 7, 2, 3, 1, 1),
    Anchor("32x64x56x56->256 k1", 32, 64, 56, 256, 1, 1, 0, 1, 1),
    Anchor("8x32x128x128->32 k3 d2", 8, 32, 128, 32, 3, 1, 2, 2, 1),
    Anchor("8x16x256x256->16 k11", 8, 16, 256, 16, 11, 1, 5, 1, 1),
    Anchor("32x256x28x28->256 k3 dw", 32, 256, 28, 256, 3, 1, 1, 1, 256),
]


@functools.cache
def anchor_kernels(chosen_only: bool = False, which: tuple[int, ...] | None = None) -> tuple:
    """The implicit-GEMM kernels of the GPU benchmark cases (``ANCHORS[i]`` for ``i`` in ``which``, default all),
    every pass: every tile (weight pass with the cost model's split count for that tile), or only the cost
    model's choice (``chosen_only``)."""
    out = {}
    for a in [ANCHORS[i] for i in (range(len(ANCHORS)) if which is None else which)]:
        imap = a.layer().index_map((a.hw, a.hw))
        for conv_pass in ("fwd", "bwd_data", "bwd_weight"):
            choice = cost.choose(imap, a.c, a.o, a.g, a.n, conv_pass)
            for tile in igemm.TILES.values():
                if chosen_only and tile != choice.tile:
                    continue
                splits = 1
                if conv_pass == "bwd_weight":
                    m, q, p = igemm.gemm_sizes(imap, conv_pass, a.c, a.o, a.g, a.n)
                    splits = cost.splits_for(m, q, p, a.g, tile)
                k = igemm.igemm(imap, conv_pass, a.c, a.o, a.g, conv_pass == "fwd", tile, splits)
                out[k.name] = k
    return tuple(out.values())
