"""What the ONNX importer carries besides traced tensors: small integer :class:`Value` tensors, constants.

Shared by :mod:`.onnx_import` and :mod:`.onnx_rules`, so the rules never
import their importer.

>>> import sympy as sp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> Value([sp.floor(sp.floor(H / 2) / 2), 3], (2,)).values
[floor(H/4), 3]
>>> window_padding({"auto_pad": b"VALID"}, (3, 3), (1, 1), (1, 1))
((0, 0), (0, 0))
"""

from __future__ import annotations

from typing import Any

from ..spec.conventions import explicit_padding, onnx_pads
from .op_base import simplify_size

__all__ = ["Value", "ConstTensor", "value_or_const", "attribute_text", "window_padding"]


class Value:
    """A small integer tensor known at import time (flattened values, and its shape)."""

    def __init__(self, values: list[Any], shape: tuple[int, ...]) -> None:
        self.values, self.shape = [simplify_size(v) for v in values], shape


class ConstTensor:
    """A constant tensor too big (or not integer) to carry by value: only its shape is used."""

    def __init__(self, arr: Any) -> None:
        self.shape = tuple(int(d) for d in arr.shape)
        self.array = arr


def value_or_const(arr: Any) -> Value | ConstTensor:
    """A NumPy constant as a :class:`Value` when it is small (<= 64 entries) and integer, else a :class:`ConstTensor`."""
    if arr.size <= 64 and arr.dtype.kind in "iu":
        return Value(arr.reshape(-1).tolist(), tuple(arr.shape))
    return ConstTensor(arr)


def attribute_text(a: dict[str, Any], key: str, default: str) -> str:
    """A string attribute of a node (ONNX gives bytes)."""
    value = a.get(key, default)
    return value.decode() if isinstance(value, bytes) else value


def window_padding(a: dict[str, Any], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...]) -> Any:
    """The explicit ``((lo, hi), ...)`` padding of a windowed node from ``auto_pad`` or ``pads``."""
    auto = attribute_text(a, "auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return explicit_padding(auto, k, stride=s, dilation=d)
    if auto == "VALID" or "pads" not in a:
        return ((0, 0),) * len(k)
    return onnx_pads(a["pads"])
