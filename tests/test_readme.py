"""The README's two set-up commands stay true (the test command is the one CI runs), and its Layout section
names the folders there are."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_readme_opens_with_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("```bash") < text.index("**Convolution algebra")
    main, tests = _readme_commands()
    assert "convalg demo" in main
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = _readme_commands()
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


def _layout_folders() -> list[str]:
    """The folders (entries ending in ``/``) of the README's Layout block."""
    section = (ROOT / "README.md").read_text().split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    return [line.split()[0] for line in block.strip().splitlines() if line.split()[0].endswith("/")]


def test_layout_names_every_package_folder_and_only_existing_ones() -> None:
    named = _layout_folders()
    packages = sorted(f"{p.parent.relative_to(ROOT).as_posix()}/" for p in (ROOT / "convalg").rglob("__init__.py")
                      if p.parent != ROOT / "convalg")
    assert packages and set(packages) <= set(named), sorted(set(packages) - set(named))
    for top in ("proofs/", "tests/", "gpu/", "docs/"):
        assert top in named
    missing = [folder for folder in named if not (ROOT / folder).is_dir()]
    assert not missing, f"the Layout names folders that do not exist: {missing}"
