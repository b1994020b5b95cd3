"""``torch.nn.functional``-style convolution and pooling on NumPy (and CuPy) arrays.

Same names and signatures as :mod:`convalg.reference`, plus ``algorithm=`` on
the convolution ops and ``unfold`` / ``fold``.  Arrays are channels-first
``(N, C, *spatial)`` with any number of spatial dims; weights use PyTorch's
layouts.  Every kernel is generated from the layer's index map
(:mod:`convalg.kernels.numpy`).

=====================  ===================================================================
argument check         result
=====================  ===================================================================
not an array           converted with ``numpy.asarray`` (a CuPy array stays on the GPU)
dtype                  float32 / float64; float16 computes in float32 and returns float16;
                       anything else, or ``weight``/``bias`` of another dtype: ``TypeError``
                       naming the argument
rank, channels         ``x`` ``(N, C, *spatial)``, ``weight`` of the same rank with
                       ``C == weight.shape[1] * groups`` (conv): :class:`~convalg.SpecError`
layout                 non-contiguous or negative-stride arrays are copied contiguous
empty batch            an empty output of the right shape (pools and ``unfold``: empty
                       channels too); adaptive pooling of a zero-size plane: SpecError
layer arguments        ints or tuples of ints, validated before any cache
                       (:func:`convalg.kernels.params.freeze`): ``2.0``, ``True``, arrays:
                       SpecError, whatever was called before
NaN / inf              propagate element-wise as in PyTorch (max pooling: NaN wins); a
                       convolution with non-finite input runs by GEMM even when ``'fft'`` /
                       ``'winograd'`` was asked for (a transform would spread them over a
                       plane / tile); transposed convolutions and input gradients with a
                       non-finite weight run in scatter form (no ``0 * nan``)
empty max-pool window  a window with no tap inside the input: SpecError (as
                       :func:`convalg.operators.max_pool_mask`)
=====================  ===================================================================

``algorithm``: ``'auto'`` (cost model), ``'gemm'``, ``'fft'``, ``'winograd'`` or
``'direct'`` (see :mod:`convalg.kernels.numpy.conv`).

>>> import numpy as np
>>> x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
>>> w = np.ones((3, 2, 3, 3), dtype=np.float32)
>>> conv(x, w, padding=1).shape
(1, 3, 4, 4)
>>> [round(float(conv(x, w, algorithm=a)[0, 0, 0, 0]), 3) for a in ("winograd", "fft", "gemm")]
[234.0, 234.0, 234.0]
>>> max_pool(x, 2, return_indices=True)[1][0, 0].tolist()
[[5, 7], [13, 15]]
>>> conv2d(x, w, padding=1).shape                    # PyTorch's per-rank names check the rank of x
(1, 3, 4, 4)
>>> conv(x, w[:, :1])
Traceback (most recent call last):
...
convalg.errors.SpecError: weight: shape (3, 1, 3, 3) needs x with 1*groups = 1 channels (dim 1 is C_in/groups), got x.shape[1] = 2
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Literal, overload

import numpy as np

from ._ranked import per_rank as _per_rank
from .array_types import Array, ArrayIn, OutputSizes, Padding, Sizes
from .checks import as_shape, check_bool
from .errors import SpecError
from .kernels.arrays import array_module, flip_spatial, is_cupy
from .kernels.base import check_conv_shapes, conv_layer
from .kernels.params import freeze
from .spec.pooling import AvgPool

__all__ = ["conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "max_pool",
           "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool", "unfold", "fold",
           "backend"]

_FLOATS = ("float32", "float64")


def backend(x: object) -> ModuleType:
    """The ops module for ``x``'s array type: NumPy kernels, or the CUDA kernels for CuPy arrays."""
    if is_cupy(x):
        try:
            return importlib.import_module("convalg.kernels.cuda.ops")
        except ImportError as e:
            raise TypeError(f"x: a CuPy array, but the CUDA kernels are unavailable ({e})") from e
    return importlib.import_module("convalg.kernels.numpy.ops")


def _array(name: str, a: Any, like: Any) -> Any:
    if a is None:
        raise TypeError(f"{name}: expected an array, got None")
    if is_cupy(like):
        if not is_cupy(a):
            raise TypeError(f"{name}: expected a CuPy array like x, got {type(a).__name__}")
        return array_module(a).ascontiguousarray(a)
    if is_cupy(a):
        raise TypeError(f"{name}: a CuPy array, but x is a {type(like).__name__}")
    try:
        a = np.asarray(a)
    except ValueError as e:  # ragged nested lists (the references raise the same)
        raise TypeError(f"{name}: expected a real numeric array ({e})") from None
    return np.ascontiguousarray(a)


def _params(**values: Any) -> tuple[Any, ...]:
    """The layer arguments validated and frozen (:func:`convalg.kernels.params.freeze`) before any cache
    sees them, in the order given."""
    return tuple(freeze(name, v) for name, v in values.items())


_NAMES = {np.dtype(t): np.dtype(t).name for t in (np.float16, np.float32, np.float64)}


def _check_dtype(name: str, a: Any, want: str | None = None) -> str:
    dtype = _NAMES.get(a.dtype) or a.dtype.name
    if dtype == "float16" and want in (None, "float16"):
        return dtype
    if want is not None and dtype != want:
        raise TypeError(f"{name}: dtype {dtype} does not match x's dtype {want}")
    if dtype not in _FLOATS:
        raise TypeError(f"{name}: dtype {dtype} is not supported; use float32 or float64 (float16 computes in float32)")
    return dtype


class _Args:
    """Validate and normalise arrays: one compute dtype, contiguous, float16 widened."""

    def __init__(self, x: Any, min_spatial: int = 1, name: str = "x") -> None:
        self.like = x
        x = _array(name, x, x)
        self.in_dtype = _check_dtype(name, x)
        if x.ndim < 2 + min_spatial:
            raise SpecError(f"{name}: expected shape (N, C, *spatial) with at least {min_spatial} spatial dim, "
                            f"got shape {tuple(x.shape)}")
        self.x = x.astype(np.float32) if self.in_dtype == "float16" else x
        self.dtype = _NAMES.get(self.x.dtype) or self.x.dtype.name

    def other(self, name: str, a: Any, ndim: int | None = None, optional: bool = False) -> Any:
        if a is None and optional:
            return None
        a = _array(name, a, self.like)
        _check_dtype(name, a, self.in_dtype)
        if ndim is not None and a.ndim != ndim:
            raise SpecError(f"{name}: expected {ndim} dims, got shape {tuple(a.shape)}")
        return a.astype(np.float32) if self.in_dtype == "float16" else a

    def out(self, y: Any) -> Any:
        if isinstance(y, tuple):
            return (self.out(y[0]), *y[1:])
        return y.astype(np.float16) if self.in_dtype == "float16" else y


def conv(x: ArrayIn, weight: ArrayIn, bias: ArrayIn | None = None, stride: Sizes = 1, padding: Padding = 0,
         dilation: Sizes = 1, groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False,
         algorithm: str = "auto") -> Array:
    """N-d convolution, PyTorch's ``F.conv{1,2,3}d`` (``flip_kernel=True``: true convolution)."""
    a = _Args(x)
    w, b = a.other("weight", weight), a.other("bias", bias, 1, optional=True)
    check_conv_shapes(a.x.shape, w.shape, groups, None if b is None else b.shape)
    stride, padding, dilation = _params(stride=stride, padding=padding, dilation=dilation)
    return a.out(backend(a.x).conv(a.x, w, b, stride, padding, dilation, groups, padding_mode, flip_kernel, algorithm))


def conv_transpose(x: ArrayIn, weight: ArrayIn, bias: ArrayIn | None = None, stride: Sizes = 1, padding: Padding = 0,
                   output_padding: Sizes = 0, groups: int = 1, dilation: Sizes = 1, flip_kernel: bool = False,
                   algorithm: str = "auto") -> Array:
    """N-d transposed convolution, PyTorch's ``F.conv_transpose{1,2,3}d`` (weight ``(C_in, C_out/G, *k)``)."""
    a = _Args(x)
    w, b = a.other("weight", weight), a.other("bias", bias, 1, optional=True)
    check_conv_shapes(a.x.shape, w.shape, groups, None if b is None else b.shape, transposed=True)
    stride, padding, output_padding, dilation = _params(stride=stride, padding=padding, output_padding=output_padding,
                                                        dilation=dilation)
    if flip_kernel:
        w = flip_spatial(w)
    return a.out(backend(a.x).conv_transpose(a.x, w, b, stride, padding, output_padding, groups, dilation, algorithm))


def conv_grad_input(grad_out: ArrayIn, weight: ArrayIn, input_shape: Sequence[int], stride: Sizes = 1,
                    padding: Padding = 0, dilation: Sizes = 1, groups: int = 1, padding_mode: str = "zeros",
                    flip_kernel: bool = False, algorithm: str = "auto") -> Array:
    """Gradient of :func:`conv` w.r.t. ``x`` of shape ``input_shape`` ``(N, C, *spatial)``.

    The transposed convolution of ``grad_out`` (gather form).  With a non-zero
    ``padding_mode`` it is the gradient w.r.t. the padded frame, folded back onto
    the input by the adjoint of the padding (:func:`convalg.kernels.padding.unpad_adjoint`);
    ``flip_kernel=True`` differentiates the true convolution.

    >>> import numpy as np
    >>> conv_grad_input(np.ones((1, 1, 4)), np.array([[[1.0, 2.0]]]), (1, 1, 4), padding=((0, 1),),
    ...                 padding_mode="replicate").tolist()          # x3 is read by the last two taps
    [[[1.0, 3.0, 3.0, 5.0]]]
    """
    a = _Args(grad_out, name="grad_out")
    w = a.other("weight", weight, a.x.ndim)
    shape = as_shape("input_shape", input_shape, a.x.ndim)
    stride, padding, dilation = _params(stride=stride, padding=padding, dilation=dilation)
    check_conv_shapes((shape[0], shape[1], *[1] * (a.x.ndim - 2)), w.shape, groups)
    flip = check_bool("flip_kernel", flip_kernel)
    expected = (shape[0], w.shape[0], *_conv_output_shape(shape, tuple(w.shape), stride, padding, dilation, groups,
                                                          padding_mode))
    if tuple(a.x.shape) != expected:
        raise SpecError(f"grad_out: shape {tuple(a.x.shape)} is not the conv output {expected} for input_shape "
                        f"{shape}")
    return a.out(backend(a.x).conv_grad_input(a.x, w, shape, stride, padding, dilation, groups, padding_mode, flip,
                                              algorithm))


def _conv_output_shape(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Any, padding: Any, dilation: Any,
                       groups: int, padding_mode: str) -> tuple[int, ...]:
    """The conv's output spatial shape (the layer from :func:`convalg.kernels.base.conv_layer`, cached)."""
    x_shape = (1, *x_shape[1:])  # the batch size does not change it
    try:
        return _output_shape_cached(x_shape, w_shape, stride, padding, dilation, groups, padding_mode)
    except TypeError:  # unhashable arguments: no cache
        return _output_shape_cached.__wrapped__(x_shape, w_shape, stride, padding, dilation, groups, padding_mode)


@functools.lru_cache(maxsize=512)
def _output_shape_cached(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Any, padding: Any, dilation: Any,
                         groups: int, padding_mode: str) -> tuple[int, ...]:
    layer = conv_layer(x_shape, w_shape, stride, padding, dilation, groups, padding_mode)
    return tuple(int(v) for v in layer.output_shape(x_shape[2:]))


def conv_grad_weight(x: ArrayIn, grad_out: ArrayIn, weight_shape: Sequence[int], stride: Sizes = 1,
                     padding: Padding = 0, dilation: Sizes = 1, groups: int = 1, padding_mode: str = "zeros",
                     flip_kernel: bool = False, algorithm: str = "auto") -> Array:
    """Gradient of :func:`conv` w.r.t. a weight of shape ``weight_shape``.

    The correlation of the (``padding_mode``-padded) input with ``grad_out``;
    ``flip_kernel=True`` differentiates the true convolution (the result is flipped).

    >>> import numpy as np
    >>> conv_grad_weight(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 4)), (1, 1, 2), padding=((0, 1),),
    ...                  padding_mode="circular").tolist()          # the last window wraps to x0
    [[[6.0, 6.0]]]
    """
    a = _Args(x)
    g = a.other("grad_out", grad_out, a.x.ndim)
    shape = as_shape("weight_shape", weight_shape, a.x.ndim)
    stride, padding, dilation = _params(stride=stride, padding=padding, dilation=dilation)
    check_conv_shapes(a.x.shape, shape, groups)
    flip = check_bool("flip_kernel", flip_kernel)
    expected = (a.x.shape[0], shape[0], *_conv_output_shape(tuple(a.x.shape), shape, stride, padding, dilation, groups,
                                                            padding_mode))
    if tuple(g.shape) != expected:
        raise SpecError(f"grad_out: expected shape {expected}, got {tuple(g.shape)}")
    return a.out(backend(a.x).conv_grad_weight(a.x, g, shape, stride, padding, dilation, groups, padding_mode, flip,
                                               algorithm))


def conv_grad_bias(grad_out: ArrayIn) -> Array:
    """Gradient w.r.t. the bias: ``grad_out`` summed over all axes but the channels."""
    a = _Args(grad_out, name="grad_out")
    return a.out(backend(a.x).conv_grad_bias(a.x))


@overload
def max_pool(x: ArrayIn, kernel_size: Sizes, stride: Sizes | None = ..., padding: Padding = ..., dilation: Sizes = ...,
             ceil_mode: bool = ..., return_indices: Literal[False] = ...) -> Array: ...
@overload
def max_pool(x: ArrayIn, kernel_size: Sizes, stride: Sizes | None = ..., padding: Padding = ..., dilation: Sizes = ...,
             ceil_mode: bool = ..., *, return_indices: Literal[True]) -> tuple[Array, Array]: ...
@overload
def max_pool(x: ArrayIn, kernel_size: Sizes, stride: Sizes | None = ..., padding: Padding = ..., dilation: Sizes = ...,
             ceil_mode: bool = ..., return_indices: bool = ...) -> Array | tuple[Array, Array]: ...
def max_pool(x: ArrayIn, kernel_size: Sizes, stride: Sizes | None = None, padding: Padding = 0, dilation: Sizes = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Array | tuple[Array, Array]:
    """N-d max pooling (indices flat per (N, C) plane; ties: first maximum; NaN propagates)."""
    a = _Args(x)
    kernel_size, stride, padding, dilation = _params(kernel_size=kernel_size, stride=stride, padding=padding,
                                                     dilation=dilation)
    return a.out(backend(a.x).max_pool(a.x, kernel_size, stride, padding, dilation, ceil_mode, return_indices))


def max_pool_grad(grad_out: ArrayIn, indices: ArrayIn, input_shape: Sequence[int]) -> Array:
    """Gradient of :func:`max_pool`: ``grad_out`` added at ``indices`` in planes of ``input_shape``."""
    a = _Args(grad_out, name="grad_out")
    idx = _array("indices", indices, a.like)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices: dtype {idx.dtype} must be an integer dtype")
    if tuple(idx.shape) != tuple(a.x.shape):
        raise SpecError(f"indices: shape {tuple(idx.shape)} must equal grad_out's {tuple(a.x.shape)}")
    shape = as_shape("input_shape", input_shape, a.x.ndim)
    if shape[:2] != tuple(a.x.shape[:2]):
        raise SpecError(f"input_shape={shape}: its (N, C) must equal grad_out's {tuple(a.x.shape[:2])}")
    plane = int(np.prod(shape[2:]))
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        raise SpecError(f"indices: values must lie in [0, {plane}) (the flat plane of input_shape {shape})")
    return a.out(backend(a.x).max_pool_grad(a.x, idx, shape))


def avg_pool(x: ArrayIn, kernel_size: Sizes, stride: Sizes | None = None, padding: Padding = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> Array:
    """N-d average pooling (PyTorch's divisor rules)."""
    a = _Args(x)
    kernel_size, stride, padding, divisor_override = _params(kernel_size=kernel_size, stride=stride, padding=padding,
                                                             divisor_override=divisor_override)
    return a.out(backend(a.x).avg_pool(a.x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                       divisor_override))


def avg_pool_grad(grad_out: ArrayIn, input_shape: Sequence[int], kernel_size: Sizes, stride: Sizes | None = None,
                  padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                  divisor_override: int | None = None) -> Array:
    """Gradient of :func:`avg_pool` w.r.t. its input of shape ``input_shape``."""
    a = _Args(grad_out, name="grad_out")
    shape = as_shape("input_shape", input_shape, a.x.ndim)
    kernel_size, stride, padding, divisor_override = _params(kernel_size=kernel_size, stride=stride, padding=padding,
                                                             divisor_override=divisor_override)
    expected = AvgPool(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                       ndim=len(shape) - 2).output_shape(shape[2:])
    if tuple(a.x.shape) != (*shape[:2], *expected):
        raise SpecError(f"grad_out: expected shape {(*shape[:2], *expected)}, got {tuple(a.x.shape)}")
    return a.out(backend(a.x).avg_pool_grad(a.x, shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                            divisor_override))


def adaptive_avg_pool(x: ArrayIn, output_size: OutputSizes) -> Array:
    """Adaptive average pooling to ``output_size`` (``None`` keeps a size)."""
    a = _Args(x)
    _check_output_size(output_size, a.x.ndim - 2, tuple(a.x.shape[2:]))
    return a.out(backend(a.x).adaptive_avg_pool(a.x, output_size))


@overload
def adaptive_max_pool(x: ArrayIn, output_size: OutputSizes, return_indices: Literal[False] = ...) -> Array: ...
@overload
def adaptive_max_pool(x: ArrayIn, output_size: OutputSizes, return_indices: Literal[True]) -> tuple[Array, Array]: ...
@overload
def adaptive_max_pool(x: ArrayIn, output_size: OutputSizes, return_indices: bool = ...) -> Array | tuple[Array, Array]:
    ...
def adaptive_max_pool(x: ArrayIn, output_size: OutputSizes, return_indices: bool = False) -> Array | tuple[Array, Array]:
    """Adaptive max pooling (flat per-plane indices)."""
    a = _Args(x)
    _check_output_size(output_size, a.x.ndim - 2, tuple(a.x.shape[2:]))
    return a.out(backend(a.x).adaptive_max_pool(a.x, output_size, return_indices))


def _check_output_size(output_size: Any, nd: int, spatial: tuple[int, ...] = ()) -> None:
    if 0 in spatial:
        raise SpecError(f"x: spatial shape {spatial} has a zero-size dim; adaptive pooling needs a non-empty "
                        f"plane (as PyTorch)")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(sizes) != nd:
        raise SpecError(f"output_size={output_size!r}: expected {nd} entries for {nd} spatial dims")
    for s in sizes:
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1):
            raise SpecError(f"output_size={output_size!r}: entries must be positive ints or None")


def unfold(x: ArrayIn, kernel_size: Sizes, dilation: Sizes = 1, padding: Padding = 0, stride: Sizes = 1) -> Array:
    """Sliding windows as columns ``(N, C*prod(k), L)`` (``F.unfold``, any number of spatial dims)."""
    a = _Args(x)
    kernel_size, dilation, padding, stride = _params(kernel_size=kernel_size, dilation=dilation, padding=padding,
                                                     stride=stride)
    return a.out(backend(a.x).unfold(a.x, kernel_size, dilation, padding, stride))


def fold(cols: ArrayIn, output_size: Sizes, kernel_size: Sizes, dilation: Sizes = 1, padding: Padding = 0,
         stride: Sizes = 1) -> Array:
    """Adjoint of :func:`unfold` (``F.fold``): overlapping columns are summed."""
    a = _Args(cols, min_spatial=1, name="cols")
    if a.x.ndim != 3:
        raise SpecError(f"cols: expected shape (N, C*prod(kernel_size), L), got {tuple(a.x.shape)}")
    output_size = as_shape("output_size", output_size if isinstance(output_size, (tuple, list)) else (output_size,))
    kernel_size, dilation, padding, stride = _params(kernel_size=kernel_size, dilation=dilation, padding=padding,
                                                     stride=stride)
    return a.out(backend(a.x).fold(a.x, output_size, kernel_size, dilation, padding, stride))


# -- PyTorch's per-rank names (F.conv2d, F.max_pool1d, ...): the N-d op with the rank of x checked -------------------
conv1d, conv2d, conv3d = _per_rank(conv)
conv_transpose1d, conv_transpose2d, conv_transpose3d = _per_rank(conv_transpose)
max_pool1d, max_pool2d, max_pool3d = _per_rank(max_pool)
avg_pool1d, avg_pool2d, avg_pool3d = _per_rank(avg_pool)
adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d = _per_rank(adaptive_avg_pool)
adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d = _per_rank(adaptive_max_pool)
__all__ += [f"{op}{rank}d" for op in ("conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool",
                                      "adaptive_max_pool") for rank in (1, 2, 3)]
