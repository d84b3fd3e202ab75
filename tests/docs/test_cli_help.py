"""``python -m generator --help`` documents every command, and every command its options."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _help_lines(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {choice.dest: choice.help for choice in action._choices_actions}


COMMANDS = sorted(_subcommands(build_parser()))


def run_help(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "generator", *args, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_top_level_help_lists_every_command_with_a_summary() -> None:
    text = run_help()
    helps = _help_lines(build_parser())
    assert set(helps) == set(COMMANDS)
    for command in COMMANDS:
        assert helps[command], f"`{command}` has no one-line help"
        assert command in text
    assert "nox -s bump -- VERSION" in text and "exit status" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_documents_itself_and_every_option(command: str) -> None:
    sub = _subcommands(build_parser())[command]
    assert sub.description, f"`{command} --help` has no description"
    undocumented = [
        "/".join(action.option_strings) or action.dest
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert not undocumented, f"`{command}` options without help: {undocumented}"
    assert sub.description.split()[0] in run_help(command)
