"""Planted bugs, one per class the harness must catch, written the way kernel authors write them.

Each is a correct float32 computation (the float64 references, rounded) with
one realistic mistake; the mistake fires only where the class says (a batch
above 2, a channel tail past a tile of 4, ...).
"""

from __future__ import annotations

import time

import numpy as np

import convalg.reference as ref
from convalg.reference import direct


def _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    y = direct.conv(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                    padding_mode=padding_mode)
    return y.astype(x.dtype)


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
    return direct.conv_transpose(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                                 groups=groups, dilation=dilation).astype(x.dtype)


def batch_in_pairs(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Processes the batch two samples at a time; the loop bound drops a trailing odd sample."""
    parts = [_conv(x[n:n + 2], weight, bias, stride, padding, dilation, groups, padding_mode)
             for n in range(0, x.shape[0] - 1, 2)] or [_conv(x, weight, bias, stride, padding, dilation, groups,
                                                             padding_mode)]
    y = np.concatenate(parts)
    if y.shape[0] < x.shape[0]:
        y = np.concatenate([y, y[-1:]])  # the tail reuses the last computed sample
    return y


def channel_tiles_of_four(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Sums input channels in tiles of 4 per group; a partial last tile is skipped (C_in/groups > 4 only)."""
    cin_g = weight.shape[1]
    if cin_g > 4 and cin_g % 4:
        keep = np.ones(cin_g, bool)
        keep[4 * (cin_g // 4):] = False
        weight = weight * keep.reshape(1, -1, *(1,) * (weight.ndim - 2))
    return _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)


def large_kernel_path(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """A separate path for kernels wider than 3 that drops the last tap of the last axis."""
    if weight.shape[-1] > 3:
        weight = weight.copy()
        weight[..., -1] = 0
    return _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)


def tail_tile_shift(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Outputs past column 20 come from a tail tile whose start is off by one."""
    y = _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    if y.shape[-1] > 20:
        y[..., 20:] = y[..., 19:-1].copy()
    return y


def shrinks_input(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Pre-scales the input in place (x *= 0.5) and compensates in the output."""
    x *= 0.5
    y = _conv(x, weight, None, stride, padding, dilation, groups, padding_mode) * 2
    return (y + bias.reshape(-1, *(1,) * (x.ndim - 2)) if bias is not None else y).astype(x.dtype)


def scales_input_up(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Multiplies the input by 4 in place and divides the result: a correct result, a clobbered input."""
    x *= 4
    y = _conv(x, weight, None, stride, padding, dilation, groups, padding_mode) / 4
    return (y + bias.reshape(-1, *(1,) * (x.ndim - 2)) if bias is not None else y).astype(x.dtype)


def accumulate_in(acc_dtype):
    """A 1-d conv (zeros padding) that adds its ``C_in/groups * k`` products one by one in ``acc_dtype``
    (products exact in float32 for float16 inputs) and stores ``x.dtype``."""

    def conv1d(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
        from convalg import Conv

        (s,), (d,), k = stride, dilation, weight.shape[2]
        (lo, hi), = Conv((k,), stride=stride, padding=padding, dilation=dilation, ndim=1).padding
        xp = np.pad(x.astype(np.float32), [(0, 0), (0, 0), (lo, hi)])
        n_out = (xp.shape[2] - d * (k - 1) - 1) // s + 1
        cout, cin_g = weight.shape[:2]
        cout_g = cout // groups
        acc = np.zeros((x.shape[0], cout, n_out), dtype=acc_dtype)
        for ci in range(cin_g):
            for t in range(k):
                cols = xp[:, :, t * d: t * d + s * (n_out - 1) + 1: s]  # (N, C_in, out)
                src = cols.reshape(x.shape[0], groups, -1, n_out)[:, :, ci]  # (N, G, out)
                src = np.repeat(src, cout_g, axis=1)  # (N, C_out, out)
                term = weight[:, ci, t].astype(np.float32).reshape(1, -1, 1) * src
                acc = (acc + term.astype(acc_dtype)).astype(acc_dtype)
        if bias is not None:
            acc = (acc + bias.astype(acc_dtype).reshape(1, -1, 1)).astype(acc_dtype)
        return acc.astype(x.dtype)

    conv1d.__qualname__ = f"accumulate_in[{np.dtype(acc_dtype).name}]"
    return conv1d


def returns_list(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    return _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode).tolist()


def returns_float64(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    return direct.conv(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                       padding_mode=padding_mode)


def hangs_on_groups(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Deadlocks (sleeps) when groups > 1."""
    if groups > 1:
        time.sleep(60)
    return _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)


def ignores_padding_mode(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    return _conv(x, weight, bias, stride, padding, dilation, groups)


def nan_skipping_max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    """Max pooling that treats NaN as missing (np.fmax semantics)."""
    clean = np.where(np.isnan(x), -np.inf, x)
    out = ref.max_pool(clean, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return (out[0].astype(x.dtype), out[1]) if return_indices else out.astype(x.dtype)


def clamps_infinity(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Clamps the input to the float32 range first (inf -> 3.4e38)."""
    big = np.finfo(np.float32).max
    return _conv(np.clip(x, -big, big), weight, bias, stride, padding, dilation, groups, padding_mode)


def sanitizes_weights(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Replaces non-finite weights and bias by zeros."""
    weight = np.where(np.isfinite(weight), weight, 0).astype(weight.dtype)
    bias = None if bias is None else np.where(np.isfinite(bias), bias, 0).astype(bias.dtype)
    return _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)


def assumes_contiguous(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
    """Reads the input's memory as if it were C-contiguous (what a C extension without a stride check does)."""
    if all(s > 0 for s in x.strides):
        c_strides = tuple(int(np.prod(x.shape[i + 1:])) * x.itemsize for i in range(x.ndim))
        x = np.lib.stride_tricks.as_strided(x, x.shape, c_strides).copy()
    return _conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)


# --- backward and the other ops -------------------------------------------------------------------------------

def conv_input_ignores_groups(input_size, weight, grad_output, stride, padding, dilation, groups):
    """Input gradient that uses the first group's weights for every group."""
    w = weight.copy()
    per = w.shape[0] // groups
    for g in range(1, groups):
        w[g * per:(g + 1) * per] = w[:per]
    return direct.conv_grad_input(grad_output, w, input_size, stride=stride, padding=padding, dilation=dilation,
                                  groups=groups).astype(weight.dtype)


def conv_weight_first_sample(x, weight_size, grad_output, stride, padding, dilation, groups):
    """Weight gradient summed over the first sample of the batch only."""
    return direct.conv_grad_weight(x[:1], grad_output[:1], weight_size, stride=stride, padding=padding,
                                   dilation=dilation, groups=groups).astype(x.dtype)


def conv_transpose_input_no_flip(input_size, weight, grad_output, stride, padding, output_padding, groups,
                                 dilation):
    """conv_transpose input gradient computed as a conv with a flipped kernel (it needs none)."""
    from convalg.testing.references import conv_transpose_grad_input

    w = weight[(Ellipsis, *[slice(None, None, -1)] * (weight.ndim - 2))]
    return conv_transpose_grad_input(grad_output, w, input_size, stride, padding, output_padding, groups,
                                     dilation).astype(weight.dtype)


def conv_transpose_weight_transposed_channels(x, weight_size, grad_output, stride, padding, output_padding, groups,
                                              dilation):
    """conv_transpose weight gradient with the taps in flipped order (the conv rule applied to the transpose)."""
    from convalg.testing.references import conv_transpose_grad_weight

    dw = conv_transpose_grad_weight(x, weight_size, grad_output, stride, padding, output_padding, groups, dilation)
    return dw[(Ellipsis, *[slice(None, None, -1)] * (dw.ndim - 2))].astype(x.dtype)


def max_pool_backward_assigns(grad_output, x, kernel_size, stride, padding, dilation, ceil_mode, indices):
    """Scatters with assignment: overlapping windows overwrite instead of adding."""
    dx = np.zeros(x.shape, dtype=np.float64).reshape(x.shape[0] * x.shape[1], -1)
    g = grad_output.reshape(dx.shape[0], -1)
    idx = indices.reshape(dx.shape[0], -1)
    for p in range(dx.shape[0]):
        dx[p, idx[p]] = g[p]
    return dx.reshape(x.shape).astype(x.dtype)


def avg_pool_backward_counts_padding(grad_output, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                     divisor_override):
    """Always divides by the full window (as if count_include_pad=True)."""
    return ref.avg_pool_grad(grad_output, x.shape, kernel_size, stride, padding, ceil_mode, True,
                             divisor_override).astype(x.dtype)


def adaptive_avg_floor_end(x, output_size):
    """Adaptive windows end at floor((o+1)*n/m) instead of the ceiling (misses elements when m does not divide n)."""
    sizes = [n if m is None else m for n, m in zip(x.shape[2:], output_size)]
    y = np.asarray(x, np.float64)
    for a, m in enumerate(sizes):
        n = y.shape[2 + a]
        cols = []
        for o in range(m):
            lo, hi = (o * n) // m, max((o * n) // m + 1, ((o + 1) * n) // m)
            cols.append(np.take(y, range(lo, hi), axis=2 + a).mean(axis=2 + a))
        y = np.stack(cols, axis=2 + a)
    return y.astype(x.dtype)


def adaptive_max_first_window_only(x, output_size, return_indices):
    """Returns the values of output_size computed on the wrong (last-axis-first) window rule for indices."""
    y, i = ref.adaptive_max_pool(x, output_size, return_indices=True)
    if return_indices:
        return y.astype(x.dtype), np.maximum(i - 1, 0)  # off-by-one flat indices
    return y.astype(x.dtype)


def fold_assigns(x, output_size, kernel_size, dilation, padding, stride):
    """fold that writes each tap instead of adding overlapping ones."""
    from convalg.testing.references import fold, unfold

    y = fold(x, output_size, kernel_size, dilation, padding, stride)
    counts = fold(unfold(np.ones((1, 1, *output_size)), kernel_size, dilation, padding, stride), output_size,
                  kernel_size, dilation, padding, stride)
    return (y / np.maximum(counts, 1)).astype(x.dtype)


def unfold_transposed_taps(x, kernel_size, dilation, padding, stride):
    """unfold with the kernel taps in column-major order."""
    from convalg.testing.references import unfold

    cols = unfold(x, kernel_size, dilation, padding, stride)
    n, _, L = cols.shape
    kh, kw = kernel_size
    cols = cols.reshape(n, -1, kh, kw, L).swapaxes(2, 3).reshape(n, -1, L)
    return cols.astype(x.dtype)
