"""The distribution's package list (``[tool.setuptools] packages`` in pyproject.toml) is every package folder.

The list is written out, not found, because it also maps the repository's ``proofs/`` folder to
``convalg._proofs``; this test makes a new subpackage without its line fail instead of going missing
from installs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (the listing is checked wherever CI's Python has it)

ROOT = Path(__file__).resolve().parent.parent


def test_the_listed_packages_are_the_package_folders() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "convalg").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert len(folders) > 10
    assert set(config["packages"]) == folders | {"convalg._proofs"}
    assert config["package-dir"] == {"convalg._proofs": "proofs"}
    assert (ROOT / "proofs" / "__init__.py").is_file()
