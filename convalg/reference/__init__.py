"""Float64 reference oracles with ``torch.nn.functional``-like signatures on NumPy arrays.

Arrays are batched and channels-first, ``(N, C, *spatial)`` with any number of
spatial dims; weights use PyTorch's layouts.  Parameters are normalised by the
convalg layer specs (:class:`convalg.Conv` etc.), so invalid ones raise
:class:`convalg.SpecError`, and geometry is read from the layers' index maps.

==========================  ================================================
function                    implementation
==========================  ================================================
``conv``, ``conv_transpose``  FFT (:mod:`convalg.reference.fft`): the
``conv_grad_input``          convolution theorem, channel sums in the
``conv_grad_weight``         frequency domain, float64
``conv_grad_bias``           a sum
``max_pool``, ``avg_pool``   brute force (:mod:`convalg.reference.pooling`);
and their gradients,         pooling has no FFT form
``adaptive_*_pool``
==========================  ================================================

:mod:`convalg.reference.direct` has the same names, computed by brute force
(loops over taps) for small sizes.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4); w = np.ones((1, 1, 2, 2))
>>> np.round(conv(x, w, stride=2), 9)
array([[[[10., 18.],
         [42., 50.]]]])
>>> max_pool(x, 2)
array([[[[ 5.,  7.],
         [13., 15.]]]])
"""

from . import direct, fft
from .fft import conv, conv_grad_bias, conv_grad_input, conv_grad_weight, conv_transpose
from .pooling import adaptive_avg_pool, adaptive_max_pool, avg_pool, avg_pool_grad, max_pool, max_pool_grad

__all__ = ["conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "max_pool",
           "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool", "direct", "fft"]
