"""CI runs the README's Quick start as written (issue 23): both commands, in order, in one venv, then
``vbfem demo`` again. A README edit that .ci/run does not follow (or the reverse) fails here."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)


def _plain(command: str) -> str:
    """A shell line without quotes and quiet flags, the CI's venv path written as the README's ``.venv``."""
    command = command.replace("$venv", ".venv").replace('"', "")
    return re.sub(r" -q\b", "", command)


def test_ci_runs_the_readme_quick_start_in_one_venv_then_the_demo_again():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    script = _plain(ci.read_text())
    at = 0
    for command in commands:
        steps = [s.strip() for s in _plain(command).split("&&")]
        for step in steps:
            found = script.find(step, at)
            assert found >= 0, f"README step {step!r} is not in .ci/run (after position {at})"
            at = found + len(step)
    assert script.find(".venv/bin/vbfem demo", at) > at, "no second 'vbfem demo' after the tests"
    # one venv for both: .ci/run creates it under one name only
    assert len(set(re.findall(r"^venv=(.*)$", ci.read_text(), flags=re.MULTILINE))) == 1
