"""torch's own ops as harness targets (torch tensors in and out: ``array='torch'``).

Forward ops are ``torch.nn.functional``; conv gradients ``torch.nn.grad`` and
``aten.convolution_backward``; pooling backward the aten kernels (1-d through
2-d with a unit axis, as torch itself does).
"""

from __future__ import annotations

import warnings


def _pad_pairs(padding, kernel, dilation):
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
    return [(p, p) for p in padding]


def torch_targets():
    """``op -> target`` for every harness op."""
    import torch
    import torch.nn.functional as F
    import torch.nn.grad as G

    aten = torch.ops.aten
    ops = {}
    for nd in (1, 2, 3):
        def conv(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros", _nd=nd):
            f = getattr(F, f"conv{_nd}d")
            if padding_mode != "zeros":
                pairs = _pad_pairs(padding, weight.shape[2:], dilation)
                flat = [v for lo_hi in reversed(pairs) for v in lo_hi]
                x, padding = F.pad(x, flat, mode=padding_mode), 0
            with warnings.catch_warnings():  # torch warns that asymmetric 'same' pads a copy of the input
                warnings.simplefilter("ignore", UserWarning)
                return f(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)

        def conv_t(x, weight, bias, stride, padding, output_padding, groups, dilation, _nd=nd):
            return getattr(F, f"conv_transpose{_nd}d")(x, weight, bias, stride=stride, padding=padding,
                                                       output_padding=output_padding, groups=groups,
                                                       dilation=dilation)

        def conv_t_grads(x_or_size, weight_or_size, grad_output, stride, padding, output_padding, groups, dilation,
                         which):
            x = torch.empty(x_or_size, dtype=grad_output.dtype, device=grad_output.device) if which == 0 \
                else x_or_size
            w = weight_or_size if which == 0 else torch.empty(weight_or_size, dtype=grad_output.dtype,
                                                              device=grad_output.device)
            out = aten.convolution_backward(grad_output, x, w, None, list(stride), list(padding), list(dilation),
                                            True, list(output_padding), groups, [which == 0, which == 1, False])
            return out[which]

        def ct_input(input_size, weight, grad_output, stride, padding, output_padding, groups, dilation):
            return conv_t_grads(input_size, weight, grad_output, stride, padding, output_padding, groups, dilation, 0)

        def ct_weight(x, weight_size, grad_output, stride, padding, output_padding, groups, dilation):
            return conv_t_grads(x, weight_size, grad_output, stride, padding, output_padding, groups, dilation, 1)

        def max_bw(grad_output, x, kernel_size, stride, padding, dilation, ceil_mode, indices, _nd=nd):
            if _nd == 1:
                return aten.max_pool2d_with_indices_backward(
                    grad_output.unsqueeze(2), x.unsqueeze(2), (1, *kernel_size), (1, *stride), (0, *padding),
                    (1, *dilation), ceil_mode, indices.unsqueeze(2)).squeeze(2)
            f = getattr(aten, f"max_pool{_nd}d_with_indices_backward")
            return f(grad_output, x, kernel_size, stride, padding, dilation, ceil_mode, indices)

        def avg_bw(grad_output, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                   _nd=nd):
            if _nd == 1:
                return aten.avg_pool2d_backward(grad_output.unsqueeze(2), x.unsqueeze(2), (1, *kernel_size),
                                                (1, *stride), (0, *padding), ceil_mode, count_include_pad,
                                                divisor_override).squeeze(2)
            f = getattr(aten, f"avg_pool{_nd}d_backward")
            return f(grad_output, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

        def avg(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, _nd=nd):
            if _nd == 1:  # F.avg_pool1d has no divisor_override: go through avg_pool2d
                return F.avg_pool2d(x.unsqueeze(2), (1, *kernel_size), (1, *(stride or kernel_size)), (0, *padding),
                                    ceil_mode, count_include_pad, divisor_override).squeeze(2)
            return getattr(F, f"avg_pool{_nd}d")(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                                divisor_override)

        ops.update({
            f"conv{nd}d": conv, f"conv_transpose{nd}d": conv_t,
            f"conv{nd}d_input": getattr(G, f"conv{nd}d_input"), f"conv{nd}d_weight": getattr(G, f"conv{nd}d_weight"),
            f"conv_transpose{nd}d_input": ct_input, f"conv_transpose{nd}d_weight": ct_weight,
            f"max_pool{nd}d": getattr(F, f"max_pool{nd}d"), f"avg_pool{nd}d": avg,
            f"max_pool{nd}d_backward": max_bw, f"avg_pool{nd}d_backward": avg_bw,
            f"adaptive_avg_pool{nd}d": getattr(F, f"adaptive_avg_pool{nd}d"),
            f"adaptive_max_pool{nd}d": getattr(F, f"adaptive_max_pool{nd}d"),
        })
    ops["unfold"], ops["fold"] = F.unfold, F.fold
    return ops


#: Support switches torch's own ops need (CPU avg_pool3d rejects inputs smaller than the kernel).
TORCH_OPTIONS = {"avg_pool3d": {"input_smaller_than_kernel": False},
                 "avg_pool3d_backward": {"input_smaller_than_kernel": False}}


def numpy_wrapped(target):
    """A torch target behind NumPy arrays (NumPy in, NumPy out): the NumPy adapter's correct kernels."""
    import numpy as np
    import torch

    def conv(a):
        return torch.from_numpy(np.array(a, order="C", copy=True)) if isinstance(a, np.ndarray) else a

    def back(r):
        return tuple(back(v) for v in r) if isinstance(r, tuple) else r.numpy()

    def wrapped(*args, **kwargs):
        return back(target(*[conv(a) for a in args], **{k: conv(v) for k, v in kwargs.items()}))

    wrapped.__qualname__ = f"numpy_wrapped[{getattr(target, '__name__', 'target')}]"
    return wrapped
