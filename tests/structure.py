"""Structure metrics of the ``convalg`` package, read from its source with :mod:`ast` (nothing is imported).

``python tests/structure.py`` prints them; ``tests/test_architecture.py`` holds the package to them.

==============================  ==========================================================================
metric                          what is counted
==============================  ==========================================================================
file-level import cycles        strongly connected groups of modules linked by module-level imports
                                (``if TYPE_CHECKING:`` blocks left out: they never run), and the
                                same counting the imports inside functions (hidden cycles)
function-level imports          ``import`` statements of convalg modules inside a function body, split
                                into those that cross stages (another top-level package of convalg)
                                and those that stay inside one
stage cycles                    cycles between the top-level packages, counting every import
isinstance dispatch             ``isinstance(obj, <layer class>)`` calls, the layer classes being the
                                ones defined in ``convalg/spec``
longest functions               functions and methods by their number of lines
==============================  ==========================================================================
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Package", "read_package", "main"]

ROOT = Path(__file__).resolve().parent.parent / "convalg"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@dataclass
class Package:
    """The modules of a package and the imports between them."""

    root: Path
    modules: dict[str, Path] = field(default_factory=dict)
    top_level: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    in_functions: list[tuple[str, str, int]] = field(default_factory=list)  # (module, target, line)
    isinstance_sites: list[tuple[str, int, str]] = field(default_factory=list)
    functions: list[tuple[int, str]] = field(default_factory=list)  # (lines, qualified name)

    def stage(self, module: str) -> str:
        """The top-level package (or module) of ``convalg`` that ``module`` belongs to."""
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "__init__"

    def resolve(self, importer: str, level: int, name: str | None, alias: str | None = None) -> str | None:
        """The convalg module an import statement loads (a submodule when ``from pkg import sub`` names one)."""
        if level:
            base = importer.split(".")
            is_pkg = self.modules[importer].name == "__init__.py"
            base = base[: len(base) - level + (1 if is_pkg else 0)]
            target = ".".join(base + ([name] if name else []))
        else:
            target = name or ""
        if not target.startswith(self.root.name):
            return None
        if alias is not None and f"{target}.{alias}" in self.modules:
            return f"{target}.{alias}"
        while target and target not in self.modules:
            target = target.rpartition(".")[0]
        return target or None

    def cycles(self) -> list[list[str]]:
        """Strongly connected groups (two or more modules) of the module-level import graph."""
        return _strongly_connected({m: self.top_level.get(m, set()) for m in self.modules})

    def all_cycles(self) -> list[list[str]]:
        """Strongly connected groups of modules, counting the imports inside functions too."""
        graph = {m: set(self.top_level.get(m, set())) for m in self.modules}
        for a, b, _ in self.in_functions:
            graph[a].add(b)
        return _strongly_connected(graph)

    def stage_cycles(self) -> list[list[str]]:
        """Strongly connected groups of stages, counting module-level and function-level imports."""
        graph: dict[str, set[str]] = defaultdict(set)
        edges = [(a, b) for a, targets in self.top_level.items() for b in targets]
        edges += [(a, b) for a, b, _ in self.in_functions]
        for a, b in edges:
            sa, sb = self.stage(a), self.stage(b)
            if sa != sb and "__init__" not in (sa, sb):
                graph[sa].add(sb)
        return _strongly_connected(graph)

    def cross_stage_function_imports(self) -> list[tuple[str, str, int]]:
        return [(a, b, line) for a, b, line in self.in_functions if self.stage(a) != self.stage(b)]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


class _Reader(ast.NodeVisitor):
    def __init__(self, package: Package, module: str, layer_classes: set[str]) -> None:
        self.package, self.module, self.layer_classes = package, module, layer_classes
        self.depth = 0
        self.scope: list[str] = []

    def _record(self, node: ast.Import | ast.ImportFrom) -> None:
        targets: list[str | None]
        if isinstance(node, ast.Import):
            targets = [self.package.resolve(self.module, 0, a.name) for a in node.names]
        else:
            targets = [self.package.resolve(self.module, node.level, node.module, a.name) for a in node.names]
        for target in targets:
            if target is None or target == self.module:
                continue
            if self.depth:
                if (self.module, target, node.lineno) not in self.package.in_functions:
                    self.package.in_functions.append((self.module, target, node.lineno))
            else:
                self.package.top_level[self.module].add(target)

    visit_Import = _record
    visit_ImportFrom = _record

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node):
            self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        self.package.functions.append((length, f"{self.module}:{'.'.join(self.scope)}"))
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "isinstance" and len(node.args) == 2:
            kinds = node.args[1]
            names = [e for e in kinds.elts] if isinstance(kinds, ast.Tuple) else [kinds]
            named = {n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else "" for n in names}
            hit = named & self.layer_classes
            if hit:
                self.package.isinstance_sites.append((self.module, node.lineno, ", ".join(sorted(hit))))
        self.generic_visit(node)


def _layer_classes(root: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted((root / "spec").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                names.add(node.name)
    return names - {"SpecError"}


def read_package(root: Path = ROOT) -> Package:
    """Parse every module under ``root``."""
    package = Package(root)
    paths = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    for path in paths:
        package.modules[_module_name(path, root)] = path
    layer_classes = _layer_classes(root)
    for module, path in package.modules.items():
        _Reader(package, module, layer_classes).visit(ast.parse(path.read_text(encoding="utf-8")))
    return package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the package folder (default: convalg/)")
    parser.add_argument("--longest", type=int, default=10, help="how many of the longest functions to list")
    args = parser.parse_args(argv)
    p = read_package(args.root.resolve())
    cycles, hidden, stages = p.cycles(), p.all_cycles(), p.stage_cycles()
    crossing = p.cross_stage_function_imports()
    print(f"modules: {len(p.modules)}")
    print(f"file-level import cycles: {len(cycles)} ({sum(map(len, cycles))} modules)")
    for group in cycles:
        print("   ", " <-> ".join(m.removeprefix(f"{p.root.name}.") for m in group))
    print(f"module cycles counting function-level imports: {len(hidden)} ({sum(map(len, hidden))} modules)")
    for group in hidden:
        print("   ", " <-> ".join(m.removeprefix(f"{p.root.name}.") for m in group))
    print(f"stage cycles: {len(stages)}")
    for group in stages:
        print("   ", " <-> ".join(group))
    print(f"function-level imports of {p.root.name} modules: {len(p.in_functions)} "
          f"({len(crossing)} between stages)")
    for a, b, line in crossing:
        print(f"    {a}:{line} -> {b}")
    print(f"isinstance dispatch on layer classes: {len(p.isinstance_sites)}")
    for module, line, names in p.isinstance_sites:
        print(f"    {module}:{line} ({names})")
    print(f"{args.longest} longest functions:")
    for length, name in sorted(p.functions, reverse=True)[: args.longest]:
        print(f"    {length:4d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
