"""Normalisation of the ``padding`` argument to explicit ``(lo, hi)`` pairs.

Every layer stores padding as one ``(lo, hi)`` pair per spatial axis.  An entry
is an ``int`` or, for conventions whose padding depends on the input size
(TensorFlow / ONNX ``SAME`` with stride > 1), a SymPy expression in the
placeholder :data:`INPUT_SIZE` (the size of that axis), substituted when the
layer is applied to a concrete or symbolic size.

============================  ============================================
``padding=``                  meaning
============================  ============================================
``p`` (int)                   ``(p, p)`` on every axis
``(p0, p1, ...)``             ``(p_i, p_i)`` on axis ``i``
``((lo0, hi0), ...)``         explicit pairs (JAX / ONNX ``pads`` style)
``'valid'``                   ``(0, 0)``
``'same'``                    stride 1 only: total ``d*(k-1)``, extra at the end
============================  ============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import sympy as sp

from ..checks import check_int, is_sequence
from ..errors import SpecError
from ..shapes.formulas import Size, as_size, padding_depends_on_size, same_padding

__all__ = ["INPUT_SIZE", "Pad", "PaddingArg", "normalize_padding", "pad_at", "padding_depends_on_size"]

#: Placeholder for "the input size of this axis" inside size-dependent padding.
INPUT_SIZE = sp.Symbol("n", integer=True, positive=True)

#: One padding entry: an int, or a SymPy expression in :data:`INPUT_SIZE`.
Pad = Union[int, sp.Expr]
PaddingArg = Union[int, str, Sequence[Any]]


def _check_pad(name: str, value: Any, allow_negative: bool) -> Pad:
    if isinstance(value, sp.Basic) and not value.is_Integer:
        if not isinstance(value, sp.Expr) or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise SpecError(f"{name}={value}: a padding must be an integer or an integer expression in INPUT_SIZE")
        extra = value.free_symbols - {INPUT_SIZE}
        if extra:
            raise SpecError(
                f"{name}={value}: a symbolic pad may depend only on convalg.spec.padding.INPUT_SIZE, "
                f"not on {sorted(map(str, extra))}"
            )
        if INPUT_SIZE not in value.free_symbols:
            raise SpecError(f"{name}={value}: must be an integer")
        if value.is_integer is False:
            raise SpecError(f"{name}={value}: a symbolic pad must be integer-valued")
        return value
    return check_int(name, value, minimum=None if allow_negative else 0)


def normalize_padding(
    value: PaddingArg,
    ndim: int | None,
    *,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    allow_same: bool = True,
    allow_negative_pairs: bool = False,
) -> tuple[tuple[Pad, Pad], ...]:
    """Return one ``(lo, hi)`` pair per axis (one pair if ``ndim`` is None).

    ``kernel``, ``dilation`` and ``stride`` must already be expanded to the same
    length as the result.
    """
    count = 1 if ndim is None else ndim
    if isinstance(value, str):
        if value == "valid":
            return ((0, 0),) * count
        if value == "same":
            if not allow_same:
                raise SpecError("padding='same': not supported by this layer; give explicit padding")
            if any(s != 1 for s in stride):
                raise SpecError(
                    f"padding='same': requires stride 1 (got stride={stride}); PyTorch rejects strided 'same'. "
                    "For TensorFlow-style 'SAME' with stride use "
                    "padding=convalg.conventions.explicit_padding('SAME', kernel_size, stride, dilation)"
                )
            return tuple(same_padding(k, d) for k, d in zip(kernel, dilation))
        hint = ""
        if value.upper() in ("SAME", "SAME_UPPER", "SAME_LOWER", "VALID"):  # other frameworks' spellings
            hint = (f"; {value!r} is another framework's convention: translate it with "
                    f"padding=convalg.conventions.explicit_padding({value.upper()!r}, kernel_size, stride, dilation)")
        raise SpecError(f"padding={value!r}: a string padding must be 'same' or 'valid' (PyTorch's){hint}")
    if is_sequence(value):
        items = list(value)
        if len(items) != count:
            raise SpecError(f"padding={tuple(items)!r}: has {len(items)} entries but ndim={ndim}")
        pairs: list[tuple[Pad, Pad]] = []
        for i, item in enumerate(items):
            if is_sequence(item):
                if len(item) != 2:
                    raise SpecError(f"padding[{i}]={tuple(item)!r}: a padding pair must be (lo, hi)")
                lo = _check_pad(f"padding[{i}][0]", item[0], allow_negative_pairs)
                hi = _check_pad(f"padding[{i}][1]", item[1], allow_negative_pairs)
                pairs.append((lo, hi))
            else:
                p = _check_pad(f"padding[{i}]", item, False)
                pairs.append((p, p))
        return tuple(pairs)
    p = _check_pad("padding", value, False)
    return ((p, p),) * count


def pad_at(pad: Pad, n: Size) -> Size:
    """Evaluate one padding entry at input size ``n``."""
    if isinstance(pad, int):
        return pad
    value = as_size(pad.subs(INPUT_SIZE, n))
    if isinstance(n, int) and not isinstance(value, int):
        raise SpecError(f"padding={pad} at input size {n} gives {value}: a padding must evaluate to an integer")
    return value
