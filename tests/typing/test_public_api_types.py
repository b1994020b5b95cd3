"""functional's public signatures are typed: a user's program passes mypy --strict and typed mistakes are caught
(against the source tree here; .ci/typecheck repeats it against regular and editable installs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_user_program_is_clean_and_mistakes_are_caught(tmp_path) -> None:
    program, mistakes = HERE / "user_program.py", HERE / "user_mistakes.py"
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
                           "--ignore-missing-imports", "--cache-dir", str(tmp_path), str(program), str(mistakes)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert not [e for e in errors if e.startswith(str(program))], proc.stdout
    marked = {i for i, line in enumerate(mistakes.read_text().splitlines(), 1) if "# error:" in line}
    found = {int(m.group(1)) for e in errors if (m := re.match(rf"{re.escape(str(mistakes))}:(\d+): error", e))}
    assert found == marked, proc.stdout
