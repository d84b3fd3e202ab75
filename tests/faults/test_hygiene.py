"""Process hygiene: no leaked fd, thread or child process, and no zombie or orphan.

Counted from ``/proc`` before and after: clients opened and closed in a
loop; a client left by an exception; a client garbage-collected without
``close()``; an interpreter that exits without ``close()``; and a parent
killed outright (the child sees EOF on stdin and exits).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AsyncCodex, Codex, TransportClosedError
from codex_app_server._transports import StdioTransport

from tests.runtime.support import fake_argv
from tests.support.fake_provider import FakeProvider

from .support import (
    Resources,
    child_pids,
    fake_config,
    linux_only,
    offline_config,
    process_gone,
    reaped,
    recorded_turn,
    settled_leaks,
    wait_until,
)

pytestmark = [linux_only, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
TURN = recorded_turn()
NOTHING = {"fds": [], "threads": [], "children": []}


def _open_close(config: Any, flavor: str, turn: bool) -> None:
    if flavor == "sync":
        with Codex(config) as codex:
            if turn:
                codex.thread_start(model="mock-model").run("hi")
        return

    async def main() -> None:
        async with AsyncCodex(config) as codex:
            if turn:
                await (await codex.thread_start(model="mock-model")).run("hi")

    asyncio.run(main())


@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_clients_opened_and_closed_in_a_loop_leak_nothing_fake_server(tmp_path: Path, flavor: str) -> None:
    config = fake_config(tmp_path, TURN.script())
    _open_close(config, flavor, turn=True)  # warm-up: imports, lazily built validators, executor threads
    before = Resources.now()
    for _ in range(30):
        _open_close(config, flavor, turn=True)
    assert settled_leaks(before) == NOTHING


@pytest.mark.real
@pytest.mark.parametrize(
    ("flavor", "count"), [("sync", 10), ("async", 10), pytest.param("sync", 30, marks=pytest.mark.slow)]
)
def test_real_clients_opened_and_closed_in_a_loop_leak_nothing(
    codex_bin: str, provider: FakeProvider, tmp_path: Path, flavor: str, count: int
) -> None:
    config = offline_config(provider.base_url, tmp_path)
    _open_close(config, flavor, turn=True)
    before = Resources.now()
    for i in range(count):
        _open_close(config, flavor, turn=i % 2 == 0)
    assert settled_leaks(before) == NOTHING


@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_an_exception_inside_the_client_block_leaves_nothing(tmp_path: Path, flavor: str) -> None:
    config = fake_config(tmp_path, TURN.script())
    _open_close(config, flavor, turn=False)
    before = Resources.now()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        if flavor == "sync":
            with Codex(config) as codex:
                codex.thread_start()
                raise Boom
        else:

            async def main() -> None:
                async with AsyncCodex(config) as codex:
                    await codex.thread_start()
                    raise Boom

            asyncio.run(main())
    assert settled_leaks(before) == NOTHING


@pytest.mark.parametrize(
    ("answer", "error", "startup_timeout"),
    [
        # The server exits on its own: the timeout only has to outlast a
        # loaded machine's interpreter start, it is never reached.
        ([{"stderr": "error: unknown config key `modle`"}, {"exit": 2}], TransportClosedError, 30.0),
        ([], TimeoutError, 0.5),  # initialize never answered
    ],
    ids=["exits-at-startup", "never-answers"],
)
@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_a_failed_start_leaves_nothing(
    tmp_path: Path, flavor: str, answer: list[Any], error: type, startup_timeout: float
) -> None:
    script = {"methods": {"initialize": answer}}
    config = fake_config(tmp_path, script, startup_timeout=startup_timeout)
    _open_close(fake_config(tmp_path / "warm", TURN.script()), flavor, turn=False)
    before = Resources.now()
    with pytest.raises(error) as info:
        _open_close(config, flavor, turn=False)
    if error is TransportClosedError:
        assert "unknown config key" in str(info.value)
    assert settled_leaks(before) == NOTHING


def test_a_sync_client_collected_without_close_stops_its_child(tmp_path: Path) -> None:
    config = fake_config(tmp_path, TURN.script())
    _open_close(config, "sync", turn=False)
    before = Resources.now()
    codex = Codex(config)
    codex.thread_start().run("hi")
    (pid,) = child_pids() - before.children
    del codex
    gc.collect()
    wait_until(lambda: reaped(pid), 5, "the collected client's child to exit and be reaped")
    assert settled_leaks(before) == NOTHING


def test_an_async_client_collected_without_close_stops_its_child(tmp_path: Path) -> None:
    config = fake_config(tmp_path, TURN.script())
    _open_close(config, "async", turn=False)
    before = Resources.now()
    pids: list[int] = []

    async def main() -> None:
        codex = AsyncCodex(config)
        await (await codex.thread_start()).run("hi")
        pids.extend(child_pids() - before.children)
        del codex
        gc.collect()
        await asyncio.sleep(0)  # the loop goes on; the child stops off-loop

    asyncio.run(main())
    (pid,) = pids
    wait_until(lambda: reaped(pid), 5, "the collected client's child to exit and be reaped")
    assert settled_leaks(before) == NOTHING


EXIT_SCRIPT = r"""
import json, os, sys, tempfile
from pathlib import Path
sys.path.insert(0, os.environ["REPO_ROOT"])
from codex_app_server import Codex
from tests.faults.support import child_pids, fake_config, offline_config, recorded_turn
from tests.support.fake_provider import FakeProvider

mode = sys.argv[1]
home = Path(tempfile.mkdtemp())
if mode == "real":
    provider = FakeProvider().start()
    config = offline_config(provider.base_url, home)
else:
    config = fake_config(home, recorded_turn().script())
codex = Codex(config)  # never closed
codex.thread_start(model="mock-model").run("hi")
print(json.dumps(sorted(child_pids())), flush=True)
if sys.argv[2] == "hang":
    sys.stdin.read()  # wait to be killed
"""


def _run_exit_script(mode: str, end: str, codex_bin: str | None) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "REPO_ROOT": str(ROOT)}
    if codex_bin:
        env["CODEX_BIN"] = codex_bin
    proc = subprocess.Popen(
        [sys.executable, "-c", EXIT_SCRIPT, mode, end],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.communicate(timeout=10)[1][-3000:]
    (child,) = json.loads(line)
    return proc, child


def _finish(proc: subprocess.Popen[str]) -> str:
    try:
        return proc.communicate(timeout=20)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("mode", ["fake", pytest.param("real", marks=pytest.mark.real)])
def test_interpreter_exit_without_close_leaves_no_child(mode: str) -> None:
    codex_bin = None
    if mode == "real":
        from .support import CODEX_BIN, NO_CODEX

        if CODEX_BIN is None:
            pytest.skip(NO_CODEX)
        codex_bin = CODEX_BIN
    proc, child = _run_exit_script(mode, "exit", codex_bin)
    err = _finish(proc)
    assert proc.returncode == 0, err[-3000:]
    # The child is stopped before the interpreter is gone: no orphan left to init.
    wait_until(lambda: process_gone(child), 5, f"child {child} of the exited interpreter to stop")


@pytest.mark.real
def test_a_killed_parent_leaves_no_orphan(codex_bin: str) -> None:
    """SIGKILL gives Python no chance to clean up; the child sees EOF on stdin and exits."""
    proc, child = _run_exit_script("real", "hang", codex_bin)
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    wait_until(lambda: process_gone(child), 10, f"orphaned child {child} to exit")


def test_a_close_that_cannot_join_the_reader_still_frees_its_pipes() -> None:
    """The stdout pump may still be in the close handler when close() stops waiting for it
    (a loaded machine, a slow handler): the pipes go when the pump ends, not at the next GC."""
    before = Resources.now()
    in_handler = threading.Event()
    release = threading.Event()

    def on_close(_error: BaseException) -> None:
        in_handler.set()
        release.wait(10)

    transport = StdioTransport(fake_argv({}))
    transport.start(lambda _lines: None, on_close)
    transport.close(timeout=0.05)  # the child exits; the pump is held in on_close past the join
    assert in_handler.wait(10)
    release.set()
    assert settled_leaks(before) == NOTHING
