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
