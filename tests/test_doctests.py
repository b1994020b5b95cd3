"""Every docstring example in the package (and the README) runs and is right."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import convalg

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(convalg.__path__, "convalg.")
    if m.name != "convalg.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name: str) -> None:
    if name.startswith("convalg.plot"):
        pytest.importorskip("matplotlib")  # the optional plot extra
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    if name.startswith("convalg.plot"):
        import matplotlib.pyplot as plt

        plt.close("all")
    assert result.failed == 0


def test_readme_doctests() -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    result = doctest.testfile(str(readme), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
