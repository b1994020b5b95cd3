"""Other frameworks' padding conventions, translated into explicit ``(lo, hi)`` pairs.

convalg follows PyTorch; everything else is a front end that produces the
per-side pads a :class:`~convalg.Conv` / pooling layer takes.

==================  ===============================================================
convention          per-axis pads (``k_eff = d*(k-1)+1``)
==================  ===============================================================
``'SAME'``          TF / JAX / ONNX ``SAME_UPPER``: ``out = ceil(n/s)``,
                    ``total = max((out-1)*s + k_eff - n, 0)``, ``lo = total//2``,
                    extra at the end.  Depends on ``n`` through ``n mod s``.
``'SAME_UPPER'``    same as ``'SAME'``
``'SAME_LOWER'``    as ``'SAME'`` with the extra pad at the start
``'VALID'``         ``(0, 0)``
``'torch_same'``    PyTorch ``'same'`` (stride 1): total ``d*(k-1)``, extra at the end
==================  ===============================================================

>>> import sympy as sp
>>> explicit_padding("SAME", 7, stride=2, n=224)        # TF pads (2, 3); PyTorch k//2 gives (3, 3)
((2, 3),)
>>> ((lo, hi),) = explicit_padding("SAME", 3, stride=2)      # symbolic in the input size
>>> [(lo.subs(INPUT_SIZE, n), hi.subs(INPUT_SIZE, n)) for n in (224, 225)]
[(0, 1), (1, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from ..checks import check_choice, check_int, infer_ndim, is_sequence, per_axis
from ..errors import SpecError
from ..shapes.formulas import Size, as_size, effective_kernel, same_padding
from .base import check_spatial
from .padding import INPUT_SIZE, Pad

__all__ = ["CONVENTIONS", "explicit_padding", "onnx_pads", "torch_pad_tuple", "tf_output_size"]

CONVENTIONS = ("SAME", "SAME_UPPER", "SAME_LOWER", "VALID", "torch_same")


def _same_total(n: Size, keff: int, s: int) -> Any:
    # max((ceil(n/s) - 1)*s + keff - n, 0) == max(keff - 1 - (n-1) mod s, 0)  (proved in proofs/);
    # the max is dropped when keff >= s, as (n-1) mod s <= s-1 (so that stacks of such layers simplify)
    total = keff - 1 - sp.Mod(sp.sympify(n) - 1, s)
    return total if sp.sympify(keff >= s) is sp.true else sp.Max(total, 0)


def explicit_padding(
    convention: str,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
    *,
    n: Size | Sequence[Size] | None = None,
    ndim: int | None = None,
) -> tuple[tuple[Pad, Pad], ...]:
    """Per-axis ``(lo, hi)`` pads of a framework padding convention.

    With ``n`` (the input sizes) the pads are evaluated; without it they are
    SymPy expressions in :data:`convalg.spec.padding.INPUT_SIZE` that a layer
    substitutes with each axis' size when applied.

    >>> explicit_padding("SAME_LOWER", (4, 3), stride=(1, 2), n=(10, 10))   # extra pad at the start
    ((2, 1), (1, 0))
    >>> explicit_padding("torch_same", 4)
    ((1, 2),)
    """
    check_choice("convention", convention, CONVENTIONS)
    sizes = n
    ndim = infer_ndim(ndim, kernel_size=kernel_size, stride=stride, dilation=dilation,
                      n=sizes if is_sequence(sizes) else None)
    k = per_axis("kernel_size", kernel_size, ndim, minimum=1)
    s = per_axis("stride", stride, ndim, minimum=1)
    d = per_axis("dilation", dilation, ndim, minimum=1)
    count = len(k)
    if sizes is None:
        ns: tuple[Size, ...] = (INPUT_SIZE,) * count
    elif is_sequence(sizes):
        ns = check_spatial(sizes, count, name="n")
    else:
        ns = check_spatial((sizes,), 1, name="n") * count
    pairs: list[tuple[Pad, Pad]] = []
    for ka, sa, da, na in zip(k, s, d, ns):
        if convention == "VALID":
            pairs.append((0, 0))
            continue
        if convention == "torch_same":
            if sa != 1:
                raise SpecError(f"stride={sa}: 'torch_same' (PyTorch padding='same') requires stride 1")
            pairs.append(same_padding(ka, da))  # type: ignore[arg-type]
            continue
        total = _same_total(na, effective_kernel(ka, da), sa)  # type: ignore[arg-type]
        small = sp.floor(total / 2)
        big = total - small
        lo, hi = (small, big) if convention in ("SAME", "SAME_UPPER") else (big, small)
        pairs.append((as_size(lo), as_size(hi)))
    return tuple(pairs)


def onnx_pads(pads: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """ONNX ``pads=[x1_begin, x2_begin, ..., x1_end, x2_end, ...]`` as ``(lo, hi)`` pairs.

    >>> onnx_pads([1, 2, 3, 4])
    ((1, 3), (2, 4))
    """
    if not is_sequence(pads):
        raise SpecError(f"pads={pads!r}: ONNX pads must be a list of 2*ndim integers")
    values = [check_int(f"pads[{i}]", p, minimum=0) for i, p in enumerate(pads)]
    if len(values) % 2 or not values:
        raise SpecError(f"pads={list(pads)!r}: ONNX pads need 2*ndim entries")
    h = len(values) // 2
    return tuple(zip(values[:h], values[h:]))


def torch_pad_tuple(pad: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """``F.pad`` tuple (last axis first: ``(left, right, top, bottom, ...)``) as pairs, first axis first.

    >>> torch_pad_tuple((1, 2, 3, 4))
    ((3, 4), (1, 2))
    """
    if not is_sequence(pad):
        raise SpecError(f"pad={pad!r}: an F.pad tuple must be a tuple of 2*ndim integers")
    values = [check_int(f"pad[{i}]", p) for i, p in enumerate(pad)]
    if len(values) % 2 or not values:
        raise SpecError(f"pad={tuple(pad)!r}: F.pad needs an even number of entries")
    pairs = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    return tuple(reversed(pairs))


def tf_output_size(n: Size, kernel_size: int, stride: int = 1, dilation: int = 1, padding: str = "SAME") -> Size:
    """TensorFlow's own output-size rule (``GetWindowedOutputSizeVerbose``), for cross-checks.

    >>> tf_output_size(224, 7, 2), tf_output_size(224, 7, 2, padding="VALID")
    (112, 109)
    """
    (n,) = check_spatial((n,), 1, name="n")
    keff = effective_kernel(check_int("kernel_size", kernel_size, minimum=1), check_int("dilation", dilation, minimum=1))
    stride = check_int("stride", stride, minimum=1)
    check_choice("padding", padding, ("SAME", "SAME_UPPER", "SAME_LOWER", "VALID"))
    if padding in ("SAME", "SAME_UPPER", "SAME_LOWER"):
        return as_size(sp.ceiling(sp.sympify(n) / stride))
    out = as_size(sp.floor(sp.sympify(n - keff + stride) / stride))
    if isinstance(out, int) and out < 1:
        raise SpecError(f"n={n}: 'VALID' output size {out} < 1; the dilated kernel {keff} is larger than the input")
    return out
