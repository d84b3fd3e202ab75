"""Helpers of the fault-injection, security and soak suites.

* :class:`Resources`: open file descriptors, live threads and child processes
  of this Python process, counted from ``/proc`` (psutil is not a
  dependency), so a test can say "nothing leaked".
* :func:`fake_codex`: an executable standing in for ``codex`` that runs
  ``tests/support/fake_stdio_server.py`` with a script, whatever codex
  arguments it is given, so the real ``Codex``/``AsyncCodex`` classes can be
  pointed at scripted (and broken) traffic.
* :func:`recorded_turn`: the real traffic of one simple turn
  (``tests/data/real_samples/simple_turn.jsonl``) as script material.
* :func:`offline_config`: an isolated configuration for the real binary and
  a local fake provider.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AppServerConfig

from tests.support.codex_env import find_codex_binary, isolated_env, mock_config_overrides

TESTS = Path(__file__).resolve().parents[1]
FAKE_SERVER = TESTS / "support" / "fake_stdio_server.py"
SAMPLES = TESTS / "data" / "real_samples"
CODEX_BIN = find_codex_binary()
NO_CODEX = "no codex binary: set CODEX_BIN or `pip install openai-codex-cli-bin==0.163.0`"
LINUX = sys.platform.startswith("linux")
# Counting children and fds needs /proc; signals need POSIX.
linux_only = pytest.mark.skipif(not LINUX, reason="the fault suite reads /proc (Linux only)")


# ---------------------------------------------------------------- resources


def child_pids(pid: int | None = None) -> set[int]:
    """Direct children of ``pid`` (default: this process), zombies included: an unreaped child is a leak."""
    pid = os.getpid() if pid is None else pid
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "children").read_text()
        except OSError:
            continue
        children.update(int(p) for p in text.split())
    return {c for c in children if process_state(c) is not None}


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (R, S, Z ...), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def reaped(pid: int) -> bool:
    """Exited and reaped: no zombie left (for our own children)."""
    return process_state(pid) is None


def process_gone(pid: int) -> bool:
    """Exited (for another process's child, which its parent or init reaps)."""
    return process_state(pid) in (None, "Z")


def open_fds() -> set[str]:
    """This process's open file descriptors, with what each points at."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass  # the fd of the listdir itself, closed meanwhile
    return out


@dataclass(frozen=True)
class Resources:
    fds: frozenset[str]
    threads: frozenset[str]
    children: frozenset[int]

    @classmethod
    def now(cls) -> Resources:
        return cls(
            frozenset(open_fds()),
            frozenset(f"{t.name}#{t.ident}" for t in threading.enumerate()),
            frozenset(child_pids()),
        )

    def leaked_since(self, before: Resources) -> dict[str, list[str]]:
        """What is open now and was not before (empty lists: nothing leaked)."""
        return {
            "fds": sorted(self.fds - before.fds),
            "threads": sorted(self.threads - before.threads),
            "children": sorted(str(p) for p in self.children - before.children),
        }


def settled_leaks(before: Resources, timeout: float = 5.0) -> dict[str, list[str]]:
    """Leaks after giving exiting threads and processes ``timeout`` s to go."""
    deadline = time.monotonic() + timeout
    while True:
        leaks = Resources.now().leaked_since(before)
        if not any(leaks.values()) or time.monotonic() > deadline:
            return leaks
        time.sleep(0.05)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


# ---------------------------------------------------------------- scripted servers


def fake_codex(directory: Path, script: Mapping[str, Any]) -> str:
    """An executable that ignores codex's arguments and serves ``script``."""
    directory.mkdir(parents=True, exist_ok=True)
    script_file = directory / "script.json"
    script_file.write_text(json.dumps(script), encoding="utf-8")
    launcher = directory / "fake-codex"
    launcher.write_text(
        f"#!{sys.executable}\n"
        "import runpy, sys\n"
        f"sys.argv = [{str(FAKE_SERVER)!r}, '--script', {str(script_file)!r}]\n"
        f"runpy.run_path({str(FAKE_SERVER)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    launcher.chmod(0o755)
    return str(launcher)


def fake_config(directory: Path, script: Mapping[str, Any], **kwargs: Any) -> AppServerConfig:
    kwargs.setdefault("request_timeout", 10.0)
    kwargs.setdefault("startup_timeout", 10.0)
    return AppServerConfig(codex_bin=fake_codex(directory, script), **kwargs)


@dataclass(frozen=True)
class RecordedTurn:
    """One real simple turn: the three responses and the turn's notifications."""

    initialize: dict[str, Any]
    thread_start: dict[str, Any]
    turn_start: dict[str, Any]
    notifications: list[dict[str, Any]]  # turn/started ... turn/completed

    @property
    def thread_id(self) -> str:
        return str(self.thread_start["thread"]["id"])

    @property
    def turn_id(self) -> str:
        return str(self.turn_start["turn"]["id"])

    def agent_text(self) -> str:
        for note in self.notifications:
            item = note["params"].get("item", {})
            if note["method"] == "item/completed" and item.get("type") == "agentMessage":
                return str(item["text"])
        raise AssertionError("the recorded turn has no agent message")

    def script(
        self,
        turn_actions: Iterable[Mapping[str, Any]] | None = None,
        *,
        extra_methods: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A fake-server script: thread/start and turn/start answered as recorded,
        then ``turn_actions`` (default: the recorded notifications)."""
        actions = list(turn_actions) if turn_actions is not None else [{"send": n} for n in self.notifications]
        return {
            "report_client_messages": False,
            "methods": {
                "initialize": [{"result": self.initialize}],
                "thread/start": [{"result": self.thread_start}],
                "turn/start": [{"result": self.turn_start}, *actions],
                **(extra_methods or {}),
            },
        }

    def sends(self) -> list[dict[str, Any]]:
        """The recorded notifications as ``send`` actions (a deep copy, safe to edit)."""
        return [{"send": copy.deepcopy(n)} for n in self.notifications]


def recorded_turn() -> RecordedTurn:
    lines = [json.loads(line) for line in (SAMPLES / "simple_turn.jsonl").read_text().splitlines() if line.strip()]
    responses = {m["id"]: m["result"] for m in lines if "id" in m and "result" in m}
    turn_notes: list[dict[str, Any]] = []
    started = False
    for message in lines:
        method = message.get("method")
        if method == "turn/started":
            started = True
        if started and method is not None and "id" not in message:
            turn_notes.append(message)
    return RecordedTurn(responses[1], responses[2], responses[3], turn_notes)


# ---------------------------------------------------------------- the real binary


def offline_config(base_url: str, home: Path, **kwargs: Any) -> AppServerConfig:
    """An isolated, offline configuration of the real binary against a fake provider."""
    approval = kwargs.pop("approval_policy", "never")
    env = isolated_env(home)
    env.update(kwargs.pop("env", None) or {})
    kwargs.setdefault("request_timeout", 30.0)
    return AppServerConfig(
        codex_bin=CODEX_BIN,
        config_overrides=mock_config_overrides(base_url, approval_policy=approval),
        extra_args=("--strict-config",),
        env=env,
        inherit_env=False,
        cwd=str(home),
        **kwargs,
    )
