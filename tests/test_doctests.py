"""Every docstring example in the package, the GPU cases and the README runs and is right.

Each test also checks that examples ran: as many as the source holds (``>>>`` prompts), so a
module whose examples doctest cannot find (a docstring it does not collect) fails instead of
passing empty.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import convalg

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(convalg.__path__, "convalg.")
    if m.name != "convalg.__main__"
) + ["gpu.cases"]
PROMPT = re.compile(r"^\s*>>>", re.MULTILINE)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _prompts(text: str) -> int:
    """The number of ``>>>`` prompts in ``text``."""
    return len(PROMPT.findall(text))


def _run(module) -> doctest.TestResults:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, module.__name__):
        runner.run(test)
    return runner.summarize(verbose=False)


def _ran_and_found(module) -> tuple[doctest.TestResults, int]:
    """The module's doctest results and the number of ``>>>`` prompts in its source."""
    return _run(module), _prompts(inspect.getsource(module))


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name: str) -> None:
    if name.startswith("convalg.plot"):
        pytest.importorskip("matplotlib")  # the optional plot extra
    module = importlib.import_module(name)
    result, prompts = _ran_and_found(module)
    if name.startswith("convalg.plot"):
        import matplotlib.pyplot as plt

        plt.close("all")
    assert result.failed == 0
    assert result.attempted == prompts, f"{name}: {result.attempted} examples ran, the source has {prompts} prompts"


def test_readme_doctests() -> None:
    readme = ROOT / "README.md"
    result = doctest.testfile(str(readme), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted == _prompts(readme.read_text()) > 0


def test_the_count_sees_examples_that_did_not_run(tmp_path: Path) -> None:
    """Examples that doctest does not collect (a string that is not a docstring) fail the count."""
    path = tmp_path / "lost_examples.py"
    path.write_text('"""One example.\n\n>>> 1 + 1\n2\n"""\n\nNOTES = """\n>>> 2 + 2\n5\n"""\n')
    spec = importlib.util.spec_from_file_location("lost_examples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result, prompts = _ran_and_found(module)
    assert (result.failed, result.attempted, prompts) == (0, 1, 2)
