"""Sphinx configuration: the README, the API from the docstrings, and the gallery drawn at build time."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import convalg  # noqa: E402

project = "convalg"
author = "convalg contributors"
release = version = convalg.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the signatures say it; the docstrings explain
html_theme = "alabaster"
html_title = f"convalg {release}"


def _gallery(app) -> None:  # noqa: ANN001 - Sphinx's application object
    """Draw every picture of convalg.plot.gallery into _generated/ (never stale, never committed)."""
    from convalg.plot.gallery import build

    build(Path(app.srcdir) / "_generated")


def setup(app) -> None:  # noqa: ANN001
    app.connect("builder-inited", _gallery)
