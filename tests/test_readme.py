"""The README's two commands are there verbatim, they mean something, and CI runs the same test command."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

TRY_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/incubot shell --demo"
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"


def bash_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def test_the_readme_gives_the_two_commands_verbatim() -> None:
    """The "two commands" section holds exactly the demo command and the test command, in that order."""
    section = README.split("## Essayer en deux commandes", 1)[1].split("\n## ", 1)[0]
    assert bash_blocks(section) == [TRY_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readmes_test_command() -> None:
    """.ci/run runs the README's test command as is, not commented out, and fails on any error."""
    lines = [line.strip() for line in CI.splitlines()]
    assert TEST_COMMAND in lines
    assert "set -euo pipefail" in lines
    assert CI.startswith("#!/usr/bin/env bash")
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111, ".ci/run must be executable"


def test_the_commands_refer_to_what_the_project_provides() -> None:
    """`incubot` is the installed script, `shell --demo` exists, and the `test` extra brings pytest and hypothesis."""
    from bot.cli.parser import build_parser

    assert PYPROJECT["project"]["scripts"]["incubot"] == "bot.cli:main"
    args = build_parser().parse_args(["shell", "--demo"])
    assert args.command == "shell" and args.demo
    test_extra = " ".join(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert "pytest" in test_extra and "hypothesis" in test_extra and "psycopg" in test_extra
    assert PYPROJECT["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


def test_the_readme_demo_walkthrough_uses_real_commands() -> None:
    """What the README tells a newcomer to type in the demo is what tests/test_cli.py types."""
    for typed in ("`aide`", "`budget`", "`startups`", "`devis dedale; 12 500 HT; Scopyleft; Sprint 7`",
                  "`:as julien.moreau`", "`:qui`"):
        assert typed in README
    assert "incubot-demo.db" in README


def test_the_exploitation_commands_run_on_the_example_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Each command of the README's « Exploitation » block runs on a fresh database with the example file,
    exits 0 and prints something: the README's examples stay true for the example data."""
    import shlex
    import shutil

    from bot.cli import main

    section = README.split("## Exploitation", 1)[1].split("\n## ", 1)[0]
    block = bash_blocks(section)[0]
    commands = [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.strip()]
    assert commands and all(words[0] == "incubot" for words in commands)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith(("SLACK_", "MATTERMOST_", "MATRIX_", "INCUBOT_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'incubot.db'}")
    for words in commands:
        capsys.readouterr()
        code = main(words[1:])
        out, err = capsys.readouterr()
        assert code == 0, (words, err)
        assert out.strip() or err.strip(), f"{' '.join(words)} printed nothing"

