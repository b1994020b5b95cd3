"""PyTorch's per-rank names of the N-d ops (``F.conv2d`` for :func:`convalg.functional.conv`), the rank checked.

>>> import numpy as np
>>> from convalg.functional import conv
>>> conv1d, conv2d, conv3d = per_rank(conv)
>>> conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))).shape
(1, 1, 2, 2)
>>> conv2d(np.ones((1, 1, 4)), np.ones((1, 1, 3)))
Traceback (most recent call last):
...
convalg.errors.SpecError: x: conv2d takes (N, C, H, W), 4 dims; got 3 (shape (1, 1, 4)); conv takes any rank
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from .errors import SpecError

__all__ = ["per_rank"]

_Op = TypeVar("_Op", bound=Callable[..., Any])
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


def per_rank(op: _Op) -> tuple[_Op, _Op, _Op]:
    """``op`` as its 1-D, 2-D and 3-D names: ``x`` must be ``(N, C, *spatial)`` with that many spatial dims."""

    def ranked(rank: int) -> _Op:
        name = f"{op.__name__}{rank}d"

        @functools.wraps(op)
        def checked(x: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                ndim = x.ndim if hasattr(x, "ndim") else np.ndim(x)
            except ValueError:  # ragged nested lists: the op itself reports them
                ndim = rank + 2
            if ndim != rank + 2:
                raise SpecError(f"x: {name} takes (N, C, {_SPATIAL[rank]}), {rank + 2} dims; got {ndim} "
                                f"(shape {tuple(np.shape(x))}); {op.__name__} takes any rank")
            return op(x, *args, **kwargs)

        checked.__name__ = checked.__qualname__ = name
        checked.__doc__ = (f"PyTorch's ``F.{name}``: :func:`{op.__name__}` on ``x`` of shape "
                           f"``(N, C, {_SPATIAL[rank]})`` (other ranks: :class:`~convalg.SpecError`).")
        return cast(_Op, checked)

    return ranked(1), ranked(2), ranked(3)


