"""The two float64 oracles share argument handling only: the brute force imports nothing of the FFT reference,
so agreement between them checks both."""

from __future__ import annotations

import ast
from pathlib import Path

import convalg.reference.direct as direct

_DIRECT = Path(direct.__file__)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (relative ones with their leading dots)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            where = "." * node.level + (node.module or "")
            names.add(where)
            if not node.module:  # ``from . import fft``
                names.update(where + a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_brute_force_reference_does_not_import_the_fft_reference():
    imported = _imported_modules(_DIRECT)
    assert not {n for n in imported if n.rsplit(".", 1)[-1] == "fft" or n.startswith(".fft")}, imported
    assert direct.conv_grad_bias.__module__ == "convalg.reference.direct"
