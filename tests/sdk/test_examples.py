"""Every example runs offline (``--offline``: real codex binary, local fake provider) and prints what it should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CODEX_BIN, requires_codex

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(120)]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The exact stdout of each example run offline (its replies are scripted in the example).
EXPECTED = {
    "hello.py": ["Hello! I am Codex, happy to help."],
    "async_hello.py": ["Hello from asyncio!"],
    "streaming.py": [
        "Streaming shows the answer while it is being written.",
        "-- turn completed: 4 deltas, 17 tokens",
    ],
    "approvals.py": [
        "approval requested for 'echo hi': accept",
        "approval requested for 'ls -la': decline",
        "command \"/bin/bash -lc 'echo hi'\": completed, output 'hi'",
        "command \"/bin/bash -lc 'ls -la'\": declined",
        "echo printed hi; listing the directory was not allowed.",
    ],
}


# Examples that need more than the SDK, tested by the slow suite that installs it.
ELSEWHERE = {"ray_batch.py": "tests/scale/test_ray.py"}


def test_every_example_has_an_expected_output() -> None:
    examples = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert examples == set(EXPECTED) | set(ELSEWHERE)
    assert all((EXAMPLES.parent / test).is_file() for test in ELSEWHERE.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI")}
    assert CODEX_BIN is not None
    env["CODEX_BIN"] = CODEX_BIN
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--offline"],
        cwd=tmp_path,  # examples must not depend on the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED[name]
