"""Running real app-servers for the remote-transport tests: websocket, unix socket, daemon.

Each server is the real ``codex app-server`` pointed at a fake provider on
127.0.0.1, in its own CODEX_HOME. Every process started here is stopped by
pid (SIGTERM, then SIGKILL): no test leaves one behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.codex_env import isolated_env, mock_config_overrides, toml_value
from tests.support.fake_provider import FakeProvider

START_TIMEOUT_S = 20.0
_LISTENING = re.compile(r"listening on: (ws://\S+)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def server_argv(binary: str, provider: FakeProvider, listen: str, *extra: str) -> list[str]:
    argv = [binary]
    for key, value in mock_config_overrides(provider.base_url).items():
        argv += ["-c", f"{key}={toml_value(value)}"]
    return [*argv, "app-server", "--strict-config", "--listen", listen, *extra]


class Server:
    """One ``codex app-server`` child; ``url`` is where clients connect."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.cwd = cwd
        self.proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.stderr: list[str] = []
        self._listening = threading.Event()
        self.url: str | None = None
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = _ANSI.sub("", raw.decode("utf-8", "replace"))
            self.stderr.append(line)
            found = _LISTENING.search(line)
            if found and self.url is None:
                self.url = found.group(1)
                self._listening.set()

    def wait_listening(self) -> str:
        if not self._listening.wait(START_TIMEOUT_S):
            self.stop()
            raise AssertionError("app-server did not listen:\n" + "".join(self.stderr[-20:]))
        assert self.url is not None
        return self.url

    def stop(self) -> None:
        stop_pid(self.proc.pid, self.proc)


def stop_pid(pid: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM, wait, SIGKILL: by pid, never by name."""
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        elif not _alive(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    if proc is not None:
        proc.wait(5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of someone else's is as good as gone
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


@contextmanager
def short_tmp() -> Iterator[Path]:
    """A short directory: unix socket paths are limited to ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="cxs-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def ws_server(binary: str, provider: FakeProvider, root: Path, *auth_args: str) -> Iterator[Server]:
    env = isolated_env(root)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    server = Server(server_argv(binary, provider, "ws://127.0.0.1:0", *auth_args), env, work)
    try:
        server.wait_listening()
        yield server
    finally:
        server.stop()


@contextmanager
def unix_server(binary: str, provider: FakeProvider, root: Path, socket_path: Path) -> Iterator[Server]:
    env = isolated_env(root)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    server = Server(server_argv(binary, provider, f"unix://{socket_path}"), env, work)
    server.url = f"unix://{socket_path}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not socket_path.exists():
            assert server.proc.poll() is None, "app-server exited:\n" + "".join(server.stderr[-20:])
            assert time.monotonic() < deadline, "no unix socket:\n" + "".join(server.stderr[-20:])
            time.sleep(0.02)
        yield server
    finally:
        server.stop()


def write_daemon_config(codex_home: Path, provider: FakeProvider) -> None:
    """The daemon takes no ``-c``: it reads the fake-provider settings from config.toml."""
    codex_home.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} = {toml_value(value)}" for key, value in mock_config_overrides(provider.base_url).items()]
    (codex_home / "config.toml").write_text("\n".join(lines) + "\n")


def daemon_pids(codex_home: Path) -> list[int]:
    """The daemon's and its updater's pids, from the pid files the daemon writes."""
    pids = []
    for name in ("daemon.pid", "daemon-updater.pid"):
        try:
            pids.append(int(json.loads((codex_home / "app-server-daemon" / name).read_text())["pid"]))
        except (OSError, ValueError, KeyError):
            pass
    return pids


def stop_daemon(binary: str, env: Mapping[str, str], codex_home: Path) -> str:
    """``daemon stop``, then the daemon and its updater by pid (``stop`` may leave the updater)."""
    pids = daemon_pids(codex_home)
    done = subprocess.run(
        [binary, "app-server", "daemon", "stop"],
        env=dict(env),
        capture_output=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    for pid in pids:
        stop_pid(pid)
    return done.stdout.decode("utf-8", "replace")


def proxy_argv(binary: str, socket_path: Path) -> list[str]:
    return [binary, "app-server", "proxy", "--sock", str(socket_path)]
