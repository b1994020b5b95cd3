"""What a conformance run reports: the verdict, the coverage (features and sizes reached), the drawn features
of a failing problem with the flag that excludes each, and array dumps.

>>> print(dump_array("got", np.zeros((2, 1, 2))))
  got: [[[0., 0.]],
        [[0., 0.]]]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CheckReport", "features", "size_features", "FLAGS", "dump", "dump_array", "SIZE_MARKS"]

#: feature (prefix) -> the ``convalg check`` flag that stops drawing it.
FLAGS = {
    "stride>1": "--no-stride", "dilation>1": "--no-dilation", "groups>1": "--no-groups", "depthwise": "--no-groups",
    "bias": "--no-bias", "padding='same'": "--no-same-padding", "padding_mode=": "--padding-modes zeros",
    "output_padding>0": "--no-output-padding", "ceil_mode": "--no-ceil-mode",
    "count_include_pad=False": "--no-count-include-pad", "divisor_override": "--no-divisor-override",
    "return_indices": "--no-return-indices", "asymmetric padding": "(drop --asymmetric-padding)",
    "NaN in weight": "--finite-weights", "inf in weight": "--finite-weights", "NaN in bias": "--finite-weights",
    "inf in bias": "--finite-weights", "NaN in": "--no-nan", "inf in": "--no-inf", "layout=": "--contiguous-only",
    "N>=3": "--max-batch 2", "C>=5": "--max-channels 4", "K>=5": "--max-kernel 4", "side>=24": "--max-side 23",
    "input smaller than kernel": "--no-input-smaller-than-kernel",
}
_HEADINGS = {False: "Minimal failing case", True: "Smallest failing case found before the shrink time ran out"}
#: Size thresholds counted in the coverage summary.
SIZE_MARKS = {"N": 3, "C": 5, "K": 5, "side": 24}


def size_features(case: Any, out_shape: tuple[int, ...] | None = None) -> dict[str, int]:
    """The largest batch, channel count, kernel side and spatial side (input or output) of a case."""
    L = case.layer
    chans = [case.channels] + ([L.out_channels] if case.op in ("conv", "conv_transpose") else [])
    kernel = getattr(L, "kernel_size", (1,))
    spatial_out = out_shape is not None and len(out_shape) > 2 and case.op != "unfold"  # unfold: (N, C*k, L)
    sides = list(case.spatial) + list(out_shape[2:] if spatial_out else ())
    return {"N": case.batch, "C": max(chans), "K": max(kernel), "side": max(sides)}


def features(case: Any, recipes: dict[str, Any], sizes: dict[str, int]) -> list[str]:
    """The drawn features of a case (names start with the keys of :data:`FLAGS` where a flag excludes them)."""
    L, f = case.layer, [f"ndim={case.ndim}", f"values={recipes[next(iter(recipes))].kind}"]
    f += [f"{k}>={v}" for k, v in SIZE_MARKS.items() if sizes[k] >= v]
    if case.extras.get("stride_arg", ()) is None:
        f.append("stride=None")
    if any(s > 1 for s in getattr(L, "stride", ())):
        f.append("stride>1")
    if any(d > 1 for d in getattr(L, "dilation", ())):
        f.append("dilation>1")
    if case.op in ("conv", "conv_transpose"):
        f += ["groups>1"] * (L.groups > 1) + ["bias"] * L.bias
        if L.groups > 1 and L.groups == case.channels:
            f.append("depthwise")
        if case.op == "conv_transpose" and any(L.output_padding):
            f.append("output_padding>0")
        if case.padding_mode != "zeros":
            f.append(f"padding_mode={case.padding_mode}")
    if case.op in ("max_pool", "avg_pool"):
        f += ["ceil_mode"] * L.ceil_mode
        if case.op == "avg_pool":
            f += ["count_include_pad=False"] * (not L.count_include_pad)
            f += ["divisor_override"] * (L.divisor_override is not None)
        if any(n < k for n, k in zip(case.spatial, L.kernel_size)):
            f.append("input smaller than kernel")
    if case.extras.get("return_indices"):
        f.append("return_indices")
    if case.op.startswith("adaptive"):
        f.append("output_size>input" if any(o is not None and o > n for o, n in
                                            zip(case.extras["output_size"], case.spatial)) else "output_size<=input")
    pad = case.padding_arg
    if isinstance(pad, str):
        f.append(f"padding='{pad}'")
    elif any(isinstance(p, tuple) and p[0] != p[1] for p in pad):
        f.append("asymmetric padding")
    elif any((p if isinstance(p, int) else p[0]) > 0 for p in pad):
        f.append("padding>0")
    for role, r in recipes.items():
        f += [f"NaN in {role}"] * bool(r.nan) + [f"inf in {role}"] * bool(r.inf)
        if r.layout != "contiguous":
            f.append(f"layout={r.layout} ({role})")
    return f


def _flag(feature: str) -> str | None:
    for key, flag in FLAGS.items():
        if feature.startswith(key):
            return flag
    return None


def dump_array(label: str, value: Any) -> str:
    """``label: array`` indented under the label, without the blank separator lines NumPy prints."""
    text = np.array2string(np.asarray(value), precision=8, separator=", ", threshold=64)
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    pad = "\n  " + " " * (len(label) + 2)
    return f"  {label}: " + pad.join(lines)


def dump(verdict: Any) -> str:
    """Expected / got / bound of a verdict, for arrays of up to 64 elements."""
    parts = [dump_array(label, getattr(verdict, label)) for label in ("expected", "got", "bound")
             if getattr(verdict, label) is not None and np.size(getattr(verdict, label)) <= 64]
    return "\n".join(parts) + ("\n" if parts else "")


@dataclass
class CheckReport:
    """Outcome of :func:`convalg.testing.check`: pass/fail, example count, coverage, and the repro on failure."""

    op: str
    passed: bool
    examples: int
    coverage: Counter = field(default_factory=Counter)
    max_ratio: float = 0.0
    repro: str = ""
    message: str = ""
    seconds: float = 0.0
    details: str = ""
    kind: str = "ok"
    drawn: list[str] = field(default_factory=list)
    largest: dict[str, int] = field(default_factory=dict)
    shrink_stopped: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def sizes_line(self) -> str:
        big = ", ".join(f"{k}>={v}: {self.coverage.get(f'{k}>={v}', 0)}" for k, v in SIZE_MARKS.items())
        top = ", ".join(f"{k}={v}" for k, v in self.largest.items())
        return f"  sizes reached: largest {top or '-'}; examples with {big}"

    def summary(self) -> str:
        if not self.passed:
            drawn = ", ".join(f"{f} ({_flag(f)})" if _flag(f) else f for f in self.drawn)
            return (f"FAILED {self.op} after {self.examples} passing examples: {self.message}\n{self.details}"
                    f"  drawn: {drawn}\n"
                    f"\n{_HEADINGS[self.shrink_stopped]} (copy-paste to reproduce):\n\n{self.repro}")
        cov = ", ".join(f"{k}: {v}" for k, v in sorted(self.coverage.items()))
        return (f"PASSED {self.op}: {self.examples} examples, 0 mismatches, largest error/bound = "
                f"{self.max_ratio:.3g}, {self.seconds:.1f} s\n{self.sizes_line()}\n  exercised: {cov}")
