"""FFT convolution with the channel sum in the frequency domain (``cupy.fft``; NumPy works too).

One ``rfftn`` per input plane and per filter, one batched complex GEMM per
frequency (``matmul`` over ``(G, N, C_in/G) x (G, C_in/G, C_out/G)``), one
``irfftn`` per output plane.  The geometry comes from the index map: the slab of
input read by the outputs is ``[input_index(0, 0), input_index(n_out-1, K-1)]``
(zeros outside ``[0, n)``), the dilated filter puts tap ``k`` at
``input_index(0, k) - input_index(0, 0)``, and outputs sit at
``input_index(o, 0) - input_index(0, 0)`` in the stride-1 correlation.

Correlation theorem: ``irfft(rfft(slab) * conj(rfft(w_dilated)))[j] = sum_t
slab[j + t] w[t]`` (circular), exact for ``j <= L - K_eff`` when the FFT length is at
least ``L``.  The gradients use the same frame: with ``dy`` placed at the output
positions of the stride-1 correlation (zeros between, for ``stride > 1``),
``d slab = irfft(rfft(dy) * rfft(w_dilated))`` (a full convolution, no wrap since
``F >= L``) and ``d w_dilated = irfft(rfft(slab) * conj(rfft(dy)))`` (a correlation),
then the slab gradient is cropped back onto the input and the dilated filter
gradient read at the tap offsets.  ``padding_mode='zeros'`` only.

>>> import numpy as np
>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> x = np.arange(6.0).reshape(1, 1, 6); w = np.array([[[1.0, -1.0]]])
>>> m = index_map(Conv(2, stride=2, padding=1), (6,))
>>> np.round(fft_conv(np, x, w, None, m, 1), 6).tolist()
[[[-0.0, -1.0, -1.0, 5.0]]]
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from scipy.fft import next_fast_len

from ...errors import SpecError
from ...index_map import IndexMap, SlabAxis
from ...index_map import slab_geometry as index_slab_geometry

__all__ = ["fft_conv", "fft_conv_grad_input", "fft_conv_grad_weight", "slab_geometry", "nonfinite_flag", "quiet_fp"]


def nonfinite_flag(xp: Any, *arrays: Any) -> Any:
    """One float32 on the device, nonzero iff ``arrays`` hold a NaN / inf (their sum is then not finite; an
    overflowing sum only costs the fallback).  No host synchronisation: the guarded implicit GEMM that follows
    the FFT path reads it and redoes the pass element-wise (PyTorch keeps NaN / inf where a transform spreads them).

    >>> nonfinite_flag(np, np.ones(3), np.array([1.0, np.inf])).tolist()
    [1.0]
    """
    total = sum((a.sum() for a in arrays[1:]), arrays[0].sum())
    with quiet_fp():
        return xp.asarray(~xp.isfinite(total), dtype=np.float32).reshape(1)


def quiet_fp() -> Any:
    """Silence NumPy's floating-point warnings (the FFT of NaN / inf input, replaced on the device)."""
    return np.errstate(invalid="ignore", over="ignore", divide="ignore")


@functools.lru_cache(maxsize=128)
def slab_geometry(imap: IndexMap) -> tuple[SlabAxis, ...]:
    """Per axis the :class:`~convalg.index_map.SlabAxis` read off the map (see module docstring); cached per map."""
    return index_slab_geometry(imap)


def fft_conv(xp: Any, x: Any, w: Any, bias: Any, imap: IndexMap, groups: int) -> Any:
    """Forward convolution ``(N, C_in, *n) -> (N, C_out, *n_out)`` by FFT (see the module docstring)."""
    fr = _frame(xp, imap)
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    cig, cog = c_in // groups, c_out // groups
    xf, wf = _spectra(xp, fr, x, w, imap)
    wf = xp.conj(wf)
    # frequency-major batched GEMM: (F, G, N, Cig) @ (F, G, Cig, Cog) -> (F, G, N, Cog)
    xm = _frequency_major(xp, xf, (n_batch, groups, cig), (3, 1, 0, 2))
    wm = _frequency_major(xp, wf, (groups, cog, cig), (3, 0, 2, 1))
    ym = xp.matmul(xm, wm)
    yf = ym.transpose(2, 1, 3, 0).reshape(n_batch, c_out, *xf.shape[2:])
    y1 = xp.fft.irfftn(yf, s=fr["sizes"], axes=fr["axes"])
    y = y1[(slice(None), slice(None), *fr["keep"])].astype(x.dtype, copy=False)
    if bias is not None:
        y = y + bias.reshape((1, c_out) + (1,) * imap.ndim)
    return xp.ascontiguousarray(y)


@functools.lru_cache(maxsize=64)
def _frame(xp: Any, imap: IndexMap) -> dict[str, Any]:
    """Geometry of the FFT frame shared by the three passes (all read off the index map), cached per array module
    and map (SymPy substitutions cost milliseconds: not per call).  Read-only."""
    if imap.padding_mode != "zeros":
        raise SpecError(f"padding_mode={imap.padding_mode!r}: the FFT path supports 'zeros' only")
    geo = slab_geometry(imap)
    taps = [t.ravel() for t in np.meshgrid(*[np.arange(len(a.tap_offsets)) for a in geo], indexing="ij")]
    return dict(geo=geo, crop=tuple(slice(*a.crop) for a in geo), pads=[a.pads for a in geo],
                sizes=[next_fast_len(a.length, real=True) for a in geo], k_eff=[a.effective_kernel for a in geo],
                dest=tuple(xp.asarray(np.asarray(a.tap_offsets)[t]) for a, t in zip(geo, taps)),
                src=tuple(xp.asarray(np.asarray(a.weight_taps)[t]) for a, t in zip(geo, taps)),
                keep=tuple(a.keep for a in geo), axes=tuple(range(2, 2 + imap.ndim)), lengths=[a.length for a in geo])


def _spectra(xp: Any, fr: dict[str, Any], x: Any, w: Any, imap: IndexMap) -> tuple[Any, Any]:
    all_ = (slice(None), slice(None))
    slab = xp.pad(x[(*all_, *fr["crop"])], [(0, 0), (0, 0), *fr["pads"]])
    wd = xp.zeros((w.shape[0], w.shape[1], *fr["k_eff"]), dtype=w.dtype)
    wd[(*all_, *fr["dest"])] = w[(*all_, *fr["src"])]
    return (xp.fft.rfftn(slab, s=fr["sizes"], axes=fr["axes"]), xp.fft.rfftn(wd, s=fr["sizes"], axes=fr["axes"]))


def _frequency_major(xp: Any, spectrum: Any, blocks: tuple[int, int, int], order: tuple[int, ...]) -> Any:
    """A ``(A, B, *F)`` spectrum as a contiguous operand of the per-frequency batched GEMM: its two leading axes
    split into ``blocks`` (three), the frequencies flattened last, then the axes put in ``order``."""
    nf = int(np.prod(spectrum.shape[2:]))
    return xp.ascontiguousarray(spectrum.reshape(*blocks, nf).transpose(order))


def _dy_spectrum(xp: Any, fr: dict[str, Any], dy: Any) -> Any:
    full = xp.zeros((*dy.shape[:2], *[v - k + 1 for v, k in zip(fr["lengths"], fr["k_eff"])]), dtype=dy.dtype)
    full[(slice(None), slice(None), *fr["keep"])] = dy
    return xp.fft.rfftn(full, s=fr["sizes"], axes=fr["axes"])


def fft_conv_grad_input(xp: Any, dy: Any, w: Any, imap: IndexMap, groups: int, input_shape: tuple[int, ...]) -> Any:
    """Input gradient of :func:`fft_conv`: ``rfft(dy) * rfft(w_dilated)``, channel sum per frequency."""
    fr = _frame(xp, imap)
    n_batch, c_out = dy.shape[:2]
    c_in = input_shape[1]
    cig, cog = c_in // groups, c_out // groups
    dummy = xp.zeros((1, 1, *[int(a.n) for a in imap.axes]), dtype=dy.dtype)
    _, wf = _spectra(xp, fr, dummy, w, imap)
    yf = _dy_spectrum(xp, fr, dy)
    ym = _frequency_major(xp, yf, (n_batch, groups, cog), (3, 1, 0, 2))  # (F, G, N, Cog)
    wm = _frequency_major(xp, wf, (groups, cog, cig), (3, 0, 1, 2))  # (F, G, Cog, Cig)
    sf = xp.matmul(ym, wm).transpose(2, 1, 3, 0).reshape(n_batch, c_in, *yf.shape[2:])
    dslab = xp.fft.irfftn(sf, s=fr["sizes"], axes=fr["axes"])
    inner = tuple(slice(lo, lo + (c.stop - c.start)) for (lo, _), c in zip(fr["pads"], fr["crop"]))
    dx = xp.zeros(input_shape, dtype=dy.dtype)
    dx[(slice(None), slice(None), *fr["crop"])] = dslab[(slice(None), slice(None), *inner)]
    return dx


def fft_conv_grad_weight(xp: Any, x: Any, dy: Any, imap: IndexMap, groups: int,
                         weight_shape: tuple[int, ...]) -> Any:
    """Weight gradient of :func:`fft_conv`: ``rfft(slab) * conj(rfft(dy))``, batch sum per frequency."""
    fr = _frame(xp, imap)
    n_batch, c_in = x.shape[:2]
    c_out = dy.shape[1]
    cig, cog = c_in // groups, c_out // groups
    xf, _ = _spectra(xp, fr, x, xp.zeros((1, 1) + tuple(int(a.kernel) for a in imap.axes), dtype=x.dtype), imap)
    yf = xp.conj(_dy_spectrum(xp, fr, dy))
    ym = _frequency_major(xp, yf, (n_batch, groups, cog), (3, 1, 2, 0))  # (F, G, Cog, N)
    xm = _frequency_major(xp, xf, (n_batch, groups, cig), (3, 1, 0, 2))  # (F, G, N, Cig)
    wf = xp.matmul(ym, xm).transpose(1, 2, 3, 0).reshape(c_out, cig, *xf.shape[2:])
    dwd = xp.fft.irfftn(wf, s=fr["sizes"], axes=fr["axes"])
    dw = xp.zeros(weight_shape, dtype=x.dtype)
    all_ = (slice(None), slice(None))
    dw[(*all_, *fr["src"])] = dwd[(*all_, *fr["dest"])]
    return dw
