"""FFT convolution with the channel sum done in the frequency domain.

For the padded input ``padded`` (extent ``P`` per axis, from the window plan) and
FFT sizes ``F >= P`` (``scipy.fft.next_fast_len``), the stride-1 correlation
``r[t] = sum_m padded[t + m] wd[m]`` (``wd`` the kernel spread to ``tap_step*k``)
has no wrap-around for ``t <= P - extent(wd)``, so

    y[o] = irfftn( sum_ci conj(DFT(wd))[co, ci] * rfftn(padded)[n, ci] )[step*o]

The channel sum is one batched complex matmul per frequency,
``(G, F, Cout/G, Cin/G) @ (G, F, Cin/G, N)``.  The kernel's DFT is a *pruned*
DFT (small dense matrices ``exp(2 pi i f t / F)`` over the ``K`` taps only),
far cheaper than an FFT of the zero-padded kernel for every channel pair.
The weight gradient is the same correlation of ``padded`` with the output
gradient (upsampled by the stride), evaluated only at the taps by the pruned
inverse DFT.  ``scipy.fft`` runs with ``workers=parallel.FFT_WORKERS`` (-1: all cores).

Overlap-save tiles (stride 1): one transform of the whole plane makes the
kernel spectrum ``Cout * Cin/G * F/2`` complex values large (many times the
input + output + weight bytes on a wide layer) and the channel sum a batch of
matrix-*vector* products.  :func:`fft_tiles` therefore cuts the
padded input into overlapping tiles of ``T`` points per axis (a fast FFT
length a few times the effective kernel ``E = tap_step*(K-1) + 1``), each
giving ``L = T - E + 1`` valid outputs; the tiles become batch entries of the
same kernel (:func:`conv_fft_tiled`), so the channel sum is a complex GEMM
``(Cout/G x Cin/G) @ (Cin/G x N*tiles)`` per frequency and the kernel
spectrum is small.  The tile plan is a stride-1, unpadded sliding-window plan
on a ``T``-point tile (:func:`.plan.sliding_plan`, from the index map's axis maps).

Memory: the tiled input and the spectra of the tiles, ``(T/L)^ndim`` times
the input (and output) plus the complex factor ~2; each stage is freed as
soon as the next exists.  Untiled (strided layers), the kernel spectrum
dominates.  See :mod:`.cost` (``SPECTRUM_COST``); measured sizes and timings
are in ``docs/performance.md`` (Kernel design measurements).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from . import cache, parallel, workspace
from .plan import WindowPlan, sliding_plan

__all__ = ["fft_sizes", "fft_tiles", "fft_extent", "conv_fft", "conv_fft_tiled", "weight_grad_fft",
           "weight_grad_fft_tiled", "tile_counts", "TILE_FACTOR"]

#: FFT tiles are about ``TILE_FACTOR`` effective kernels long (at least ``MIN_TILE`` points; see
#: :func:`fft_tiles`); an axis whose tile would cover the whole extent is not tiled.
TILE_FACTOR = 4
MIN_TILE = 16
#: Cost of a tiled transform's points relative to one whole-extent transform's (tile copies; see
#: :func:`fft_tiles`).
TILE_OVERHEAD = 1.5


def fft_tiles(plan: WindowPlan, channel_pairs: int | None = None) -> tuple[int, ...] | None:
    """Overlap-save tile ``T`` per axis, or ``None`` (one transform of the whole extent: strided
    layers, or when no axis would get two tiles).

    Per axis, among the fast lengths ``T`` in ``[TILE_FACTOR * E / 2, 2 * TILE_FACTOR * E]``, the one
    with the fewest transformed points ``ceil(out / L) * T * log2(T)`` (``L = T - E + 1``); tiles in
    that range differ little in time, so the point count decides.

    With ``channel_pairs`` (``Cout * Cin/G``) given, in 2-D and up: when the whole-extent kernel spectrum
    is no larger than the padded input (the reason to tile is gone) and the whole-extent transform moves
    fewer points ``F log2 F`` than all the tiles together (the overlap repeats across axes,
    ``(T/L)^ndim``) times :data:`TILE_OVERHEAD` (cutting and reassembling the tiles), no tiles: few
    channels on a large plane run faster as one transform.  1-D keeps its tiles, which stay faster
    than one long transform.  Timings: ``docs/performance.md`` (Kernel design measurements).
    """
    tiles = _tiles_per_axis(plan)
    if tiles is None or channel_pairs is None or plan.ndim < 2:
        return tiles
    whole = math.prod(fft_sizes(plan.extent))
    if channel_pairs * whole / 2 > math.prod(plan.extent):
        return tiles
    counts = tile_counts(plan, tiles)
    tiled = math.prod(c * t for c, t in zip(counts, tiles)) * math.log2(max(math.prod(tiles), 2))
    return None if whole * math.log2(max(whole, 2)) <= TILE_OVERHEAD * tiled else tiles


def _tiles_per_axis(plan: WindowPlan) -> tuple[int, ...] | None:
    if any(s != 1 for s in plan.step):
        return None
    tiles = []
    for e, ke, o in zip(plan.extent, plan.effective_kernel, plan.output_shape):
        lo = max(TILE_FACTOR * ke // 2, ke + MIN_TILE - 1, 2)
        best, best_cost = e, float("inf")
        t = sfft.next_fast_len(lo, real=True)
        while t <= 2 * TILE_FACTOR * ke and t - ke + 1 < o:
            cost = -(-o // (t - ke + 1)) * t * math.log2(t)
            if cost < best_cost:
                best, best_cost = t, cost
            t = sfft.next_fast_len(t + 1, real=True)
        tiles.append(best)
    if tuple(tiles) == tuple(plan.extent):
        return None
    return tuple(tiles)


def tile_counts(plan: WindowPlan, tiles: tuple[int, ...]) -> tuple[int, ...]:
    """Overlap-save tiles per axis."""
    return _tiling(plan, tiles)[1]


def _tiling(plan: WindowPlan, tiles: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Valid outputs ``L`` per tile and tile counts per axis."""
    valid = tuple(t - ke + 1 for t, ke in zip(tiles, plan.effective_kernel))
    counts = tuple(-(-o // v) for o, v in zip(plan.output_shape, valid))
    return valid, counts


def fft_extent(plan: WindowPlan, tiles: tuple[int, ...] | None) -> tuple[int, ...]:
    """Padded extent read by the tiles (``counts * L + E - 1`` per axis), or the plan's."""
    if tiles is None:
        return plan.extent
    valid, counts = _tiling(plan, tiles)
    return tuple(max(e, c * v + ke - 1) for e, c, v, ke in zip(plan.extent, counts, valid, plan.effective_kernel))


def _tile_plan(plan: WindowPlan, tiles: tuple[int, ...]) -> WindowPlan:
    return sliding_plan(tuple(tiles), plan.kernel, dilation=plan.tap_step)


def _cut_tiles(padded: np.ndarray, plan: WindowPlan, tiles: tuple[int, ...]) -> np.ndarray:
    """``(N * prod(counts), C, *T)``: the overlapping tiles of ``padded`` (one copy)."""
    valid, counts = _tiling(plan, tiles)
    n, c = padded.shape[:2]
    st = padded.strides
    view = np.lib.stride_tricks.as_strided(
        padded, (n, *counts, c, *tiles), (st[0], *[v * s for v, s in zip(valid, st[2:])], st[1], *st[2:]),
        writeable=False)
    # a scratch buffer (:mod:`.workspace`): the tiles are only read by the transform
    return parallel.copyto(workspace.scratch("fft.tiles", view.shape, view.dtype), view).reshape(
        n * math.prod(counts), c, *tiles)


def conv_fft_tiled(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int,
                   tiles: tuple[int, ...]) -> np.ndarray:
    """Overlap-save :func:`conv_fft`: tiles of ``padded`` (padded to :func:`fft_extent`) as batch entries."""
    n, cout, nd = padded.shape[0], w.shape[0], plan.ndim
    out = plan.output_shape
    if n == 0 or math.prod(out) == 0:
        return np.zeros((n, cout, *out), dtype=np.result_type(padded, w))
    valid, counts = _tiling(plan, tiles)
    yt = _conv_fft_full(_cut_tiles(padded, plan, tiles), w, _tile_plan(plan, tiles), groups, valid)
    yt = yt.reshape(n, *counts, cout, *valid)
    order = [0, nd + 1]
    for a in range(nd):
        order += [1 + a, nd + 2 + a]
    full = np.empty((n, cout, *[c * v for c, v in zip(counts, valid)]), dtype=yt.dtype)
    parallel.copyto(full.reshape(n, cout, *[d for cv in zip(counts, valid) for d in cv]), yt.transpose(order))
    if full.shape[2:] == out:
        return full
    return parallel.contiguous(full[(Ellipsis, *[slice(0, o) for o in out])])


def weight_grad_fft_tiled(padded: np.ndarray, gy: np.ndarray, plan: WindowPlan, groups: int,
                          tiles: tuple[int, ...]) -> np.ndarray:
    """Overlap-save :func:`weight_grad_fft`: input tiles against the matching output-gradient blocks."""
    n, cout, nd = padded.shape[0], gy.shape[1], plan.ndim
    if n == 0 or math.prod(plan.output_shape) == 0:
        return np.zeros((cout, padded.shape[1] // groups, *plan.kernel), dtype=np.result_type(padded, gy))
    valid, counts = _tiling(plan, tiles)
    blocks = np.zeros((n, cout, *[c * v for c, v in zip(counts, valid)]), dtype=gy.dtype)
    blocks[(Ellipsis, *[slice(0, o) for o in plan.output_shape])] = gy
    shape = [n, cout]
    for c, v in zip(counts, valid):
        shape += [c, v]
    order = [0] + [2 + 2 * a for a in range(nd)] + [1] + [3 + 2 * a for a in range(nd)]
    gyt = blocks.reshape(shape).transpose(order).reshape(n * math.prod(counts), cout, *valid)
    return weight_grad_fft(_cut_tiles(padded, plan, tiles), gyt, _tile_plan(plan, tiles), groups)


def fft_sizes(extent: tuple[int, ...]) -> tuple[int, ...]:
    """``next_fast_len`` of each padded extent (real transforms)."""
    return tuple(sfft.next_fast_len(int(e), real=True) for e in extent)


def _dft_matrix(freq: int, size: int, positions: np.ndarray, sign: float, dtype: np.dtype) -> np.ndarray:
    return cache.cached("dft", _dft_table, int(freq), int(size), tuple(int(p) for p in positions), float(sign),
                        np.dtype(dtype).name)


def _dft_table(freq: int, size: int, positions: tuple[int, ...], sign: float, dtype: str) -> np.ndarray:
    """``exp(sign 2 pi i f t / size)`` over frequencies ``f < freq`` and the tap positions ``t`` (cached, read-only)."""
    f = np.arange(freq).reshape(freq, 1)
    t = np.asarray(positions, dtype=np.int64).reshape(1, -1)
    out = np.exp(sign * 2j * np.pi * ((f * t) % size) / size).astype(dtype)
    out.flags.writeable = False
    return out


def _kernel_spectrum(w: np.ndarray, plan: WindowPlan, sizes: tuple[int, ...], cdtype: np.dtype) -> np.ndarray:
    """Conjugate DFT of the spread kernel at the rfftn frequencies (pruned: only the taps).

    Returns ``(*F, Cout, Cin/G)``: each kernel axis, last first, contracted with its
    ``(F_a, K_a)`` matrix (one GEMM each).
    """
    nd = plan.ndim
    nf = math.prod(sizes[:-1]) * (sizes[-1] // 2 + 1)
    pruned = sum(math.prod(sizes[a:]) * plan.kernel[a] for a in range(nd))
    if pruned > 3 * nf * math.log2(max(nf, 2)):  # long kernels: an FFT of the spread kernel is cheaper
        spread = np.zeros((*w.shape[:2], *sizes), dtype=w.dtype)
        spread[(Ellipsis, *[slice(0, e, t) for t, e in zip(plan.tap_step, plan.effective_kernel)])] = w
        spec = np.conj(sfft.rfftn(spread, axes=tuple(range(2, 2 + nd)), workers=parallel.FFT_WORKERS))
        spec = spec.astype(cdtype, copy=False)
        return np.moveaxis(spec.reshape(*w.shape[:2], nf), -1, 0).reshape(*spec.shape[2:], *w.shape[:2])
    spec = w.reshape(-1, *plan.kernel).astype(cdtype)
    for a in reversed(range(nd)):
        freq = sizes[a] // 2 + 1 if a == nd - 1 else sizes[a]
        pos = plan.tap_step[a] * np.arange(plan.kernel[a])
        spec = np.tensordot(_dft_matrix(freq, sizes[a], pos, +1.0, cdtype), spec, axes=([1], [spec.ndim - 1]))
    return spec.reshape(*spec.shape[:nd], *w.shape[:2])


def conv_fft(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """Forward correlation of the padded input with ``w`` through ``scipy.fft``."""
    out = plan.output_shape
    if padded.shape[0] == 0 or math.prod(out) == 0:
        return np.zeros((padded.shape[0], w.shape[0], *out), dtype=np.result_type(padded, w))
    full = _conv_fft_full(padded, w, plan, groups, tuple(s * (o - 1) + 1 for s, o in zip(plan.step, out)))
    sl = tuple(slice(0, s * (o - 1) + 1, s) for s, o in zip(plan.step, out))
    return np.ascontiguousarray(full[(Ellipsis, *sl)], dtype=np.result_type(padded, w))


def _channel_sum(padded: np.ndarray, other: np.ndarray, cout: int,
                 groups: int) -> tuple[int, int, int, int, int, np.dtype, np.dtype]:
    """The blocks of the per-frequency channel sum between the padded input ``(N, C, ...)`` and ``other``
    (``cout`` channels on its side): ``(N, Cout, G, C/G, Cout/G, real dtype, complex dtype)``."""
    c = padded.shape[1]
    dtype = np.result_type(padded, other)
    return padded.shape[0], cout, groups, c // groups, cout // groups, dtype, np.result_type(dtype, np.complex64)


def _conv_fft_full(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int,
                   keep: tuple[int, ...]) -> np.ndarray:
    """The stride-1 correlation's first ``keep`` points per axis of the FFT frame (``(N, Cout, *keep)``)."""
    n, cout, g, cg, cog, dtype, cdtype = _channel_sum(padded, w, w.shape[0], groups)
    nd = plan.ndim
    sizes = fft_sizes(padded.shape[2:])
    axes = tuple(range(2, 2 + nd))
    xf = sfft.rfftn(padded, s=sizes, axes=axes, workers=parallel.FFT_WORKERS)
    del padded  # stages are freed as soon as the next exists (the peak is about two of them)
    fshape = xf.shape[2:]
    nf = math.prod(fshape)
    wf = _kernel_spectrum(w, plan, sizes, cdtype).reshape(nf, g, cog, cg)
    wt = wf.transpose(1, 0, 2, 3)  # (G, F, Cog, Cg), a view for G = 1
    # the channel-sum stages in scratch buffers (no fresh pages per call in a plain process)
    xv = xf.reshape(n, g, cg, nf).transpose(1, 3, 2, 0)
    xt = parallel.copyto(workspace.scratch("fft.xt", xv.shape, xv.dtype), xv)  # (G, F, Cg, N)
    del xf
    yt = np.matmul(wt, xt, out=workspace.scratch("fft.yt", (g, nf, cog, n), np.result_type(wt, xt)))  # (G,F,Cog,N)
    del xt, wt, wf
    yv = yt.transpose(3, 0, 2, 1)
    yf = parallel.copyto(workspace.scratch("fft.yf", yv.shape, yv.dtype), yv).reshape(n, cout, *fshape)
    del yt
    return _irfft_front(yf, sizes, keep).astype(dtype, copy=False)


def _irfft_front(spec: np.ndarray, sizes: tuple[int, ...], keep: tuple[int, ...]) -> np.ndarray:
    """``irfftn`` over the trailing axes, keeping the first ``keep`` points per axis: the complex inverse
    axis by axis (leading axes first), each cut to its ``keep`` rows before the next axis is transformed."""
    nd = len(sizes)
    lead = spec.ndim - nd
    for a in range(nd - 1):
        spec = sfft.ifft(spec, n=sizes[a], axis=lead + a, workers=parallel.FFT_WORKERS, overwrite_x=True)
        spec = spec[(slice(None),) * (lead + a) + (slice(0, keep[a]),)]
    out = sfft.irfft(spec, n=sizes[-1], axis=-1, workers=parallel.FFT_WORKERS)
    return out[..., :keep[-1]]


def weight_grad_fft(padded: np.ndarray, gy: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """``dW[co, ci, k] = sum_{n,o} gy[n,co,o] padded[n, ci, step*o + tap_step*k]`` through ``scipy.fft``."""
    n, cout, g, cg, cog, dtype, cdtype = _channel_sum(padded, gy, gy.shape[1], groups)
    nd = plan.ndim
    if n == 0 or math.prod(plan.output_shape) == 0:
        return np.zeros((cout, cg, *plan.kernel), dtype=dtype)
    sizes = fft_sizes(padded.shape[2:])
    axes = tuple(range(2, 2 + nd))
    up = np.zeros((n, cout, *[s * (o - 1) + 1 for s, o in zip(plan.step, plan.output_shape)]), dtype=gy.dtype)
    up[(Ellipsis, *[slice(None, None, s) for s in plan.step])] = gy
    xf = sfft.rfftn(padded, s=sizes, axes=axes, workers=parallel.FFT_WORKERS)
    gf = sfft.rfftn(up, s=sizes, axes=axes, workers=parallel.FFT_WORKERS)
    fshape = xf.shape[2:]
    nf = math.prod(fshape)
    gt = np.empty((g, nf, cog, n), dtype=gf.dtype)  # (G, F, Cog, N), contiguous for BLAS
    np.conjugate(gf.reshape(n, g, cog, nf).transpose(1, 3, 2, 0), out=gt)
    xt = parallel.contiguous(xf.reshape(n, g, cg, nf).transpose(1, 3, 0, 2))  # (G, F, N, Cg)
    del xf, gf
    cross = np.matmul(gt, xt)  # (G, F, Cog, Cg)
    spec = cross.transpose(1, 0, 2, 3).reshape(*fshape, cout * cg)  # (*F, Cout*Cg)
    last = sizes[-1]
    for a in range(nd):  # inverse DFT at the taps only; the half-spectrum axis last, Hermitian weights
        freq = spec.shape[0]
        pos = plan.tap_step[a] * np.arange(plan.kernel[a])
        inv = _dft_matrix(freq, sizes[a], pos, +1.0, cdtype).T  # (K, F)
        if a == nd - 1:
            weights = np.full(last // 2 + 1, 2.0)
            weights[0] = 1.0
            if last % 2 == 0:
                weights[-1] = 1.0
            inv = inv * weights.reshape(1, -1)
        spec = np.tensordot(spec, inv, axes=([0], [1]))
    spec = np.moveaxis(spec.reshape(cout, cg, *plan.kernel), 0, 0)
    return (spec.real / math.prod(sizes)).astype(dtype)
