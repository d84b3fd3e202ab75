"""Scaling out with Ray (examples/ray_batch.py) against a local Ray bound to 127.0.0.1.

Slow: starting Ray takes 15-45 s on a loaded 2-core machine. Run by `nox
-s slow`, which installs the pinned ``ray``; skipped where it is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.codex_env import find_codex_binary
from tests.support.fake_provider import FakeProvider, Hang, Text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CODEX_BIN = find_codex_binary()
RAY_WAIT_S = 120.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.real,
    pytest.mark.skipif(CODEX_BIN is None, reason="no codex binary"),
    # Found, not imported: Ray reads its environment when first imported (local_ray_environment).
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (nox -s slow has it)"),
    pytest.mark.xdist_group("ray"),  # one local Ray at a time
    pytest.mark.timeout(300),
]

EXPECTED_STDOUT = [
    "prompt 0 -> answer to prompt 0",
    "prompt 1 -> answer to prompt 1",
    "prompt 2 -> answer to prompt 2",
    "prompt 3 -> answer to prompt 3",
    "prompt 4 (please fail) -> TurnFailedError (internalServerError)",
    "prompt 5 -> answer to prompt 5",
    "5 answered, 1 failed",
]


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI")}
    env["CODEX_BIN"] = str(CODEX_BIN)
    return env


def test_the_example_spreads_a_batch_over_two_actors_and_gathers_results_and_errors(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "ray_batch.py"), "--offline", "--prompts", "6", "--actors", "2"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == EXPECTED_STDOUT
    assert "turns/s" in done.stderr


@pytest.fixture(scope="module")
def local_ray() -> Iterator[ModuleType]:
    """The example's module and a local Ray started the example's way (its workers import the example)."""
    sys.path.insert(0, str(EXAMPLES))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(EXAMPLES), os.environ.get("PYTHONPATH")) if p)
    os.environ["CODEX_BIN"] = str(CODEX_BIN)
    example = importlib.import_module("ray_batch")
    example.local_ray_environment()  # before the first `import ray` of this process: Ray reads it then
    example.start_local_ray(2)
    import ray

    try:
        yield example
    finally:
        ray.shutdown()


def test_the_local_ray_is_on_loopback_only(local_ray: ModuleType) -> None:
    """Every address Ray binds and connects to is the node's, and the node's is 127.0.0.1 (also checked by
    start_local_ray, which refuses a node elsewhere)."""
    import ray

    assert {node["NodeManagerAddress"] for node in ray.nodes()} <= {"127.0.0.1"}
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # reaped by nobody yet: a zombie is gone
        return "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)  # polling a process table: nothing to wait on
    return False


@pytest.mark.parametrize("mid_turn", [False, True], ids=["idle", "mid-turn"])
def test_a_killed_actor_leaves_no_codex_process(local_ray: ModuleType, tmp_path: Path, mid_turn: bool) -> None:
    import ray

    with FakeProvider([Hang(timeout_s=120)] if mid_turn else [Text("ok")]) as provider:
        actor: Any = ray.remote(local_ray.CodexWorker).remote(local_ray._offline(provider, tmp_path))
        pid = ray.get(actor.codex_pid.remote(), timeout=RAY_WAIT_S)
        assert pid is not None and not _gone(pid)
        turn = actor.run.remote("hold on")
        if mid_turn:
            provider.wait_for_requests(1, timeout=RAY_WAIT_S)  # the turn is waiting on the model
        else:
            assert ray.get(turn, timeout=RAY_WAIT_S).final_response == "ok"
        ray.kill(actor)
        assert _wait_gone(pid, 30.0), f"codex app-server (pid {pid}) outlived its killed actor"
