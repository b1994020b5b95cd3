"""Access to convalg's operator layer for the theorems (a clear failure when it is missing)."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import sympy as sp

from ._core import MissingDependency

__all__ = ["ops", "mat", "vec", "symbols_like"]


def ops() -> Any:
    """``convalg.operators`` or :class:`MissingDependency`."""
    try:
        return importlib.import_module("convalg.operators")
    except ImportError as e:  # pragma: no cover - depends on the checkout
        raise MissingDependency(f"convalg.operators is not importable ({e})") from e


def mat(layer: Any, spatial: tuple[int, ...], **kw: Any) -> sp.SparseMatrix:
    """The library's operator matrix of ``layer``."""
    return ops().matrix(layer, spatial, **kw)


def symbols_like(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of fresh real SymPy symbols ``prefix_i_j...``."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(prefix + "_" + "_".join(map(str, idx)), real=True)
    return out


def vec(arr: np.ndarray) -> sp.Matrix:
    """Flatten an object array (row-major) into a column vector."""
    return sp.Matrix(list(np.asarray(arr, dtype=object).reshape(-1)))
