"""Conformance harness: point it at your convolution / pooling kernel, get a verdict or a minimal repro.

The ops and how the target is called are listed in :mod:`convalg.testing.ops`
(forward ops with ``torch.nn.functional`` signatures, ``torch.nn.grad``-style
gradients, aten-order pooling backward, adaptive pools, ``unfold`` / ``fold``).
Arrays are passed positionally, everything else by keyword.

Every example is judged in this order (:mod:`convalg.testing.judge`): the call
must return within ``timeout`` seconds; it must leave its inputs unchanged
(they are compared with copies taken before the call, and the bound always
comes from those copies); the result must be the array library's array of the
output's shape and the input dtype; the values must lie within the error model
of :mod:`convalg.testing.tolerance`, with the accumulation precision
(``accumulate``, default float32 for 16-bit storage) separate from the storage
rounding.  Max pooling, ``unfold`` and adaptive max pooling must match exactly,
indices included.  A failure is shrunk by Hypothesis and reported as a
copy-paste Python snippet that fails the same way.

Defaults draw what real kernels get wrong: batch up to 4, channels up to 8,
kernels up to 6, sides up to 40 / 32 / 24 (1-d / 2-d / 3-d) -- one draw in three
above the small range, so examples still shrink to tiny ones; NaN and inf in
every input (weights and bias too), every padding mode, non-contiguous,
negative-stride and channels-last inputs.  Switch off what the target does
not support with the fields of :class:`Support`.

>>> import convalg.reference as ref
>>> report = check(ref.conv, op="conv1d", dtype="float64", algorithm="fft", max_examples=5)
>>> report.passed, report.examples
(True, 5)
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TextIO

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..errors import SpecError
from ..spec import PADDING_MODES
from .adapters import Adapter, load_adapter
from .arrays import VALUE_KINDS
from .calls import TargetTimeout, call_with_timeout, user_frame
from .families import FAMILIES, params_of, shapes_of
from .judge import ErrorModel, Verdict, judge, judge_gradients
from .loading import load_target, target_label
from .ops import OPS, SIZE_BOUNDS, applicable, case_strategy
from .report import CheckReport, dump, features, size_features
from .repro import repro_snippet
from .strategies import array_recipes
from .tolerance import DEFAULT_C

__all__ = ["OPS", "Support", "CheckReport", "check", "load_target", "DEFAULT_TIMEOUT"]

#: Seconds one call of the target may take before the run stops and reports the problem that hung.
DEFAULT_TIMEOUT = 10.0
#: Seconds Hypothesis may spend shrinking a failure before the smallest case found so far is reported.
DEFAULT_SHRINK_SECONDS = 60.0


@dataclass(frozen=True)
class Support:
    """What a target supports (everything PyTorch accepts is drawn by default, except asymmetric padding)."""

    stride: bool = True
    dilation: bool = True
    groups: bool = True
    bias: bool = True
    asymmetric_padding: bool = False
    same_padding: bool = True
    padding_modes: tuple[str, ...] = PADDING_MODES
    output_padding: bool = True
    ceil_mode: bool = True
    count_include_pad: bool = True
    divisor_override: bool = True
    return_indices: bool = True
    input_smaller_than_kernel: bool = True
    nan: bool = True
    infinity: bool = True
    nonfinite_weights: bool = True
    layouts: bool = True
    max_batch: int = SIZE_BOUNDS["max_batch"]  # type: ignore[assignment]
    max_channels: int = SIZE_BOUNDS["max_channels"]  # type: ignore[assignment]
    max_kernel: int = SIZE_BOUNDS["max_kernel"]  # type: ignore[assignment]
    max_side: int | None = None
    max_stride: int = SIZE_BOUNDS["max_stride"]  # type: ignore[assignment]
    max_dilation: int = SIZE_BOUNDS["max_dilation"]  # type: ignore[assignment]
    max_padding: int = SIZE_BOUNDS["max_padding"]  # type: ignore[assignment]

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


class _Stop(BaseException):
    """Ends the Hypothesis run at once (a hung call is not shrunk: every retry would hang too)."""


@st.composite
def _problems(draw: Any, op: str, sup: Support, dtype: str, adapter: Adapter, autograd: bool) -> Any:
    case = draw(case_strategy(op, sup, autograd))
    family = OPS[op].family
    kinds = VALUE_KINDS if family in ("max_pool", "max_pool_backward", "adaptive_max_pool") else (
        *VALUE_KINDS[:4], "positive")
    specials = [k for k, on in (("nan", sup.nan), ("inf", sup.infinity)) if on]
    # one example in three gets NaN / inf (in x, and in weights and bias unless nonfinite_weights=False)
    special = FAMILIES[family].forward and not autograd and specials and draw(st.integers(0, 2)) == 1
    # one example in three stores its arrays non-contiguously (x always; the others may stay contiguous)
    strided = sup.layouts and draw(st.integers(0, 2)) == 1
    recipes = {}
    for role, shape in shapes_of(family, case).items():
        layouts = adapter.layouts if strided else ("contiguous",)
        recipe = draw(array_recipes(shape, dtype, kinds, layouts=layouts[1:] if strided and role == "x" else layouts))
        if special and (role == "x" or sup.nonfinite_weights):
            kind = draw(st.sampled_from(specials if role == "x" else ("none", *specials)))
            if kind != "none":
                recipe = dataclasses.replace(recipe, **{kind: draw(st.integers(1, 2))})
        recipes[role] = recipe
    if autograd:
        recipes["upstream"] = draw(array_recipes((), dtype, VALUE_KINDS[:4]))
    return case, recipes


def _call(target: Callable[..., Any], family: str, tin: dict[str, Any], params: dict[str, Any]) -> tuple[Any, Any]:
    fam = FAMILIES[family]
    args = [tin[n] if n in fam.arrays or n == "indices" else params[n] for n in fam.positional]
    kw = {n: (tin[n] if n == "indices" else params[n]) for n in fam.keywords if n in params or n == "indices"}
    return args, kw


def _inputs(family: str, recipes: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The drawn arrays (float64 references are computed from these), with the derived ones and a ``None`` bias."""
    inputs: dict[str, Any] = {r: rec.build() for r, rec in recipes.items() if r != "upstream"}
    if FAMILIES[family].derived:
        inputs.update(FAMILIES[family].derived({k: v.astype(np.float64) for k, v in inputs.items()}, params))
    inputs.setdefault("bias", None) if family in ("conv", "conv_transpose") else None
    return inputs


def _target_inputs(inputs: dict[str, Any], recipes: dict[str, Any], model: ErrorModel, adapter: Adapter,
                   autograd: bool) -> dict[str, Any]:
    """The inputs as the target gets them: its array library, device, dtype and memory layout."""
    tin = {r: (None if v is None else adapter.to_target(v, model.dtype, recipes[r].layout if r in recipes
                                                         else "contiguous")) for r, v in inputs.items()}
    if autograd:
        tin = {r: (t if t is None else t.detach().requires_grad_(True)) for r, t in tin.items()}
    return tin


def _run_one(target: Callable[..., Any], op: str, case: Any, recipes: dict[str, Any], model: ErrorModel,
             adapter: Adapter, timeout: float | None, autograd: bool) -> tuple[Verdict, tuple[int, ...] | None]:
    family = OPS[op].family
    params = params_of(family, case)
    inputs = _inputs(family, recipes, params)
    tin = _target_inputs(inputs, recipes, model, adapter, autograd)
    args, kw = _call(target, family, tin, params)
    box: dict[str, Any] = {}

    def run() -> Any:
        got = target(*args, **kw)
        if autograd:
            box["y"] = got
            g = recipes["upstream"]
            box["g"] = dataclasses.replace(g, shape=tuple(got.shape)).build()
            got.backward(adapter.to_target(box["g"], model.dtype))
        adapter.synchronize()
        return got

    try:
        got = call_with_timeout(run, timeout)
    except TargetTimeout as e:
        return Verdict(False, "timeout", str(e), float("inf")), None
    except Exception as e:  # the target's own failure is a finding, not a harness error
        where = user_frame(e)
        grad_shape = tuple(box["g"].shape) if "g" in box else None
        return Verdict(False, "raised", f"the target raised {type(e).__name__}: {e}" +
                       (f"\n  at {where}" if where else ""), float("inf"), grad_shape=grad_shape), None
    after = {r: adapter.to_numpy(t) for r, t in tin.items() if t is not None}
    if autograd:
        got = got.detach()
    verdict = judge(op, got, inputs, params, after=after, model=model, adapter=adapter)
    shape = tuple(np.shape(verdict.expected)) if verdict.expected is not None else None
    if verdict.ok and autograd:
        grads = {r: t.grad for r, t in tin.items() if t is not None and r != "indices"}
        verdict = judge_gradients(op, grads, inputs, box["g"], params, model, adapter)
    if autograd:
        verdict.grad_shape = tuple(box["g"].shape)
    return verdict, shape


def check(target: Callable[..., Any] | str, op: str = "conv2d", *, max_examples: int = 100, dtype: str = "float32",
          accumulate: str | None = None, tolerance: str | None = None, growth: str = "strict", c: float = DEFAULT_C,
          ties: str = "first", algorithm: str = "direct", seed: int | None = 0,
          timeout: float | None = DEFAULT_TIMEOUT, shrink_seconds: float | None = DEFAULT_SHRINK_SECONDS,
          array: str = "numpy", device: str = "cpu", autograd: bool = False,
          verbose: bool = False, out: TextIO | None = None, target_name: str | None = None, summary: bool = True,
          **support: Any) -> CheckReport:
    """Run the conformance suite for ``op`` on ``target`` (a callable or ``'module:function'``); quiet unless
    ``verbose`` (then progress lines and, with ``summary``, the report go to ``out``, default stdout).

    ``dtype`` is the storage dtype of the arrays (``'bfloat16'``: ``torch.bfloat16``
    for torch, float32 storage of bf16 values otherwise); ``accumulate`` the
    arithmetic of the sums (default float32 for float16 / bfloat16, else
    ``dtype``; ``'tf32'`` for TF32 tensor cores; ``tolerance`` is an older name
    for it).  ``array`` / ``device``: what the target receives (``numpy``,
    ``torch``, ``cupy``; ``cpu``, ``cuda``).  ``autograd=True`` (torch): the
    target is a differentiable forward op; its gradients through
    ``torch.autograd`` for a drawn ``grad_output`` are checked too.  Keyword
    switches are the fields of :class:`Support`; a switch that does not apply
    to ``op`` is a :class:`SpecError`.  ``seed=None`` draws a random seed.
    ``shrink_seconds`` bounds the time spent shrinking a failure (``None``: no bound).
    """
    _check_arguments(op, support, max_examples, c, timeout, shrink_seconds, ties)
    adapter = load_adapter(array, device)
    if autograd and (array != "torch" or not OPS[op].forward):
        raise SpecError(f"autograd=True: needs array='torch' and a forward op (got array={array!r}, op={op!r})")
    if isinstance(target, str):
        target_name, target = target_label(target), load_target(target)
    name = target_name or f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    model = ErrorModel(dtype, accumulate or tolerance, growth, c, algorithm, ties)
    run = _Run(op, max_examples, shrink_seconds, out if out is not None else sys.stdout, verbose)
    sup = Support(**support)

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False, verbosity=Verbosity.quiet,
              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], print_blob=False)
    @given(_problems(op, sup, dtype, adapter, autograd))
    def _conformance(drawn: Any) -> None:
        run.start_example(drawn)
        case, recipes = drawn
        run.record(case, recipes, *_run_one(target, op, case, recipes, model, adapter, timeout,  # type: ignore[arg-type]
                                            autograd))

    test = hypothesis_seed(seed)(_conformance) if seed is not None else _conformance
    try:
        test()
    except (AssertionError, _Stop):
        pass
    except KeyboardInterrupt:
        if run.current is None:
            raise
        run.fail = (*run.current, Verdict(False, "interrupted", "interrupted (Ctrl-C) while the target "
                                                                "ran on the problem below"))
    report = run.report(name, model, array, device, autograd)
    if verbose and summary:
        print(report.summary(), file=run.out, flush=True)
    return report


def _check_arguments(op: str, support: dict[str, Any], max_examples: Any, c: Any, timeout: Any,
                     shrink_seconds: Any, ties: str) -> None:
    """:class:`SpecError` (``TypeError`` for an unknown switch) for arguments of :func:`check` that do not fit."""
    if op not in OPS:
        raise SpecError(f"op={op!r}: must be one of {', '.join(OPS)}")
    unknown = set(support) - set(Support.names())
    if unknown:
        raise TypeError(f"unknown support switch(es) {sorted(unknown)}; valid: {', '.join(Support.names())}")
    misplaced = sorted(set(support) - set(applicable(op)))
    if misplaced:
        raise SpecError(f"{', '.join(misplaced)}: does not apply to {op} (it applies to: "
                        f"{', '.join(applicable(op))})")
    _check_run_options(max_examples, c, timeout, support, shrink_seconds)
    if ties not in ("first", "any"):
        raise SpecError(f"ties={ties!r}: must be 'first' (PyTorch's rule) or 'any' (any maximal element)")


class _Run:
    """What one :func:`check` run has seen: the passing examples' coverage, the failure, the time."""

    def __init__(self, op: str, max_examples: int, shrink_seconds: float | None, out: TextIO, verbose: bool) -> None:
        self.op, self.max_examples, self.shrink_seconds, self.out, self.verbose = (
            op, max_examples, shrink_seconds, out, verbose)
        self.examples, self.max_ratio = 0, 0.0
        self.coverage: Counter[str] = Counter()
        self.largest: dict[str, int] = {}
        self.fail: tuple[Any, ...] | None = None
        self.current: Any = None
        self.failed_at: float | None = None
        self.shrink_stopped = False
        self.start, self.every = time.monotonic(), max(1, max_examples // 10)

    def start_example(self, drawn: Any) -> None:
        """Stop the run when shrinking a failure has taken ``shrink_seconds``; else remember the example."""
        if self.fail is not None and self.shrink_seconds is not None and self.failed_at is not None and \
                time.monotonic() - self.failed_at > self.shrink_seconds:
            self.shrink_stopped = True
            raise _Stop()
        self.current = drawn

    def record(self, case: Any, recipes: dict[str, Any], verdict: Verdict, out_shape: tuple[int, ...] | None) -> None:
        """Count a passing example (while no failure is known), or keep the failure and fail the example."""
        if verdict.ok:
            if self.fail is None:
                self._count(case, recipes, verdict, out_shape)
            return
        if self.failed_at is None:
            self.failed_at = time.monotonic()
        self.fail = (case, recipes, verdict)
        if verdict.kind == "timeout":
            raise _Stop()
        raise AssertionError(verdict.message)

    def _count(self, case: Any, recipes: dict[str, Any], verdict: Verdict, out_shape: tuple[int, ...] | None) -> None:
        sizes = size_features(case, out_shape)
        self.examples += 1
        self.max_ratio = max(self.max_ratio, verdict.ratio)
        self.coverage.update(features(case, recipes, sizes))
        self.largest = {k: max(v, self.largest.get(k, 0)) for k, v in sizes.items()}
        if self.verbose and self.examples % self.every == 0:
            print(f"  [convalg check {self.op}] {self.examples}/{self.max_examples} examples, "
                  f"{time.monotonic() - self.start:.1f} s", file=self.out, flush=True)

    def report(self, name: str, model: ErrorModel, array: str, device: str, autograd: bool) -> CheckReport:
        base = dict(coverage=self.coverage, max_ratio=self.max_ratio, seconds=time.monotonic() - self.start,
                    largest=self.largest)
        if self.fail is None:
            return CheckReport(self.op, True, self.examples, **base)
        case, recipes, verdict = self.fail
        snippet = repro_snippet(name, self.op, case, recipes, verdict, model, array, device, autograd)
        drawn = features(case, recipes, size_features(case))
        return CheckReport(self.op, False, self.examples, **base, repro=snippet, message=verdict.message,
                           details=dump(verdict), kind=verdict.kind, drawn=drawn, shrink_stopped=self.shrink_stopped)


def _check_run_options(max_examples: Any, c: Any, timeout: Any, support: dict[str, Any],
                       shrink_seconds: Any = None) -> None:
    """:class:`SpecError` for run options that would crash Hypothesis or make every kernel fail."""
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) or max_examples < 1:
        raise SpecError(f"max_examples={max_examples!r}: must be an integer >= 1")
    if isinstance(c, bool) or not isinstance(c, (int, float, np.number)) or not (0 < float(c) < float("inf")):
        raise SpecError(f"c={c!r}: the safety factor of the error model must be a positive finite number")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise SpecError(f"timeout={timeout!r}: must be a positive number of seconds (or None: no limit)")
    if shrink_seconds is not None and (isinstance(shrink_seconds, bool) or not isinstance(shrink_seconds, (int, float))
                                       or shrink_seconds < 0):
        raise SpecError(f"shrink_seconds={shrink_seconds!r}: must be a number of seconds >= 0 (or None: no limit)")
    for name in ("max_batch", "max_channels", "max_kernel", "max_side", "max_stride", "max_dilation"):
        value = support.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise SpecError(f"{name}={value!r}: must be an integer >= 1" + (" (or None)" * (name == "max_side")))
    pad = support.get("max_padding")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0):
        raise SpecError(f"max_padding={pad!r}: must be an integer >= 0")
    modes = support.get("padding_modes", ("zeros",))
    if isinstance(modes, str) or not modes or any(m not in PADDING_MODES for m in modes):
        raise SpecError(f"padding_modes={modes!r}: must be a non-empty tuple of {', '.join(map(repr, PADDING_MODES))}")
