"""The docs site: the README's one-command build is the one CI runs, and the site's sources are in place."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _docs_command() -> str:
    lines = [line.split("   #", 1)[0].strip() for line in (ROOT / "README.md").read_text().splitlines()
             if "sphinx" in line and line.lstrip().startswith("python -m pip install")]
    assert len(lines) == 1, lines
    return lines[0]


def test_readme_docs_command_is_the_one_ci_runs() -> None:
    command = _docs_command()
    assert "-W" in command  # warnings are errors
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_docs_sources_include_readme_api_and_gallery() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    assert "../README.md" in index and "_generated/gallery" in index and "api" in index
    assert "convalg.plot.gallery import build" in (ROOT / "docs" / "conf.py").read_text()


def test_every_docs_page_is_in_the_toctree() -> None:
    # Sphinx -W fails on a page outside every toctree; this says which one without building.
    index = (ROOT / "docs" / "index.md").read_text()
    entries = set(index.split("```{toctree}", 1)[1].split("```", 1)[0].split())
    pages = {p.stem for p in (ROOT / "docs").glob("*.md") if p.stem != "index"}
    assert pages, "no docs pages found"
    assert pages <= entries, sorted(pages - entries)
