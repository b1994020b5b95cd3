"""Mutation harness: break the library one source change at a time and require the theorems to fail.

Each :class:`Mutation` replaces one exact snippet of one file of ``convalg/`` (the snippet must occur
exactly once: a stale mutation is reported, never skipped).  The harness copies ``convalg/`` and
``proofs/`` to a temporary directory, applies the change there, and runs ``python -m proofs`` on the
theorems that claim about the broken code, in a subprocess whose ``PYTHONPATH`` is the copy.  A
mutation is *caught* when at least one of them fails; the report names which.

``python -m proofs.mutate``            every mutation (its claiming theorems), 2 processes
``python -m proofs.mutate --ci``       the subset the test suite runs (fewer theorems per mutation)
``python -m proofs.mutate --list``     the mutations and the theorems that claim about them
``python -m proofs.mutate NAME ...``   the named mutations (``--json PATH``: the outcomes as JSON)

>>> sorted(m.name for m in MUTATIONS if m.ci)[:3]
['ceil-drop-rule-deleted', 'collapse-guard-dropped', 'conv-rejects-dilation']
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Mutation", "MUTATIONS", "Outcome", "run_mutation", "run_all", "main"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` by ``new`` in ``path``; ``theorems`` claim about that code, ``ci_theorems`` run in CI."""

    name: str
    path: str
    old: str
    new: str
    what: str
    theorems: tuple[str, ...]
    ci_theorems: tuple[str, ...] = ()

    @property
    def ci(self) -> bool:
        return bool(self.ci_theorems)


def _m(name: str, path: str, old: str, new: str, what: str, theorems: str, ci: str = "") -> Mutation:
    return Mutation(name, "convalg/" + path, old, new, what, tuple(theorems.split()), tuple(ci.split()))


MUTATIONS: tuple[Mutation, ...] = (
    # index maps
    _m("index-shift", "index_map/affine.py", "return self.stride * self.o - self.lo + self.dilation * self.k",
       "return self.stride * self.o - self.lo + self.dilation * self.k + 1", "i = s*o - lo + d*k + 1",
       "conv-definition conv-transpose-definition transpose-index-relation transpose-matrices fractional-striding "
       "strided-subsampled bilinearity conv-gradients max-pool-jacobian equivariance-strided avg-pool-constant-kernel "
       "full-convolution-commutative-associative", "conv-definition"),
    _m("gather-output-shift", "index_map/affine.py", "return sp.expand((at - expr.subs(self.o, 0)) / slope)",
       "return sp.expand((at - expr.subs(self.o, 0) + 1) / slope)", "gather form o = (i + lo - d*k + 1)/s",
       "transpose-index-relation gradient-index-formulas"),
    # transposes
    _m("convT-stride-dilation-swap", "index_map/maps.py",
       "AxisMap(m, n, s.kernel, s.stride, s.dilation, s.lo, s.hi - s.output_padding, a)",
       "AxisMap(m, n, s.kernel, s.dilation, s.stride, s.lo, s.hi - s.output_padding, a)",
       "ConvTranspose's map with stride and dilation swapped",
       "conv-transpose-definition transpose-index-relation transpose-matrices fractional-striding",
       "transpose-index-relation conv-transpose-definition"),
    _m("convT-output-padding-ignored", "spec/conv.py", "spec.lo, spec.hi,\n                                          spec.output_padding)",
       "spec.lo, spec.hi,\n                                          0)", "ConvTranspose's output size without output_padding",
       "conv-transpose-definition transpose-index-relation transpose-matrices fractional-striding window-counts"),
    _m("transpose-output-padding-zero", "spec/conv.py",
       "ops.append((n + spec.lo + spec.hi - effective_kernel(spec.kernel, spec.dilation)) % spec.stride)",
       "ops.append(0)", "Conv.transpose() chooses output_padding 0",
       "transpose-matrices conv-transpose-size-inverse conv-gradients"),
    _m("convT-size-formula", "shapes/formulas.py", "return (n - 1) * s - lo - hi + d * (k - 1) + op + 1",
       "return (n - 1) * s - lo - hi + d * (k - 1) - op + 1", "conv_transpose_output_size subtracts output_padding",
       "window-counts conv-transpose-size-inverse conv-transpose-definition"),
    # groups
    _m("groups-input-channel", "index_map/maps.py", "return self.group(co) * self.in_per_group + ci",
       "return ci", "every output channel reads the first group's inputs",
       "conv-definition conv-transpose-definition transpose-matrices pointwise-matmul conv-gradients"),
    _m("groups-transposed-weight", "operators/linear.py", "w = weights[(c, co % ch.out_per_group, *tap)]",
       "w = weights[(c, co // ch.out_per_group, *tap)]", "ConvTranspose reads the wrong in-group weight",
       "conv-transpose-definition transpose-matrices"),
    # flips
    _m("flip-ignored", "index_map/affine.py", "return self.kernel - 1 - self.k if flip else self.k",
       "return self.k", "flip_kernel has no effect",
       "conv-definition correlation-flip transpose-matrices full-convolution-commutative-associative"),
    # padding folds
    _m("circular-fold-off-by-one", "index_map/affine.py", "return sp.Mod(i, n)", "return sp.Mod(i + 1, n)",
       "circular padding folds to i + 1",
       "conv-definition equivariance-circular convolution-theorem convolution-theorem-multilevel"),
    _m("reflect-repeats-edge", "index_map/affine.py", "return sp.Piecewise((-i, sp.Lt(i, 0)),",
       "return sp.Piecewise((-i - 1, sp.Lt(i, 0)),", "reflect padding repeats the edge (symmetric)",
       "conv-definition bilinearity dilation-stuffed-kernel conv-gradients"),
    _m("replicate-clamp", "index_map/affine.py", "return sp.Min(sp.Max(i, 0), n - 1)",
       "return sp.Min(sp.Max(i, 1), n - 1)", "replicate padding clamps to index 1",
       "conv-definition strided-subsampled bilinearity"),
    # sizes
    _m("conv-size-off-by-one", "shapes/formulas.py", "return (n + lo + hi - d * (k - 1) - 1) // s + 1",
       "return (n + lo + hi - d * (k - 1)) // s + 1", "conv_output_size one too large at some sizes",
       "window-counts conv-transpose-size-inverse conv-definition"),
    _m("ceil-drop-rule-deleted", "shapes/formulas.py",
       "return o_int - 1 if (o_int - 1) * s >= n + lo else o_int", "return o_int",
       "ceil mode keeps a window that starts in the right padding",
       "window-counts avg-pool-definition max-pool-jacobian max-pool-subgradient", "window-counts"),
    _m("pool-size-ignores-dilation", "shapes/formulas.py", "num_int = n + lo + hi - d * (k - 1) - 1",
       "num_int = n + lo + hi - (k - 1) - 1", "pool_output_size ignores dilation",
       "window-counts max-pool-jacobian ceil-mode-no-drop"),
    _m("pool-dilation-ignored", "spec/pooling.py",
       "return AxisSpec(self.kernel_size[axis], self.stride[axis], self.dilation[axis], lo, hi)",
       "return AxisSpec(self.kernel_size[axis], self.stride[axis], 1, lo, hi)", "MaxPool ignores dilation",
       "window-counts max-pool-jacobian max-pool-subgradient receptive-field"),
    # pool divisors
    _m("exclude-pad-divisor", "index_map/affine.py",
       "return sp.Min(start + self.kernel, self.n) - sp.Max(start, 0)",
       "return sp.Min(start + self.kernel, self.n + self.hi) - sp.Max(start, 0)",
       "count_include_pad=False counts the right padding", "avg-pool-definition", "avg-pool-definition"),
    _m("include-pad-counts-overhang", "index_map/affine.py",
       "return sp.Min(start + self.kernel, self.n + self.hi) - start", "return self.kernel + 0 * start",
       "count_include_pad=True counts the ceil-mode overhang", "avg-pool-definition"),
    _m("divisor-override-ignored", "operators/pooling.py", "if layer.divisor_override is not None:",
       "if False:", "divisor_override ignored", "avg-pool-definition"),
    # floor rewrites
    _m("collapse-guard-dropped", "shapes/simplify.py", "    if rest.is_integer is not True:\n        return e\n",
       "", "collapse_floors rewrites without 'c integer'", "floor-collapse", "floor-collapse"),
    _m("collapse-mixed-offset", "shapes/simplify.py", "rest = rest + (den - 1 if func is sp.ceiling else 1 - den)",
       "rest = rest + (den if func is sp.ceiling else 1 - den)", "mixed floor/ceiling rewrite off by one",
       "floor-collapse"),
    _m("mod-drop-rounding", "shapes/simplify.py", "return sp.floor(x / den) + func(shift / den)",
       "return sp.floor(x / den) + sp.floor(shift / den)", "the Mod-dropping rule always rounds down",
       "floor-collapse"),
    # tie rule
    _m("tie-rule-last-maximum", "operators/maxpool.py", "if val > maxval or np.isnan(val):",
       "if val >= maxval or np.isnan(val):", "max pool ties go to the last maximum", "max-pool-subgradient"),
    # Winograd
    _m("winograd-G-scale", "operators/winograd.py", "G[j, :] = G.row(j) / scale", "G[j, :] = G.row(j) / (scale + 1)",
       "Winograd G rows scaled wrongly", "winograd"),
    # receptive field
    _m("receptive-field-pad-jump", "shapes/stack.py", "pad[a] = as_size(pad[a] + spec.lo * jump[a])",
       "pad[a] = as_size(pad[a] + spec.lo)", "receptive-field padding not scaled by the jump", "receptive-field"),
    _m("receptive-field-undilated", "shapes/stack.py",
       "r[a] = as_size(r[a] + (effective_kernel(spec.kernel, spec.dilation) - 1) * jump[a])",
       "r[a] = as_size(r[a] + (spec.kernel - 1) * jump[a])", "receptive-field size ignores dilation",
       "receptive-field"),
    # padding conventions
    _m("same-padding-extra-at-start", "shapes/formulas.py", "lo = sp.floor(total / 2)", "lo = sp.ceiling(total / 2)",
       "'same' puts the odd pad at the start", "same-padding"),
    _m("tf-same-unclamped", "spec/conventions.py",
       "return total if sp.sympify(keff >= s) is sp.true else sp.Max(total, 0)", "return total",
       "TF 'SAME' total padding can be negative", "tf-same-padding"),
    # gradients
    _m("grad-input-condition-dropped", "operators/gradients.py", "cond = sp.And(*[a.gather_condition for a in m.axes])",
       "cond = sp.And(*[a.gather_condition for a in m.axes][1:])", "input-gradient formula without its condition",
       "gradient-index-formulas"),
    _m("unfold-weight-column", "operators/gradients.py", "col = int(np.ravel_multi_index((co, ci, *tap), wshape))",
       "col = int(np.ravel_multi_index((co, 0, *tap), wshape))", "unfold matrix reads in-group channel 0",
       "conv-gradients"),
    # structured builders
    _m("circulant-direction", "operators/structured.py", "return sp.SparseMatrix(n, n, lambda i, j: c[(i - j) % n])",
       "return sp.SparseMatrix(n, n, lambda i, j: c[(j - i) % n])", "circulant built from its first row",
       "convolution-theorem convolution-theorem-multilevel"),
    # spec validation
    _m("conv-rejects-dilation", "spec/conv.py",
       "        mode = check_choice(\"padding_mode\", padding_mode, PADDING_MODES)\n",
       "        mode = check_choice(\"padding_mode\", padding_mode, PADDING_MODES)\n"
       "        if any(v > 1 for v in d):\n            raise SpecError(f\"dilation={d}: rejected\")\n",
       "Conv rejects dilation > 1 (a SpecError, not a wrong value)",
       "conv-definition layer-fusion dilation-stuffed-kernel strided-subsampled", "conv-definition"),
)


@dataclass
class Outcome:
    """What one mutation run established."""

    mutation: Mutation
    theorems: tuple[str, ...]
    caught_by: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def caught(self) -> bool:
        return bool(self.caught_by) and not self.error


def _copy(root: Path, tmp: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("convalg", "proofs"):
        shutil.copytree(root / name, tmp / name, ignore=ignore)


def run_mutation(m: Mutation, theorems: Sequence[str] | None = None, root: Path = ROOT,
                 timeout: float = 600) -> Outcome:
    """Apply ``m`` in a temporary copy of the library and run ``theorems`` (default: those claiming about it)."""
    names = tuple(theorems) if theorems else m.theorems
    out = Outcome(m, names)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="convalg-mutant-") as tmp_name:
        tmp = Path(tmp_name)
        _copy(root, tmp)
        target = tmp / m.path
        text = target.read_text()
        if text.count(m.old) != 1:
            out.error = f"stale: {m.path} contains the snippet {text.count(m.old)} times (expected once)"
            return out
        target.write_text(text.replace(m.old, m.new))
        env = {**os.environ, "PYTHONPATH": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run([sys.executable, "-m", "proofs", *names], cwd=tmp, env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            out.error = f"timed out after {timeout:.0f} s"
            return out
    out.seconds = time.perf_counter() - t0
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.split() and line.split()[0] in names}
    for name in names:
        line = lines.get(name)
        if line is None:
            out.error = f"no result line for {name} (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
            return out
        (out.survived if " PROVED (" in line else out.caught_by).append(name)
    if out.caught_by and proc.returncode == 0:
        out.error = "a theorem failed but python -m proofs exited 0"
    return out


def run_all(mutations: Sequence[Mutation], ci: bool = False, jobs: int = 2) -> list[Outcome]:
    """Run ``mutations`` (``ci``: each with its CI theorems), ``jobs`` subprocesses at a time."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda m: run_mutation(m, m.ci_theorems if ci else None), mutations))


def report(outcomes: Sequence[Outcome]) -> str:
    lines = ["| mutation | broken code | what | caught by | survived in |", "|---|---|---|---|---|"]
    for o in outcomes:
        caught = ", ".join(f"`{t}`" for t in o.caught_by) or ("**" + o.error + "**" if o.error else "**none**")
        lines.append(f"| `{o.mutation.name}` | `{o.mutation.path}` | {o.mutation.what} | {caught} | "
                     f"{', '.join(f'`{t}`' for t in o.survived)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--ci", action="store_true", help="only the CI subset, each with its CI theorems")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--jobs", type=int, default=2, help="parallel subprocesses (default 2)")
    parser.add_argument("--json", metavar="PATH", help="also write the outcomes as JSON to PATH")
    args = parser.parse_args(argv)
    known = {m.name: m for m in MUTATIONS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"python -m proofs.mutate: error: no mutation named {', '.join(unknown)}", file=sys.stderr)
        return 2
    chosen = [known[n] for n in args.names] if args.names else [m for m in MUTATIONS if m.ci or not args.ci]
    if args.list:
        for m in chosen:
            print(f"{m.name:<32} {m.path:<32} {m.what}  [claims: {', '.join(m.theorems)}]")
        return 0
    t0 = time.perf_counter()
    outcomes = run_all(chosen, ci=args.ci, jobs=args.jobs)
    print(report(outcomes))
    if args.json:
        rows = [{"name": o.mutation.name, "path": o.mutation.path, "what": o.mutation.what, "theorems": o.theorems,
                 "caught_by": o.caught_by, "survived": o.survived, "error": o.error} for o in outcomes]
        Path(args.json).write_text(json.dumps(rows, indent=1))
    missed = [o.mutation.name for o in outcomes if not o.caught]
    print(f"\n{len(outcomes) - len(missed)}/{len(outcomes)} mutations caught, total {time.perf_counter() - t0:.0f} s"
          + (f"; NOT caught: {', '.join(missed)}" if missed else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
