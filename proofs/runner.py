"""Run the theorems and print one line each (or a Markdown table for the README).

>>> from proofs.runner import select
>>> [t.name for t in select(["floor-collapse"])]
['floor-collapse']
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ._core import THEOREMS, Result, Theorem, run_theorem

__all__ = ["load_all", "select", "run", "format_line", "counted", "markdown", "main"]

#: Theorem modules, in the order the runner prints them.
MODULES = ("layers", "shapes", "floors", "transpose", "reductions", "algebra", "equivariance", "convolution_theorem", "gradients", "winograd")


def load_all() -> dict[str, Theorem]:
    """Import every theorem module (registering its theorems) and return the registry."""
    import importlib

    for name in MODULES:  # relative: the package is ``proofs`` in a checkout, ``convalg._proofs`` when installed
        importlib.import_module(f".{name}", __package__)
    # runner order = MODULES order, whatever order the modules were first imported in
    rank = {f"{__package__}.{name}": i for i, name in enumerate(MODULES)}
    ordered = sorted(THEOREMS.items(), key=lambda item: rank.get(getattr(item[1].check, "__module__", ""), len(rank)))
    return dict(ordered)


def select(names: Sequence[str] | None = None) -> list[Theorem]:
    """The theorems named (prefix match, e.g. ``transpose``), or all of them."""
    registry = load_all()
    if not names:
        return list(registry.values())
    chosen = []
    for want in names:
        hits = [t for n, t in registry.items() if n == want] or [t for n, t in registry.items() if n.startswith(want)]
        if not hits:
            raise KeyError(f"no theorem named {want!r}; known: {', '.join(registry)}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def run(names: Sequence[str] | None = None, bound: int | None = None) -> list[Result]:
    """Run the selected theorems (``bound`` overrides every default bound)."""
    return [run_theorem(t, bound) for t in select(names)]


def format_line(r: Result, width: int = 34) -> str:
    cases = f"  ({counted(r)})" if r.counts else ""
    return f"{r.theorem.name:<{width}} {r.scope}  [{r.seconds:.1f} s]{cases}"


def counted(r: Result) -> str:
    """The cases a run checked, as text (``1532 matrices vs definition, 214 rejected (SpecError, expected)``)."""
    return ", ".join(f"{n} {kind}" for kind, n in r.counts.items())


def markdown(results: Sequence[Result]) -> str:
    """The README table: theorem, claim, what it compares, scope, what the scope covers with the counts
    the run checked (no timings, so it is reproducible)."""
    lines = ["| theorem | claim | compares | scope | covers (counted by the run) |", "|---|---|---|---|---|"]
    for r in results:
        covers = r.theorem.note + (f"; checked: {counted(r)}" if r.counts else "")
        cells = [f"`{r.theorem.name}`", r.theorem.claim, r.theorem.compares, r.scope, covers]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str = "python -m proofs") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Run convalg's theorems (checked with SymPy; each labelled general, bounded or outline).")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv), prog)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="theorem names or prefixes (default: all)")
    parser.add_argument("--bound", type=int, default=None,
                        help="size bound of the bounded checks (default: each theorem's CI bound)")
    parser.add_argument("--markdown", action="store_true", help="print the README table instead")
    parser.add_argument("--list", action="store_true", help="list the theorems and exit")


def run_from_args(args: argparse.Namespace, prog: str = "python -m proofs") -> int:
    try:
        chosen = select(args.names)
    except KeyError as e:
        print(f"{prog}: error: {e.args[0]}", file=sys.stderr)
        return 2
    if args.bound is not None and args.bound < 1:
        print(f"{prog}: error: --bound={args.bound}: must be >= 1", file=sys.stderr)
        return 2
    if args.list:
        for t in chosen:
            print(f"{t.name:<34} {t.title}")
        return 0
    t0 = time.perf_counter()
    results = []
    width = max(len(t.name) for t in chosen) + 1
    for t in chosen:
        r = run_theorem(t, args.bound)
        results.append(r)
        if not args.markdown:
            print(format_line(r, width), flush=True)
    total = time.perf_counter() - t0
    failed = sum(not r.ok for r in results)
    if args.markdown:
        print(markdown(results))
    else:
        print(f"{len(results) - failed}/{len(results)} theorems proved, {failed} failed, total {total:.1f} s")
    return 1 if failed else 0
