"""Independent brute-force loop implementations written from PyTorch's documented formulas,
NOT from convalg's index map.

All take a batch ``x`` of shape ``(B, C, *spatial)`` (float64) and explicit
per-axis parameters.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

_NP_MODE = {"circular": "wrap", "reflect": "reflect", "replicate": "edge"}


def pad_input(x: np.ndarray, pads: list[tuple[int, int]], mode: str) -> np.ndarray:
    """``F.pad`` semantics on the spatial axes; negative zero-pads crop."""
    nd = len(pads)
    if mode == "zeros":
        for a, (lo, hi) in enumerate(pads):
            ax = x.ndim - nd + a
            if lo < 0:
                x = np.take(x, range(-lo, x.shape[ax]), axis=ax)
            if hi < 0:
                x = np.take(x, range(0, x.shape[ax] + hi), axis=ax)
        width = [(0, 0)] * (x.ndim - nd) + [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
        return np.pad(x, width)
    width = [(0, 0)] * (x.ndim - nd) + list(pads)
    return np.pad(x, width, mode=_NP_MODE[mode])


def conv(x, w, stride, pads, dilation, groups=1, mode="zeros", flip=False):
    """``out[co, o] = sum_{ci, j} w[co, ci, j] * xpad[g*Cin/G + ci, o*s + j*d]`` (flip: ``w[.., K-1-j]``)."""
    B, cin = x.shape[:2]
    cout, cpg = w.shape[:2]
    ks = w.shape[2:]
    xp = pad_input(x, pads, mode)
    outs = [(xp.shape[2 + a] - dilation[a] * (ks[a] - 1) - 1) // stride[a] + 1 for a in range(len(ks))]
    y = np.zeros((B, cout, *outs))
    opg = cout // groups
    for co in range(cout):
        g = co // opg
        for ci in range(cpg):
            for j in itertools.product(*map(range, ks)):
                wj = tuple(k - 1 - t for k, t in zip(ks, j)) if flip else j
                for o in itertools.product(*map(range, outs)):
                    pos = tuple(o[a] * stride[a] + j[a] * dilation[a] for a in range(len(ks)))
                    y[(slice(None), co, *o)] += w[(co, ci, *wj)] * xp[(slice(None), g * cpg + ci, *pos)]
    return y


def conv_transpose(x, w, stride, pads, dilation, output_padding, groups=1, flip=False):
    """``y[co, i*s + j*d - lo] += x[c, i] * w[c, co_local, j]``, cropped to the output size."""
    B, cin = x.shape[:2]
    opg = w.shape[1]
    cout = opg * groups
    ks = w.shape[2:]
    nd = len(ks)
    ins = x.shape[2:]
    outs = [(ins[a] - 1) * stride[a] - pads[a][0] - pads[a][1] + dilation[a] * (ks[a] - 1) + output_padding[a] + 1
            for a in range(nd)]
    y = np.zeros((B, cout, *outs))
    ipg = cin // groups
    for c in range(cin):
        g = c // ipg
        for jo in range(opg):
            for j in itertools.product(*map(range, ks)):
                wj = tuple(k - 1 - t for k, t in zip(ks, j)) if flip else j
                for i in itertools.product(*map(range, ins)):
                    pos = tuple(i[a] * stride[a] + j[a] * dilation[a] - pads[a][0] for a in range(nd))
                    if all(0 <= p < n for p, n in zip(pos, outs)):
                        y[(slice(None), g * opg + jo, *pos)] += w[(c, jo, *wj)] * x[(slice(None), c, *i)]
    return y


def pool_out(n, k, s, lo, hi, ceil_mode, d=1):
    """``pooling_output_shape_pad_lr``."""
    num = n + lo + hi - d * (k - 1) - 1
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + lo:
        o -= 1
    return o


def avg_pool(x, kernel, stride, pads, ceil_mode, count_include_pad, divisor_override):
    """CPU kernel: ``hs = o*s - lo; he = min(hs + k, n + hi)``, pool size ``he - hs``; clamp; sum / divisor."""
    spatial = x.shape[2:]
    nd = len(spatial)
    outs = [pool_out(spatial[a], kernel[a], stride[a], *pads[a], ceil_mode) for a in range(nd)]
    y = np.zeros((*x.shape[:2], *outs))
    for o in itertools.product(*map(range, outs)):
        starts, ends, size = [], [], 1
        for a in range(nd):
            hs = o[a] * stride[a] - pads[a][0]
            he = min(hs + kernel[a], spatial[a] + pads[a][1])
            size *= he - hs
            starts.append(max(hs, 0))
            ends.append(min(he, spatial[a]))
        window = tuple(slice(s, e) for s, e in zip(starts, ends))
        total = x[(slice(None), slice(None), *window)].sum(axis=tuple(range(2, 2 + nd)))
        count = math.prod(e - s for s, e in zip(starts, ends))
        div = divisor_override if divisor_override else (size if count_include_pad else count)
        y[(slice(None), slice(None), *o)] = total / div
    return y


def adaptive_windows(n, m):
    return [((o * n) // m, -((-(o + 1) * n) // m)) for o in range(m)]


def adaptive_avg_pool(x, out):
    spatial = x.shape[2:]
    wins = [adaptive_windows(n, m) for n, m in zip(spatial, out)]
    y = np.zeros((*x.shape[:2], *out))
    for o in itertools.product(*map(range, out)):
        window = tuple(slice(*wins[a][o[a]]) for a in range(len(out)))
        y[(slice(None), slice(None), *o)] = x[(slice(None), slice(None), *window)].mean(axis=tuple(range(2, x.ndim)))
    return y


def max_pool_indices(x, kernel, stride, pads, dilation, ceil_mode):
    """``(B, C, *out)`` argmax per PyTorch CPU: scan row-major, ``val > maxval or isnan(val)``, padding skipped."""
    spatial = x.shape[2:]
    nd = len(spatial)
    outs = [pool_out(spatial[a], kernel[a], stride[a], *pads[a], ceil_mode, dilation[a]) for a in range(nd)]
    idx = np.zeros((*x.shape[:2], *outs), dtype=np.int64)
    for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        plane = x[b, c]
        for o in itertools.product(*map(range, outs)):
            best, maxval = None, -np.inf
            for j in itertools.product(*map(range, kernel)):
                pos = tuple(o[a] * stride[a] - pads[a][0] + j[a] * dilation[a] for a in range(nd))
                if not all(0 <= p < n for p, n in zip(pos, spatial)):
                    continue
                flat = int(np.ravel_multi_index(pos, spatial))
                if best is None:
                    best = flat
                val = plane[pos]
                if val > maxval or np.isnan(val):
                    best, maxval = flat, val
            idx[(b, c, *o)] = -1 if best is None else best  # -1: the window reads only padding
    return idx
