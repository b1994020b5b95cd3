"""No test can pass without checking anything: a guard over the test sources.

Every ``tests/**/test_*.py`` is read with :mod:`ast`.  In each test function (name starting
``test``) two shapes of an empty pass are reported, naming ``file:line``:

- a bare ``return`` (or ``return None``) placed before the function's first check;
- a ``continue`` in a ``for ... in range(...)`` loop (a search over sizes) placed before the first
  check, when every check of the function lies inside that loop: the search may find nothing.

A *check* is an ``assert`` or ``raise``; a call to ``pytest.raises`` / ``warns`` / ``skip`` /
``fail`` / ``xfail`` / ``importorskip``, to anything under a ``testing`` module (``np.testing``,
``torch.testing``), to a function whose name starts with ``assert`` or ``check``, or to
Hypothesis' ``assume`` / ``reject`` (Hypothesis counts those, and fails a test that rejects too
much); and a statement that only calls a plain function (a helper called for its checks,
``attempt(...)``).  "Before" is source order; returns and loops inside nested functions, lambdas
and classes belong to those and are not counted.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
_PYTEST_CHECKS = {"raises", "warns", "deprecated_call", "skip", "fail", "xfail", "importorskip"}
_HYPOTHESIS_CHECKS = {"assume", "reject"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def is_check(node: ast.AST) -> bool:
    """Whether ``node`` is an assertion, an explicit failure or skip, or a call that checks."""
    if isinstance(node, (ast.Assert, ast.Raise)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
        return True  # a helper called for its checks alone, its result dropped: ``check_layer(...)``
    if not isinstance(node, ast.Call):
        return False
    name = _dotted(node.func)
    if not name:
        return False
    last = name[-1]
    return ((name[0] == "pytest" and last in _PYTEST_CHECKS) or "testing" in name[:-1]
            or last.startswith(("assert", "check")) or last in _HYPOTHESIS_CHECKS)


def _body_nodes(node: ast.AST, loop: ast.AST | None = None) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """The nodes of a function body with their innermost enclosing loop, nested scopes left out."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPES):
            continue
        yield child, loop
        yield from _body_nodes(child, child if isinstance(child, _LOOPS) else loop)


def _searches_range(loop: ast.AST | None) -> bool:
    """``for ... in range(...)``: a search over sizes, which may find none to check."""
    return (isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call)
            and isinstance(loop.iter.func, ast.Name) and loop.iter.func.id == "range")


def _contains(outer: ast.AST, node: ast.AST) -> bool:
    return any(n is node for n in ast.walk(outer))


def _empty_exits(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[int, str]]:
    def where(n: ast.AST) -> tuple[int, int]:
        return n.lineno, n.col_offset

    nodes = [(n, loop) for stmt in func.body if not isinstance(stmt, _SCOPES) for n, loop in
             [(stmt, None), *_body_nodes(stmt, stmt if isinstance(stmt, _LOOPS) else None)]]
    checks = [n for n, _ in nodes if is_check(n)]
    first = min((where(n) for n in checks), default=None)
    for n, loop in nodes:
        if not isinstance(n, (ast.Return, ast.Continue)) or (first is not None and where(n) > first):
            continue
        bare = isinstance(n, ast.Return) and (n.value is None or
                                               (isinstance(n.value, ast.Constant) and n.value.value is None))
        if bare:
            yield n.lineno, "returns before any check"
        elif isinstance(n, ast.Continue) and _searches_range(loop) and all(_contains(loop, c) for c in checks):
            yield n.lineno, "continues before any check, and every check is inside that loop"


def empty_paths(source: str, filename: str = "<test>") -> list[str]:
    """``file:line: test reason`` for each way a test function in ``source`` can pass unchecked."""
    tree = ast.parse(source, filename)
    owners = [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef))]
    found = []
    for owner in owners:
        for func in owner.body:
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) and func.name.startswith("test"):
                found += [f"{filename}:{line}: {func.name} {why}" for line, why in _empty_exits(func)]
    return found


def test_no_test_can_pass_without_checking() -> None:
    files = sorted(TESTS.rglob("test_*.py"))
    assert len(files) > 50  # the scan reads the real tree
    found = [hit for f in files for hit in empty_paths(f.read_text(), str(f.relative_to(TESTS.parent)))]
    assert found == []


OLD_PATTERNS = {
    "early return": """
        @given(square(stride=True, pad=True))
        def test_relationship(c):
            i, k, s, p, _ = c
            if i < 1 or i + 2 * p < k:
                return
            assert out2(Conv(k, stride=s, padding=p), i) == i
        """,
    "return on error": """
        def test_closed_form(layers, n):
            try:
                (out,) = net.output_shape((n,))
            except SpecError:
                return  # too small an input for this stack
            assert rf == receptive_field(layers, (n,))[0]
        """,
    "filter loop": """
        def test_sizes(name):
            for sym in g.symbols:
                accepted = g.accepted_sizes(sym, others)
                for n in range(1, 121):
                    if n not in accepted:
                        continue
                    assert got == expected, (name, n)
        """,
}

CHECKED_PATTERNS = {
    "raises, then return": """
        def test_relationship(c):
            if i + 2 * p < k:
                with pytest.raises(SpecError):
                    out2(Conv(k), i)
                return
            assert out2(Conv(k), i) == i
        """,
    "reject": """
        def test_closed_form(layers, n):
            try:
                (out,) = net.output_shape((n,))
            except SpecError:
                reject()
            assert out > 0
        """,
    "checked outside the filter loop": """
        def test_sizes(name):
            for sym in g.symbols:
                first = accepted.minimum
                assert first is not None
                for n in range(first, first + 120):
                    if n not in accepted:
                        continue
                    assert got == expected
        """,
    "returns in nested scopes, skip": """
        def test_nested():
            def helper(x):
                if x:
                    return
                return None
            key = lambda v: v
            if torch is None:
                pytest.skip("needs torch")
                return
            np.testing.assert_allclose(helper(1), key(None))
        """,
}


def test_the_guard_catches_the_old_patterns() -> None:
    for name, source in OLD_PATTERNS.items():
        assert len(empty_paths(textwrap.dedent(source))) == 1, name
    for name, source in CHECKED_PATTERNS.items():
        assert empty_paths(textwrap.dedent(source)) == [], name
