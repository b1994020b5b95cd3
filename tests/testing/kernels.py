"""Kernels for the harness tests: correct ones (scipy, NumPy im2col, torch adapters) and realistic broken ones.

Each is written independently of convalg's references (its own padding and
index arithmetic), as a third party would.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import scipy.signal


def _tuple(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _pairs(padding, kernel, dilation, nd, same_extra_at_start=False):
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            small, big = total // 2, total - total // 2
            out.append((big, small) if same_extra_at_start else (small, big))
        return out
    return [p if isinstance(p, (tuple, list)) else (p, p) for p in _tuple(padding, nd)]


def _pad(x, pairs):
    return np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pairs])


def scipy_conv(x, weight, bias, stride, padding, dilation, groups):
    """Cross-correlation with scipy.signal.correlate per (sample, out channel, in channel), float64."""
    nd = x.ndim - 2
    k = weight.shape[2:]
    stride, dilation = _tuple(stride, nd), _tuple(dilation, nd)
    xp = _pad(x.astype(np.float64), _pairs(padding, k, dilation, nd))
    kern = np.zeros(weight.shape[:2] + tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k)))
    kern[(Ellipsis, *[slice(None, None, d) for d in dilation])] = weight
    cin_g, cout_g = x.shape[1] // groups, weight.shape[0] // groups
    out = []
    for n in range(x.shape[0]):
        rows = []
        for co in range(weight.shape[0]):
            g = co // cout_g
            acc = sum(scipy.signal.correlate(xp[n, g * cin_g + ci], kern[co, ci], mode="valid", method="direct")
                      for ci in range(cin_g))
            rows.append(acc[tuple(slice(None, None, s) for s in stride)])
        out.append(rows)
    y = np.array(out)
    if bias is not None:
        y = y + np.asarray(bias, np.float64).reshape((-1,) + (1,) * nd)
    return y.astype(x.dtype)


def make_im2col_conv(bug=None):
    """A float32-style im2col + matmul convolution; ``bug`` injects one realistic mistake.

    bugs: ``'same_extra_at_start'`` (TF SAME_LOWER split for 'same': off-by-one padding),
    ``'ignore_dilation'`` (taps read at unit spacing, output size still right),
    ``'group_offset'`` (every group reads the first group's input channels).
    """

    def conv(x, weight, bias, stride, padding, dilation, groups):
        nd = x.ndim - 2
        k = weight.shape[2:]
        stride, dilation = _tuple(stride, nd), _tuple(dilation, nd)
        xp = _pad(x, _pairs(padding, k, dilation, nd, same_extra_at_start=bug == "same_extra_at_start"))
        out_sp = tuple((xp.shape[2 + a] - dilation[a] * (k[a] - 1) - 1) // stride[a] + 1 for a in range(nd))
        tap_step = (1,) * nd if bug == "ignore_dilation" else dilation
        cin_g, cout_g = x.shape[1] // groups, weight.shape[0] // groups
        n = x.shape[0]
        y = np.zeros((n, weight.shape[0]) + out_sp, dtype=x.dtype)
        for g in range(groups):
            first = 0 if bug == "group_offset" else g * cin_g
            xs = xp[:, first:first + cin_g]
            cols = []
            for tap in itertools.product(*[range(kk) for kk in k]):
                sl = tuple(slice(t * ts, t * ts + s * (o - 1) + 1, s) for t, ts, s, o in zip(tap, tap_step, stride, out_sp))
                cols.append(xs[(slice(None), slice(None), *sl)])
            col = np.stack(cols, axis=2).reshape(n, cin_g * int(np.prod(k)), -1)  # (N, Cin_g*K, L)
            wmat = weight[g * cout_g:(g + 1) * cout_g].reshape(cout_g, -1)
            y[:, g * cout_g:(g + 1) * cout_g] = (wmat @ col).reshape((n, cout_g) + out_sp)
        if bias is not None:
            y = y + bias.reshape((-1,) + (1,) * nd)
        return y

    conv.__qualname__ = f"im2col_conv[{bug}]"
    return conv


def make_transpose_conv(bug=None):
    """conv_transpose as a stride-1 conv of the zero-stuffed input; ``bug='no_flip'`` forgets the kernel flip."""

    def conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
        nd = x.ndim - 2
        k = weight.shape[2:]
        stride, dilation = _tuple(stride, nd), _tuple(dilation, nd)
        padding, output_padding = _tuple(padding, nd), _tuple(output_padding, nd)
        stuffed = np.zeros(x.shape[:2] + tuple(s * (n - 1) + 1 for s, n in zip(stride, x.shape[2:])), x.dtype)
        stuffed[(Ellipsis, *[slice(None, None, s) for s in stride])] = x
        cin, cout_g = weight.shape[0], weight.shape[1]
        w = weight.reshape(groups, cin // groups, cout_g, *k).swapaxes(1, 2).reshape(groups * cout_g, cin // groups, *k)
        if bug != "no_flip":
            w = w[(Ellipsis, *[slice(None, None, -1)] * nd)]
        pads = []
        for kk, d, p, op in zip(k, dilation, padding, output_padding):
            pads.append((d * (kk - 1) - p, d * (kk - 1) - p + op))
        lo_crop = [max(-lo, 0) for lo, _ in pads]
        hi_crop = [max(-hi, 0) for _, hi in pads]
        stuffed = stuffed[(Ellipsis, *[slice(a, stuffed.shape[2 + i] - b) for i, (a, b) in enumerate(zip(lo_crop, hi_crop))])]
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
        return make_im2col_conv()(stuffed, w, bias, 1, pos, dilation, groups)

    conv_transpose.__qualname__ = f"transpose_conv[{bug}]"
    return conv_transpose


def make_max_pool(bug=None):
    """Max pooling by window scan; ``bug='last_max'`` uses ``>=`` (the last maximum wins ties)."""

    def max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        nd = x.ndim - 2
        k, s = _tuple(kernel_size, nd), _tuple(stride if stride is not None else kernel_size, nd)
        d, p = _tuple(dilation, nd), _tuple(padding, nd)
        sp = x.shape[2:]
        out = []
        for n, kk, ss, dd, pp in zip(sp, k, s, d, p):
            span = n + 2 * pp - dd * (kk - 1) - 1
            o = (-(-span // ss) if ceil_mode else span // ss) + 1
            if ceil_mode and (o - 1) * ss >= n + pp:
                o -= 1
            out.append(o)
        y = np.full(x.shape[:2] + tuple(out), -np.inf, dtype=x.dtype)
        idx = np.zeros(y.shape, dtype=np.int64)
        for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
            for o in itertools.product(*[range(m) for m in out]):
                best, best_i = -np.inf, None
                for t in itertools.product(*[range(kk) for kk in k]):
                    pos = tuple(oo * ss - pp + tt * dd for oo, ss, pp, tt, dd in zip(o, s, p, t, d))
                    if not all(0 <= q < n for q, n in zip(pos, sp)):
                        continue
                    v = x[(b, c) + pos]
                    if best_i is None:
                        best_i = pos
                    if (v >= best if bug == "last_max" else v > best) or np.isnan(v):
                        best, best_i = v, pos
                y[(b, c) + o] = best
                idx[(b, c) + o] = np.ravel_multi_index(best_i, sp)
        return (y, idx) if return_indices else y

    max_pool.__qualname__ = f"max_pool[{bug}]"
    return max_pool


def make_avg_pool(bug=None):
    """Average pooling; ``bug='overhang_divisor'`` counts the ceil-mode overhang past the padding in the divisor."""

    def avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        nd = x.ndim - 2
        k, s = _tuple(kernel_size, nd), _tuple(stride if stride is not None else kernel_size, nd)
        p = _tuple(padding, nd)
        sp = x.shape[2:]
        out = []
        for n, kk, ss, pp in zip(sp, k, s, p):
            span = n + 2 * pp - kk
            o = (-(-span // ss) if ceil_mode else span // ss) + 1
            if ceil_mode and (o - 1) * ss >= n + pp:
                o -= 1
            out.append(o)
        y = np.zeros(x.shape[:2] + tuple(out), dtype=np.float64)
        for o in itertools.product(*[range(m) for m in out]):
            starts = [oo * ss - pp for oo, ss, pp in zip(o, s, p)]
            ends = [min(st + kk, n + pp) for st, kk, n, pp in zip(starts, k, sp, p)]
            if bug == "overhang_divisor":
                ends = [st + kk for st, kk in zip(starts, k)]
            pool = int(np.prod([e - st for st, e in zip(starts, ends)]))
            lo = [max(st, 0) for st in starts]
            hi = [min(st + kk, n) for st, kk, n in zip(starts, k, sp)]
            window = x[(Ellipsis, *[slice(a, b) for a, b in zip(lo, hi)])].astype(np.float64)
            total = window.sum(axis=tuple(range(2, 2 + nd)))
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = pool
            else:
                div = int(np.prod([b - a for a, b in zip(lo, hi)]))
            y[(Ellipsis, *o)] = total / div
        return y.astype(x.dtype)

    avg_pool.__qualname__ = f"avg_pool[{bug}]"
    return avg_pool


def torch_ops():
    """``op -> target`` adapters around torch.nn.functional (NumPy in, NumPy out)."""
    import torch
    import torch.nn.functional as F

    def t(a):
        return None if a is None else torch.from_numpy(np.array(a, order="C", copy=True))

    ops = {}
    for nd in (1, 2, 3):
        conv, convt = getattr(F, f"conv{nd}d"), getattr(F, f"conv_transpose{nd}d")
        mp, ap = getattr(F, f"max_pool{nd}d"), getattr(F, f"avg_pool{nd}d")

        def c(x, w, b, stride, padding, dilation, groups, _f=conv):
            with warnings.catch_warnings():  # torch warns that asymmetric 'same' pads a copy of the input
                warnings.simplefilter("ignore", UserWarning)
                return _f(t(x), t(w), t(b), stride, padding, dilation, groups).numpy()

        def ct(x, w, b, stride, padding, output_padding, groups, dilation, _f=convt):
            return _f(t(x), t(w), t(b), stride, padding, output_padding, groups, dilation).numpy()

        def m(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, _f=mp):
            r = _f(t(x), kernel_size, stride, padding, dilation, ceil_mode, return_indices)
            return (r[0].numpy(), r[1].numpy()) if return_indices else r.numpy()

        def a(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, _f=ap, _nd=nd):
            if _nd == 1:  # F.avg_pool1d has no divisor_override: go through avg_pool2d
                y = F.avg_pool2d(t(x).unsqueeze(2), (1, *kernel_size), (1, *(stride or kernel_size)),
                                 (0, *padding), ceil_mode, count_include_pad, divisor_override)
                return y.squeeze(2).numpy()
            return _f(t(x), kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override).numpy()

        ops.update({f"conv{nd}d": c, f"conv_transpose{nd}d": ct, f"max_pool{nd}d": m, f"avg_pool{nd}d": a})
    return ops
