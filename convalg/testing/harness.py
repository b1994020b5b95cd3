"""Conformance harness: point it at your convolution / pooling kernel, get a verdict or a minimal repro.

Targets take NumPy arrays and follow ``torch.nn.functional`` signatures:

==================================  ===============================================================
``op``                              the target is called as
==================================  ===============================================================
``conv1d | conv2d | conv3d``        ``f(x, weight, bias, stride, padding, dilation, groups)``
``conv_transpose{1,2,3}d``          ``f(x, weight, bias, stride, padding, output_padding, groups,
                                    dilation)``
``max_pool{1,2,3}d``                ``f(x, kernel_size, stride, padding, dilation, ceil_mode,
                                    return_indices)`` -> ``y`` or ``(y, indices)``
``avg_pool{1,2,3}d``                ``f(x, kernel_size, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override)``
==================================  ===============================================================

Per-axis parameters are passed as tuples; ``padding`` is a tuple of ints, or
``'same'`` / ``'valid'`` (conv, unless ``same_padding=False``), or ``(lo, hi)``
pairs when ``asymmetric_padding=True``; ``padding_mode=`` is passed only when a
non-zero mode was declared.  Declare what the target does *not* support with
the keyword switches of :class:`Support` so the drawn problems stay inside it.

Results are compared with the float64 direct reference under the error model of
:mod:`convalg.testing.tolerance` (``tolerance='tf32'`` etc. picks the arithmetic);
max pooling must match exactly, indices included (``ties='any'`` accepts any
maximal element).  A mismatch is shrunk by Hypothesis and reported as a
copy-paste Python snippet.

>>> import convalg.reference as ref
>>> report = check(ref.conv, op="conv1d", algorithm="fft", max_examples=5, progress=False)
>>> report.passed, report.examples
(True, 5)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from ..errors import SpecError
from ..reference import direct
from ..spec import PADDING_MODES
from . import strategies as S
from .repro import repro_snippet
from .tolerance import DEFAULT_C, compare, error_bound

__all__ = ["OPS", "Support", "CheckReport", "check", "load_target", "run_case", "CaseOutcome"]

#: Harness op name -> (reference op, number of spatial dims).
OPS = {f"{base}{n}d": (ref, n) for n in (1, 2, 3) for base, ref in
       (("conv", "conv"), ("conv_transpose", "conv_transpose"), ("max_pool", "max_pool"), ("avg_pool", "avg_pool"))}


@dataclass(frozen=True)
class Support:
    """What a target supports (all on by default except asymmetric padding and non-zero padding modes)."""

    stride: bool = True
    dilation: bool = True
    groups: bool = True
    bias: bool = True
    asymmetric_padding: bool = False
    same_padding: bool = True
    padding_modes: tuple[str, ...] = ("zeros",)
    output_padding: bool = True
    ceil_mode: bool = True
    count_include_pad: bool = True
    divisor_override: bool = True
    return_indices: bool = True
    input_smaller_than_kernel: bool = True
    nan: bool = False
    infinity: bool = False
    max_batch: int = 2
    max_channels: int = 4
    max_kernel: int = 3
    max_side: int | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _cases(op: str, nd: int, sup: Support) -> Any:
    common = dict(ndim=nd, max_batch=sup.max_batch, max_kernel=sup.max_kernel, max_side=sup.max_side)
    if op == "conv":
        return S.conv_cases(**common, max_channels=sup.max_channels, groups=sup.groups, dilation=sup.dilation,
                            stride=sup.stride, asymmetric_padding=sup.asymmetric_padding,
                            same_padding=sup.same_padding, padding_modes=sup.padding_modes,
                            bias=None if sup.bias else False)
    if op == "conv_transpose":
        return S.conv_transpose_cases(**common, max_channels=sup.max_channels, groups=sup.groups,
                                      dilation=sup.dilation, stride=sup.stride,
                                      asymmetric_padding=sup.asymmetric_padding,
                                      output_padding=sup.output_padding, bias=None if sup.bias else False)
    return S.pool_cases(op.split("_")[0], **common, max_channels=min(sup.max_channels, 3), dilation=sup.dilation,
                        asymmetric_padding=sup.asymmetric_padding, ceil_mode=sup.ceil_mode,
                        count_include_pad=sup.count_include_pad, divisor_override=sup.divisor_override,
                        return_indices=sup.return_indices,
                        input_smaller_than_kernel=sup.input_smaller_than_kernel)


def _call_args(case: S.Case, arrays: dict[str, np.ndarray]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kw = case.kwargs()
    x = arrays["x"]
    if case.op == "conv":
        args = (x, arrays["weight"], arrays.get("bias"), kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
        return args, ({"padding_mode": kw["padding_mode"]} if "padding_mode" in kw else {})
    if case.op == "conv_transpose":
        return (x, arrays["weight"], arrays.get("bias"), kw["stride"], kw["padding"], kw["output_padding"],
                kw["groups"], kw["dilation"]), {}
    if case.op == "max_pool":
        return (x, kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"], kw["ceil_mode"],
                kw["return_indices"]), {}
    return (x, kw["kernel_size"], kw["stride"], kw["padding"], kw["ceil_mode"], kw["count_include_pad"],
            kw["divisor_override"]), {}


@dataclass
class CaseOutcome:
    """The verdict on one example."""

    ok: bool
    message: str
    ratio: float = 0.0
    expected: Any = None
    got: Any = None
    bound: Any = None


def _as_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        a = a.get()
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def run_case(target: Callable[..., Any], case: S.Case, arrays: dict[str, np.ndarray], tolerance: str,
             growth: str = "strict", c: float = DEFAULT_C, ties: str = "first",
             algorithm: str = "direct") -> CaseOutcome:
    """Run ``target`` on one case and judge it against the direct reference."""
    args, extra = _call_args(case, arrays)
    ref_args = (arrays["x"], arrays["weight"], arrays.get("bias")) if "weight" in arrays else (arrays["x"],)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf in NaN/inf runs is expected
        expected = getattr(direct, case.op)(*ref_args, **case.kwargs())
    try:
        got = target(*args, **extra)
    except Exception as e:  # the target's own failure is a finding, not a harness error
        return CaseOutcome(False, f"the target raised {type(e).__name__}: {e}", float("inf"), expected)
    try:
        if case.op == "max_pool":
            return _judge_max_pool(case, arrays["x"], got, expected, ties)
        got = _as_numpy(got)
    except (TypeError, ValueError) as e:  # e.g. a ragged tuple where an array was due
        return CaseOutcome(False, f"the target returned {type(got).__name__}, not an array of the output's shape "
                                  f"({type(e).__name__}: {e})", float("inf"), expected)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = error_bound(case.op, *ref_args, dtype=tolerance, growth=growth, c=c, algorithm=algorithm,
                            **case.kwargs())
    result = compare(got, expected, bound)
    return CaseOutcome(result.ok, result.message(), result.worst_ratio, expected, got, bound)


def _judge_max_pool(case: S.Case, x: np.ndarray, got: Any, expected: Any, ties: str) -> CaseOutcome:
    want_idx = case.kwargs()["return_indices"]
    exp_y, exp_i = expected if want_idx else (expected, None)
    if want_idx:
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            return CaseOutcome(False, "return_indices=True: the target must return (values, indices)", 1.0, expected)
        got_y, got_i = _as_numpy(got[0]), _as_numpy(got[1])
    else:
        got_y, got_i = _as_numpy(got), None
    result = compare(got_y, exp_y, np.zeros(np.shape(exp_y)))
    if not result.ok:
        return CaseOutcome(False, "values: " + result.message(), result.worst_ratio, exp_y, got_y, 0.0)
    if want_idx:
        if got_i.shape != exp_i.shape:
            return CaseOutcome(False, f"indices: shape {got_i.shape}, expected {exp_i.shape}", 1.0, exp_i, got_i)
        if got_i.dtype.kind not in "iu":
            return CaseOutcome(False, f"indices: dtype {got_i.dtype}, expected integers (flat per-plane positions)",
                               1.0, exp_i, got_i)
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
            return CaseOutcome(False, f"indices: {int(bad.sum())} wrong; first at {w}: got {int(got_i[w])}, "
                                      f"expected {int(exp_i[w])} ({detail})", 1.0, exp_i, got_i)
    return CaseOutcome(True, "exact", 0.0, exp_y, got_y)


def _features(case: S.Case, recipes: dict[str, S.ArrayRecipe]) -> list[str]:
    L, f = case.layer, [f"ndim={case.ndim}", f"values={recipes['x'].kind}"]
    if case.extras.get("stride_arg", ()) is None:
        f.append("stride=None")
    if any(s > 1 for s in L.stride):
        f.append("stride>1")
    if case.op in ("conv", "conv_transpose"):
        f += ["groups>1"] * (L.groups > 1) + ["bias"] * L.bias + ["dilation>1"] * any(d > 1 for d in L.dilation)
        if L.groups > 1 and L.groups == case.channels:
            f.append("depthwise")
        if case.op == "conv_transpose" and any(L.output_padding):
            f.append("output_padding>0")
        if case.padding_mode != "zeros":
            f.append(f"padding_mode={case.padding_mode}")
    else:
        f += ["ceil_mode"] * L.ceil_mode
        if case.op == "max_pool":
            f += ["dilation>1"] * any(d > 1 for d in L.dilation) + ["return_indices"] * case.extras["return_indices"]
        else:
            f += ["count_include_pad=False"] * (not L.count_include_pad)
            f += ["divisor_override"] * (L.divisor_override is not None)
    pad = case.padding_arg
    if isinstance(pad, str):
        f.append(f"padding='{pad}'")
    elif any(isinstance(p, tuple) and p[0] != p[1] for p in pad):
        f.append("asymmetric padding")
    elif any((p if isinstance(p, int) else p[0]) > 0 for p in pad):
        f.append("padding>0")
    return f


@dataclass
class CheckReport:
    """Outcome of :func:`check`: pass/fail, example count, coverage, and the repro on failure."""

    op: str
    passed: bool
    examples: int
    coverage: Counter = field(default_factory=Counter)
    max_ratio: float = 0.0
    repro: str = ""
    message: str = ""
    seconds: float = 0.0
    details: str = ""

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def summary(self) -> str:
        if not self.passed:
            return (f"FAILED {self.op} after {self.examples} passing examples: {self.message}\n{self.details}"
                    f"\nMinimal failing case (copy-paste to reproduce):\n\n{self.repro}")
        cov = ", ".join(f"{k}: {v}" for k, v in sorted(self.coverage.items()))
        return (f"PASSED {self.op}: {self.examples} examples, 0 mismatches, largest error/bound = "
                f"{self.max_ratio:.3g}, {self.seconds:.1f} s\n  exercised: {cov}")


def check(target: Callable[..., Any] | str, op: str = "conv2d", *, max_examples: int = 100,
          dtype: str = "float32", tolerance: str | None = None, growth: str = "strict", c: float = DEFAULT_C,
          ties: str = "first", algorithm: str = "direct", seed: int | None = 0, progress: bool = True,
          out: TextIO | None = None, target_name: str | None = None, print_summary: bool = True,
          **support: Any) -> CheckReport:
    """Run the conformance suite for ``op`` on ``target`` (a callable or ``'module:function'``).

    ``dtype`` is the storage dtype of the generated arrays (``'bfloat16'`` =
    float32 storage of bf16 values); ``tolerance`` the arithmetic of the error
    model (default: ``dtype``; e.g. ``'tf32'``).  Keyword switches are the
    fields of :class:`Support` (``dilation=False``, ``groups=False``, ...).
    ``algorithm='fft'`` adds the norm-wise FFT error term (for FFT-based
    targets, which are not accurate element by element); ``ties='any'``
    accepts any maximal max-pool index.  ``seed=None`` draws a random seed.
    With ``progress``, a line every tenth of the run and (``print_summary``)
    the report go to ``out`` (default stdout).
    """
    if op not in OPS:
        raise ValueError(f"op={op!r}: must be one of {', '.join(OPS)}")
    unknown = set(support) - set(Support.names())
    if unknown:
        raise TypeError(f"unknown support switch(es) {sorted(unknown)}; valid: {', '.join(Support.names())}")
    _check_run_options(max_examples, c, support)
    if ties not in ("first", "any"):
        raise SpecError(f"ties={ties!r}: must be 'first' (PyTorch's rule) or 'any' (any maximal element)")
    if isinstance(target, str):
        target_name, target = target, load_target(target)
    name = target_name or f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    sup = Support(**support)
    ref_op, nd = OPS[op]
    tol = tolerance or dtype
    out = out if out is not None else sys.stdout
    state: dict[str, Any] = {"calls": 0, "examples": 0, "max_ratio": 0.0, "fail": None, "cov": Counter()}
    start = time.monotonic()
    every = max(1, max_examples // 10)

    strategy = S.case_arrays(_cases(ref_op, nd, sup), dtype=dtype, allow_nan=sup.nan, allow_infinity=sup.infinity)

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False, verbosity=Verbosity.quiet,
              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], print_blob=False)
    @given(strategy)
    def _conformance(drawn: tuple[S.Case, dict[str, S.ArrayRecipe]]) -> None:
        case, recipes = drawn
        arrays = {k: r.build() for k, r in recipes.items()}
        outcome = run_case(target, case, arrays, tol, growth, c, ties, algorithm)  # type: ignore[arg-type]
        state["calls"] += 1
        if outcome.ok:
            if state["fail"] is None:
                state["examples"] += 1
                state["max_ratio"] = max(state["max_ratio"], outcome.ratio)
                state["cov"].update(_features(case, recipes))
                if progress and state["examples"] % every == 0:
                    print(f"  [convalg check {op}] {state['examples']}/{max_examples} examples, "
                          f"{time.monotonic() - start:.1f} s", file=out, flush=True)
            return
        state["fail"] = (case, recipes, outcome)
        raise AssertionError(outcome.message)

    test = hypothesis_seed(seed)(_conformance) if seed is not None else _conformance
    try:
        test()
    except AssertionError:
        pass
    elapsed = time.monotonic() - start
    if state["fail"] is None:
        report = CheckReport(op, True, state["examples"], state["cov"], state["max_ratio"], seconds=elapsed)
    else:
        case, recipes, outcome = state["fail"]
        snippet = repro_snippet(name, op, case, recipes, outcome, tol, growth, c, ties, algorithm)
        report = CheckReport(op, False, state["examples"], state["cov"], state["max_ratio"], snippet,
                             outcome.message, elapsed, _details(outcome))
    if progress and print_summary:
        print(report.summary(), file=out, flush=True)
    return report


def _check_run_options(max_examples: Any, c: Any, support: dict[str, Any]) -> None:
    """:class:`SpecError` for run options that would crash Hypothesis or make every kernel fail."""
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) or max_examples < 1:
        raise SpecError(f"max_examples={max_examples!r}: must be an integer >= 1")
    if isinstance(c, bool) or not isinstance(c, (int, float, np.number)) or not (0 < float(c) < float("inf")):
        raise SpecError(f"c={c!r}: the safety factor of the error model must be a positive finite number")
    for name in ("max_batch", "max_channels", "max_kernel", "max_side"):
        value = support.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise SpecError(f"{name}={value!r}: must be an integer >= 1" + (" (or None)" * (name == "max_side")))
    modes = support.get("padding_modes", ("zeros",))
    if isinstance(modes, str) or not modes or any(m not in PADDING_MODES for m in modes):
        raise SpecError(f"padding_modes={modes!r}: must be a non-empty tuple of {', '.join(map(repr, PADDING_MODES))}")


def _details(outcome: CaseOutcome) -> str:
    parts = []
    for label in ("expected", "got", "bound"):
        value = getattr(outcome, label)
        if value is not None and np.size(value) <= 64:
            text = np.array2string(np.asarray(value), precision=8, separator=", ")
            parts.append(f"  {label}: " + text.replace("\n", "\n  " + " " * (len(label) + 2)))
    return "\n".join(parts) + ("\n" if parts else "")


def load_target(spec: str) -> Callable[..., Any]:
    """Import ``'package.module:function'`` or ``'path/to/file.py:function'`` (dotted attributes allowed).

    >>> load_target("convalg.reference:conv").__name__
    'conv'
    """
    if ":" not in spec:
        raise ValueError(f"target={spec!r}: expected 'package.module:function' or 'file.py:function'")
    mod_name, attr = spec.rsplit(":", 1)
    if mod_name.endswith(".py"):
        path = Path(mod_name).resolve()
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules.setdefault(path.stem, module)
        module_spec.loader.exec_module(module)
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(mod_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"target={spec!r}: {attr} is not callable")
    return obj
