"""pytest plugin: ``pytest --convalg-target package.module:function --convalg-op conv2d``.

Registered as a ``pytest11`` entry point, so it is loaded by every pytest run
in an environment where convalg is installed; it does nothing unless
``--convalg-target`` (or the ``CONVALG_TARGET`` environment variable) is given.
Then it adds one test item per target and op that runs
:func:`convalg.testing.check` and fails with the shrunk repro snippet.

A target is checked as every op of ``--convalg-op`` (one function that handles
``conv1d,conv2d,conv3d``, say); ``OP=package.module:function`` checks that
target as that op only, so different kernels go in one run::

    pytest --convalg-target conv2d=mypkg.kernels:conv2d --convalg-target max_pool2d=mypkg.kernels:max_pool2d

=============================  =============================================================
option                         meaning
=============================  =============================================================
``--convalg-target``           ``[OP=]package.module:function`` or ``[OP=]file.py:function``
                               (repeatable)
``--convalg-op``               comma list, e.g. ``conv2d,conv_transpose2d`` (default conv2d)
``--convalg-max-examples``     examples per op (default 200)
``--convalg-dtype``            ``float16 | bfloat16 | float32 | float64`` (default float32)
``--convalg-accumulate``       precision the target sums in, e.g. ``tf32`` (default: float32
                               for 16-bit dtypes)
``--convalg-unsupported``      comma list of switches to turn off, e.g. ``dilation,groups``
``--convalg-option``           ``KEY=VALUE`` (repeatable) for any other :func:`check` keyword
=============================  =============================================================
"""

from __future__ import annotations

import ast
import os
from typing import Any

import pytest

from ..errors import SpecError
from .op_names import SWITCHES, applicable

__all__ = ["pytest_addoption", "pytest_collection_modifyitems", "ConformanceItem", "ConformanceFailure"]

#: The support switches (plain data, so that loading the plugin imports nothing heavy).
SWITCH_NAMES = frozenset(SWITCHES)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("convalg", "convalg conformance harness")
    group.addoption("--convalg-target", action="append", default=[],
                    help="kernel to check: [OP=]package.module:function (repeatable)")
    group.addoption("--convalg-op", default="conv2d", help="comma list of ops (conv2d, max_pool2d, ...)")
    group.addoption("--convalg-max-examples", type=int, default=200, help="examples per op")
    group.addoption("--convalg-dtype", default="float32", help="dtype of the generated arrays")
    group.addoption("--convalg-accumulate", default=None, help="precision the target sums in (e.g. tf32)")
    group.addoption("--convalg-unsupported", default="", help="comma list: dilation,groups,bias,stride,...")
    group.addoption("--convalg-option", action="append", default=[], help="KEY=VALUE passed to convalg check()")


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class ConformanceItem(pytest.Item):
    """One ``convalg.testing.check`` run."""

    def __init__(self, *, op: str, target: str, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.op, self.target, self.options = op, target, options

    def runtest(self) -> None:
        from .harness import check

        report = check(self.target, op=self.op, **self.options)
        self.user_properties.append(("convalg_examples", report.examples))
        if not report.passed:
            raise ConformanceFailure(report.summary())
        print(report.summary())

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return self.target, 0, f"convalg check {self.op} {self.target}"


class ConformanceFailure(AssertionError):
    """A conformance mismatch (its message is the report with the repro)."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    targets = config.getoption("--convalg-target", default=None) or (
        [os.environ["CONVALG_TARGET"]] if os.environ.get("CONVALG_TARGET") else [])
    if not targets:
        return
    options: dict[str, Any] = {"max_examples": config.getoption("--convalg-max-examples"),
                               "dtype": config.getoption("--convalg-dtype"),
                               "accumulate": config.getoption("--convalg-accumulate")}
    for name in filter(None, (s.strip() for s in config.getoption("--convalg-unsupported").split(","))):
        options[name] = False
    for pair in config.getoption("--convalg-option"):
        key, _, value = pair.partition("=")
        options[key.strip().replace("-", "_")] = _parse_value(value.strip())
    default_ops = [s.strip() for s in config.getoption("--convalg-op").split(",") if s.strip()]
    pairs = []
    for value in targets:
        op_name, sep, spec = value.partition("=")
        target, ops = (spec, [op_name.strip()]) if sep and ":" not in op_name else (value, default_ops)
        _validate(target, ops, options)
        pairs += [(target, op) for op in ops]
    _validate_switches([op for _, op in pairs], options)
    for target, op in pairs:
        name = f"convalg-check[{op}]" if len(targets) == 1 else f"convalg-check[{op}:{target}]"
        own = {k: v for k, v in options.items() if k not in SWITCH_NAMES or k in applicable(op)}
        items.append(ConformanceItem.from_parent(session, name=name, op=op, target=target, options=own))


def _validate_switches(ops: list[str], options: dict[str, Any]) -> None:
    """A switch must apply to at least one op of the run (each item gets the switches that apply to its op)."""
    unused = sorted(k for k in options if k in SWITCH_NAMES and not any(k in applicable(op) for op in ops))
    if unused:
        raise pytest.UsageError(f"convalg: {', '.join(unused)}: does not apply to {', '.join(sorted(set(ops)))}")


def _validate(target: str, ops: list[str], options: dict[str, Any]) -> None:
    """Usage errors (unknown op or switch, bad values, a target that does not load) stop the run with one line."""
    from .adapters import load_adapter
    from .harness import OPS, Support, _check_run_options, load_target

    unknown_ops = [op for op in ops if op not in OPS]
    if unknown_ops or not ops:
        raise pytest.UsageError(f"--convalg-op: {', '.join(unknown_ops) or 'empty'}; choose from {', '.join(OPS)}")
    check_keys = {"max_examples", "dtype", "accumulate", "tolerance", "growth", "c", "ties", "algorithm", "seed",
                  "timeout", "shrink_seconds", "array", "device", "autograd"}
    unknown = sorted(set(options) - check_keys - set(Support.names()))
    if unknown:
        raise pytest.UsageError(f"--convalg-unsupported / --convalg-option: unknown {', '.join(unknown)}; "
                                f"switches: {', '.join(Support.names())}")
    support = {k: v for k, v in options.items() if k in Support.names()}
    try:
        _check_run_options(options["max_examples"], options.get("c", 2.0), options.get("timeout", 10.0), support)
        load_adapter(options.get("array", "numpy"), options.get("device", "cpu"))
        load_target(target)
    except SpecError as e:
        raise pytest.UsageError(f"convalg: {e}") from None
    except Exception as e:  # noqa: BLE001 - importing the user's module may raise anything
        raise pytest.UsageError(f"--convalg-target {target!r}: cannot load it ({type(e).__name__}: {e})") from None
