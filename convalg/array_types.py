"""Type aliases of the array API (:mod:`convalg.functional`, :mod:`convalg.reference`).

=================  ===========================================================================
alias              accepts
=================  ===========================================================================
``ArrayIn``        a NumPy array or anything ``numpy.asarray`` takes (nested lists); a CuPy
                   array is dispatched to the GPU kernels (CuPy ships no types: ``Any`` there)
``Array``          what the ops return: a NumPy array (a CuPy array for CuPy input)
``Sizes``          one int for every spatial axis, or one per axis
``Padding``        ``Sizes``, per-axis ``(lo, hi)`` pairs, or ``'same'`` / ``'valid'``
``OutputSizes``    adaptive pooling: an int or ``None`` (keep) for every axis, or one per axis
=================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, Union

import numpy.typing as npt

__all__ = ["ArrayIn", "Array", "Sizes", "Padding", "OutputSizes"]

ArrayIn: TypeAlias = npt.ArrayLike
Array: TypeAlias = npt.NDArray[Any]
Sizes: TypeAlias = Union[int, Sequence[int]]
Padding: TypeAlias = Union[int, str, Sequence[Union[int, Sequence[int]]]]
OutputSizes: TypeAlias = Union[int, None, Sequence[Union[int, None]]]
