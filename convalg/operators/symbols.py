"""Weight and bias symbols shaped like the PyTorch parameters.

===================  ==============================  ========================
layer                weight shape                    symbol name
===================  ==============================  ========================
``Conv``             ``(C_out, C_in/groups, *k)``    ``w_<co>_<ci>_<k0>_...``
``ConvTranspose``    ``(C_in, C_out/groups, *k)``    ``w_<ci>_<co>_<k0>_...``
bias (both)          ``(C_out,)``                    ``b_<co>``
===================  ==============================  ========================

Names are positional, so the weight of a ``Conv`` and of its transpose
(``Conv.transpose``) are the *same* symbols: ``Conv.matrix().T`` and
``ConvTranspose.matrix()`` can be compared entry for entry.  Plain
``sympy.Symbol`` objects are used (not ``MatrixSymbol`` elements), which keeps
SymPy's polynomial domains fast.

>>> from convalg import Conv
>>> w = weight_symbols(Conv(3, in_channels=2, out_channels=4, groups=2, ndim=2))
>>> w.shape, w[2, 0, 1, 1]
((4, 1, 3, 3), w_2_0_1_1)
>>> bias_symbols(Conv(1, in_channels=1, out_channels=3, ndim=1))
array([b_0, b_1, b_2], dtype=object)
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..vocabulary import CONV_KINDS, kind_of
from .budget import DEFAULT_BUDGET

__all__ = ["weight_symbols", "bias_symbols", "symbol_array"]


def symbol_array(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """A NumPy object array of plain SymPy symbols named ``<prefix>_<i0>_<i1>...``.

    >>> symbol_array("x", (2, 2))
    array([[x_0_0, x_0_1],
           [x_1_0, x_1_1]], dtype=object)
    """
    count = math.prod(shape)
    if count > DEFAULT_BUDGET.max_nnz:
        raise SpecError(f"{prefix}: {count} symbols for shape {tuple(shape)} exceed the budget of "
                        f"{DEFAULT_BUDGET.max_nnz} (SymPy symbols cost ~1 kB each); symbolic operators are for small "
                        "layers, use the index-map form layer.index_map(spatial) for large ones")
    out = np.empty(shape, dtype=object)
    for idx in itertools.product(*map(range, shape)):
        out[idx] = sp.Symbol("_".join([prefix, *map(str, idx)]))
    return out


@lru_cache(maxsize=256)
def _weights(shape: tuple[int, ...]) -> np.ndarray:
    arr = symbol_array("w", shape)
    arr.flags.writeable = False
    return arr


def _conv_layer(layer: Any, what: str) -> Any:
    if kind_of(layer) not in CONV_KINDS:
        raise SpecError(f"layer={layer!r}: {what} exist only for Conv and ConvTranspose")
    return layer


def weight_symbols(layer: Any) -> np.ndarray:
    """Object array of weight symbols with the PyTorch weight shape of ``layer`` (read-only).

    >>> from convalg import ConvTranspose
    >>> weight_symbols(ConvTranspose(2, in_channels=1, out_channels=2, ndim=1))    # (C_in, C_out/groups, *k)
    array([[[w_0_0_0, w_0_0_1],
            [w_0_1_0, w_0_1_1]]], dtype=object)
    """
    return _weights(tuple(_conv_layer(layer, "weight symbols").weight_shape))


def bias_symbols(layer: Any) -> np.ndarray:
    """Object array of bias symbols ``b_<co>`` of shape ``(C_out,)`` (zeros when ``bias=False``).

    >>> from convalg import Conv
    >>> bias_symbols(Conv(1, in_channels=1, out_channels=2, bias=False, ndim=1))
    array([0, 0], dtype=object)
    """
    layer = _conv_layer(layer, "bias symbols")
    if layer.out_channels is None:
        raise SpecError(f"layer={layer!r}: bias symbols need out_channels")
    if not layer.bias:
        return np.array([sp.Integer(0)] * layer.out_channels, dtype=object)
    return symbol_array("b", (layer.out_channels,))
