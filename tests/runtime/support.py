"""Helpers of the runtime unit tests: the fake stdio server's argv, a notification inbox, executables."""

from __future__ import annotations

import importlib
import json
import os
import stat
import sys
import threading
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

FAKE_SERVER = Path(__file__).resolve().parents[1] / "support" / "fake_stdio_server.py"
BUSY = {"code": -32001, "message": "Server overloaded; retry later."}
POSIX = os.name == "posix"

# --------------------------------------------------------------------------
# helpers


def notification(method: str, params: dict[str, object]) -> tuple[str, dict[str, object]]:
    """A notification as the reader hands it on: ``(method, the whole message)``."""
    return method, {"method": method, "params": params}


def one_by_one(
    on_notification: Callable[[str, dict[str, object]], None] | None,
) -> Callable[[list[tuple[str, dict[str, object]]]], None] | None:
    """RpcConnection's ``on_notifications`` (runs of notifications) from a per-notification callback."""
    if on_notification is None:
        return None

    def on_notifications(run: list[tuple[str, dict[str, object]]]) -> None:
        for method, message in run:
            on_notification(method, message["params"])  # type: ignore[arg-type]  # the reader made it a dict

    return on_notifications


class Inbox:
    """Collects notifications (from the reader thread) for assertions."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, object]]] = []
        self._cond = threading.Condition()

    def __call__(self, method: str, params: dict[str, object]) -> None:
        with self._cond:
            self.items.append((method, params))
            self._cond.notify_all()

    def wait_for(self, method: str, timeout: float = 5.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m, params in self.items:
                    if m == method:
                        return params
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {method} notification; got {[m for m, _ in self.items]}")
                self._cond.wait(remaining)


def _tomllib() -> types.ModuleType:
    try:
        return importlib.import_module("tomllib")
    except ImportError:  # Python 3.10
        return pytest.importorskip("tomli")  # type: ignore[no-any-return]


def fake_argv(script: Mapping[str, object]) -> list[str]:
    return [sys.executable, str(FAKE_SERVER), "--script-json", json.dumps(script)]


def make_executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)
