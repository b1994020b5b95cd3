"""FFT convolution with the channel sum done in the frequency domain.

For the padded input ``xp`` (extent ``P`` per axis, from the window plan) and
FFT sizes ``F >= P`` (``scipy.fft.next_fast_len``), the stride-1 correlation
``r[t] = sum_m xp[t + m] wd[m]`` (``wd`` the kernel spread to ``tap_step*k``)
has no wrap-around for ``t <= P - extent(wd)``, so

    y[o] = irfftn( sum_ci conj(DFT(wd))[co, ci] * rfftn(xp)[n, ci] )[step*o]

The channel sum is one batched complex matmul per frequency,
``(G, F, Cout/G, Cin/G) @ (G, F, Cin/G, N)``.  The kernel's DFT is a *pruned*
DFT (small dense matrices ``exp(2 pi i f t / F)`` over the ``K`` taps only),
far cheaper than an FFT of the zero-padded kernel for every channel pair.
The weight gradient is the same correlation of ``xp`` with the output
gradient (upsampled by the stride), evaluated only at the taps by the pruned
inverse DFT.  ``scipy.fft`` runs with ``workers=-1``.

Memory: the kernel spectrum, ``Cout * Cin/G * F/2`` complex values, dominates
(case 7 of the CPU anchors: 13x the input + output + weight bytes), then the
complex spectra of input and output; the 2x target does not hold for FFT
layers with many channel pairs.  See :mod:`.cost` (``SPECTRUM_COST``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from .plan import WindowPlan

__all__ = ["fft_sizes", "conv_fft", "weight_grad_fft"]


def fft_sizes(extent: tuple[int, ...]) -> tuple[int, ...]:
    """``next_fast_len`` of each padded extent (real transforms)."""
    return tuple(sfft.next_fast_len(int(e), real=True) for e in extent)


def _dft_matrix(freq: int, size: int, positions: np.ndarray, sign: float, dtype: np.dtype) -> np.ndarray:
    f = np.arange(freq).reshape(freq, 1)
    return np.exp(sign * 2j * np.pi * ((f * positions.reshape(1, -1)) % size) / size).astype(dtype)


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
        spread[(Ellipsis, *[slice(0, t * (k - 1) + 1, t) for t, k in zip(plan.tap_step, plan.kernel)])] = w
        spec = np.conj(sfft.rfftn(spread, axes=tuple(range(2, 2 + nd)), workers=-1)).astype(cdtype, copy=False)
        return np.moveaxis(spec.reshape(*w.shape[:2], nf), -1, 0).reshape(*spec.shape[2:], *w.shape[:2])
    spec = w.reshape(-1, *plan.kernel).astype(cdtype)
    for a in reversed(range(nd)):
        freq = sizes[a] // 2 + 1 if a == nd - 1 else sizes[a]
        pos = plan.tap_step[a] * np.arange(plan.kernel[a])
        spec = np.tensordot(_dft_matrix(freq, sizes[a], pos, +1.0, cdtype), spec, axes=([1], [spec.ndim - 1]))
    return spec.reshape(*spec.shape[:nd], *w.shape[:2])


def conv_fft(xp: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """Forward correlation of the padded input with ``w`` through ``scipy.fft``."""
    n, c = xp.shape[:2]
    cout = w.shape[0]
    nd = plan.ndim
    g, cg, cog = groups, c // groups, cout // groups
    dtype = np.result_type(xp, w)
    cdtype = np.result_type(dtype, np.complex64)
    out = plan.output_shape
    if n == 0 or math.prod(out) == 0:
        return np.zeros((n, cout, *out), dtype=dtype)
    sizes = fft_sizes(xp.shape[2:])
    axes = tuple(range(2, 2 + nd))
    xf = sfft.rfftn(xp, s=sizes, axes=axes, workers=-1)
    fshape = xf.shape[2:]
    nf = math.prod(fshape)
    wf = _kernel_spectrum(w, plan, sizes, cdtype).reshape(nf, g, cog, cg)
    wt = wf.transpose(1, 0, 2, 3)  # (G, F, Cog, Cg), a view for G = 1
    xt = np.ascontiguousarray(xf.reshape(n, g, cg, nf).transpose(1, 3, 2, 0))  # (G, F, Cg, N)
    yt = np.matmul(wt, xt)  # (G, F, Cog, N)
    yf = yt.transpose(3, 0, 2, 1).reshape(n, cout, *fshape)
    full = sfft.irfftn(yf, s=sizes, axes=axes, workers=-1)
    sl = tuple(slice(0, s * (o - 1) + 1, s) for s, o in zip(plan.step, out))
    return np.ascontiguousarray(full[(Ellipsis, *sl)], dtype=dtype)


def weight_grad_fft(xp: np.ndarray, gy: np.ndarray, plan: WindowPlan, groups: int) -> np.ndarray:
    """``dW[co, ci, k] = sum_{n,o} gy[n,co,o] xp[n, ci, step*o + tap_step*k]`` through ``scipy.fft``."""
    n, c = xp.shape[:2]
    cout = gy.shape[1]
    nd = plan.ndim
    g, cg, cog = groups, c // groups, cout // groups
    dtype = np.result_type(xp, gy)
    cdtype = np.result_type(dtype, np.complex64)
    if n == 0 or math.prod(plan.output_shape) == 0:
        return np.zeros((cout, cg, *plan.kernel), dtype=dtype)
    sizes = fft_sizes(xp.shape[2:])
    axes = tuple(range(2, 2 + nd))
    up = np.zeros((n, cout, *[s * (o - 1) + 1 for s, o in zip(plan.step, plan.output_shape)]), dtype=gy.dtype)
    up[(Ellipsis, *[slice(None, None, s) for s in plan.step])] = gy
    xf = sfft.rfftn(xp, s=sizes, axes=axes, workers=-1)
    gf = sfft.rfftn(up, s=sizes, axes=axes, workers=-1)
    fshape = xf.shape[2:]
    nf = math.prod(fshape)
    gt = np.conj(gf.reshape(n, g, cog, nf).transpose(1, 3, 2, 0))  # (G, F, Cog, N)
    xt = xf.reshape(n, g, cg, nf).transpose(1, 3, 0, 2)  # (G, F, N, Cg)
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
