"""The verdict on one call: inputs left unchanged, the output contract, then values within the error model.

:func:`assert_conforms` is what printed repros call, so a pasted repro fails
exactly as the harness did.

>>> import numpy as np
>>> x = np.arange(4.0, dtype=np.float32).reshape(1, 1, 4); w = np.ones((1, 1, 2), np.float32)
>>> p = {"stride": (1,), "padding": (0,), "dilation": (1,), "groups": 1}
>>> judge("conv1d", np.array([[[1.0, 3.0, 5.0]]], np.float32), {"x": x, "weight": w, "bias": None}, p).ok
True
>>> judge("conv1d", np.array([[[1.0, 3.0, 5.0]]]), {"x": x, "weight": w, "bias": None}, p).message
'the target returned a numpy.ndarray of shape (1, 1, 3), dtype float64; expected a numpy array of shape (1, 1, 3), dtype float32'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .adapters import Adapter, load_adapter
from .families import FAMILIES, autograd_targets
from .ops import OPS
from .references import nan_allowed
from .report import dump
from .tolerance import DEFAULT_C, compare, default_accumulation, fft_term, model_bound

__all__ = ["ErrorModel", "Verdict", "judge", "judge_family", "judge_gradients", "assert_conforms",
           "check_unchanged"]


@dataclass(frozen=True)
class ErrorModel:
    """``dtype``: storage of inputs and result; ``accumulate``: the arithmetic of the sums (default: float32
    for 16-bit storage, else ``dtype``); ``growth``, ``c``, ``algorithm``: see :mod:`.tolerance`; ``ties``:
    max-pool index rule."""

    dtype: str = "float32"
    accumulate: str | None = None
    growth: str = "strict"
    c: float = DEFAULT_C
    algorithm: str = "direct"
    ties: str = "first"

    @property
    def arithmetic(self) -> str:
        return self.accumulate or default_accumulation(self.dtype)


@dataclass
class Verdict:
    """``kind``: ``ok | in_place | contract | mismatch | raised | timeout``."""

    ok: bool
    kind: str
    message: str
    ratio: float = 0.0
    expected: Any = None
    got: Any = None
    bound: Any = None
    grad_shape: tuple[int, ...] | None = None


def _f64(arrays: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v)
            for k, v in arrays.items() if v is not None}


def check_unchanged(inputs: dict[str, Any], after: dict[str, Any]) -> Verdict | None:
    """An ``in_place`` verdict when an input differs (bit for bit, NaN = NaN) from its copy taken before the call."""
    for role, before in inputs.items():
        if before is None or role not in after:
            continue
        now = np.asarray(after[role])
        same = now.shape == before.shape and (now == before) | (np.isnan(now) & np.isnan(before)) \
            if before.dtype.kind == "f" else now == before
        if now.shape != before.shape or not np.all(same):
            where = tuple(int(i) for i in np.argwhere(~np.asarray(same))[0]) if now.shape == before.shape else ()
            detail = (f"{int((~same).sum())} element(s) changed, first at {where}: was {before[where].item()!r}, "
                      f"now {now[where].item()!r}") if where else f"shape {before.shape} -> {now.shape}"
            return Verdict(False, "in_place", f"the target modified its input {role!r} in place ({detail}); "
                                              f"inputs must be left unchanged")
    return None


def _indices_verdict(x: np.ndarray, got_i: np.ndarray, exp_y: np.ndarray, exp_i: np.ndarray, ties: str) -> Verdict:
    if ties == "first":
        bad = got_i != exp_i
        detail = "PyTorch's rule: the first maximum in row-major window order wins ties, the last NaN wins"
    else:
        planes = x.reshape(x.shape[0] * x.shape[1], -1).astype(np.float64)
        flat_i = np.clip(got_i.reshape(planes.shape[0], -1), 0, planes.shape[1] - 1)
        at = np.take_along_axis(planes, flat_i, 1).reshape(got_i.shape)
        bad = ~((at == exp_y) | (np.isnan(at) & np.isnan(exp_y))) | (got_i < 0) | (got_i >= planes.shape[1])
        detail = "the index must point at an element equal to the maximum"
    if bad.any():
        w = tuple(int(v) for v in np.argwhere(bad)[0])
        return Verdict(False, "mismatch", f"indices: {int(bad.sum())} wrong; first at {w}: got {int(got_i[w])}, "
                                          f"expected {int(exp_i[w])} ({detail})", 1.0, exp_i, got_i)
    return Verdict(True, "ok", "exact", 0.0, exp_y, got_i)


def judge_family(family: str, got: Any, inputs: dict[str, Any], params: dict[str, Any],
                 model: ErrorModel = ErrorModel(), adapter: Adapter | None = None) -> Verdict:
    """The verdict on ``got`` as ``family``'s result for ``inputs`` (the unmodified arrays) and ``params``."""
    fam, adapter = FAMILIES[family], adapter or load_adapter()
    a = _f64(inputs)
    with np.errstate(all="ignore"):  # inf - inf in NaN / inf runs is expected
        expected = fam.reference(a, params)
    want_idx = fam.indices_output(params)
    exp_y, exp_i = expected if want_idx else (expected, None)
    if want_idx and not (isinstance(got, (tuple, list)) and len(got) == 2):
        return Verdict(False, "contract", f"return_indices=True: the target must return (values, indices); it "
                                          f"returned {adapter.describe(got)}", float("inf"), expected)
    got_y = got[0] if want_idx else got
    why = adapter.contract(got_y, exp_y.shape, adapter.output_dtype(model.dtype))
    if why:
        return Verdict(False, "contract", ("values: " if want_idx else "") + why, float("inf"), exp_y)
    gy, bound = _bounded(family, a, params, exp_y, adapter.to_numpy(got_y).astype(np.float64), model)
    result = compare(gy, exp_y, bound)
    prefix = "values: " if want_idx else ""
    if not result.ok:
        return Verdict(False, "mismatch", prefix + result.message(), result.worst_ratio, exp_y, gy, bound)
    if want_idx:
        return _indices_verdict_of(got[1], a["x"], exp_y, exp_i, model, adapter)
    return Verdict(True, "ok", result.message(), result.worst_ratio, exp_y, gy, bound)


def _bounded(family: str, a: dict[str, np.ndarray], params: dict[str, Any], exp_y: np.ndarray, gy: np.ndarray,
             model: ErrorModel) -> tuple[np.ndarray, np.ndarray]:
    """The result (non-finite entries the model accepts replaced by the expected value) and the per-element bound."""
    fam = FAMILIES[family]
    if fam.k_len is None:
        return gy, np.zeros(exp_y.shape)
    with np.errstate(all="ignore"):
        absval = fam.reference({k: np.abs(v) if k != "indices" else v for k, v in a.items()}, params)
        bound = model_bound(absval, fam.k_len(a, params), model.arithmetic, model.dtype, model.growth, model.c)
        if model.algorithm == "fft" and family.startswith("conv"):
            first, second = (a[r] for r in fam.arrays[:2])
            bound = bound + fft_term(first, second, model.arithmetic, model.c)
    accept = np.zeros(exp_y.shape, bool)
    if family in ("conv", "conv_transpose") and "weight" in a:
        mask = nan_allowed(family, a["x"].shape, a["weight"], params)
        accept |= False if mask is None else np.broadcast_to(mask, exp_y.shape) & np.isnan(gy)
    top = float(np.finfo(np.float16 if model.dtype == "float16" else np.float32).max)
    accept |= (absval > top / 2) & ~np.isfinite(gy)  # the sum may overflow the storage format on the way
    return np.where(accept, exp_y, gy), bound


def _indices_verdict_of(got_i: Any, x: np.ndarray, exp_y: np.ndarray, exp_i: np.ndarray, model: ErrorModel,
                        adapter: Adapter) -> Verdict:
    """The verdict on the indices a max pool returned (their contract, then where they point)."""
    if not adapter.is_native(got_i) or tuple(got_i.shape) != exp_i.shape or (
            adapter.array == "torch" and adapter.dtype_name(got_i) != "int64"):
        return Verdict(False, "contract", f"indices: the target returned {adapter.describe(got_i)}; expected "
                                          f"int64 indices of shape {exp_i.shape}", 1.0, exp_i)
    gi = adapter.to_numpy(got_i)
    if gi.dtype.kind not in "iu":
        return Verdict(False, "contract", f"indices: dtype {gi.dtype}, expected integers (flat per-plane "
                                          f"positions)", 1.0, exp_i, gi)
    return _indices_verdict(x, gi, exp_y, exp_i, model.ties)


def judge(op: str, got: Any, inputs: dict[str, Any], params: dict[str, Any], *, after: dict[str, Any] | None = None,
          model: ErrorModel = ErrorModel(), adapter: Adapter | None = None) -> Verdict:
    """The verdict on one call of an ``op`` target: ``inputs`` as drawn, ``after`` as they were after the call."""
    changed = check_unchanged(inputs, after) if after is not None else None
    return changed or judge_family(OPS[op].family, got, inputs, params, model, adapter)


def judge_gradients(op: str, grads: dict[str, Any], inputs: dict[str, Any], grad_output: np.ndarray,
                    params: dict[str, Any], model: ErrorModel = ErrorModel(),
                    adapter: Adapter | None = None) -> Verdict:
    """The verdict on the gradients ``torch.autograd`` produced for a forward ``op`` target."""
    a = {**_f64(inputs), "grad_output": grad_output.astype(np.float64)}
    for role, (family, arrays, p) in autograd_targets(OPS[op].family, a, params).items():
        v = judge_family(family, grads.get(role), arrays, p, model, adapter)
        if not v.ok:
            v.message = f"gradient w.r.t. {role!r} ({family}): {v.message}"
            return v
    return Verdict(True, "ok", "gradients within the bound")


def assert_conforms(op: str, got: Any, inputs: dict[str, Any], params: dict[str, Any], *,
                    after: dict[str, Any] | None = None, grad_output: np.ndarray | None = None,
                    array: str = "numpy", device: str = "cpu", **model: Any) -> Verdict:
    """Raise ``AssertionError`` (the harness's message, expected / got / bound) unless the call conforms.

    ``got`` is the result, or with ``grad_output`` the dict of gradients.
    """
    adapter, em = load_adapter(array, device), ErrorModel(**model)
    after = None if after is None else {k: adapter.to_numpy(v) for k, v in after.items() if v is not None}
    v = (judge_gradients(op, got, inputs, grad_output, params, em, adapter) if grad_output is not None
         else judge(op, got, inputs, params, after=after, model=em, adapter=adapter))
    if not v.ok:
        raise AssertionError(v.message + "\n" + dump(v))
    return v
