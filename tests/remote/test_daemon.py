"""The local daemon: ``connect_daemon`` starts it in a temporary CODEX_HOME, connects, and never stops it.

The test stops it afterwards itself (``daemon stop``, then the daemon and its
updater process by pid: ``daemon stop`` leaves the updater running).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from codex_app_server import AsyncCodex, Codex

from tests.sdk.support import LoopThread, RoutedProvider
from tests.sdk.test_approvals import ECHO_HI, approval_handler
from tests.support.codex_env import MOCK_API_KEY_ENV
from tests.support.fake_provider import final_text

from .conftest import CODEX_BIN, requires_remote
from .servers import _alive, daemon_pids, short_tmp, stop_daemon, write_daemon_config

pytestmark = [*requires_remote, pytest.mark.timeout(120)]


@pytest.fixture
def daemon_home(provider: RoutedProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A CODEX_HOME configured for the fake provider; whatever daemon runs there is stopped after the test."""
    assert CODEX_BIN is not None
    with short_tmp() as root:
        home = root / "codex-home"
        write_daemon_config(home, provider)
        (root / "home").mkdir()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(root / "home"),
            "CODEX_HOME": str(home),
            MOCK_API_KEY_ENV: "sk-mock",
        }
        for key, value in env.items():  # the daemon runs with the environment of whoever starts it
            monkeypatch.setenv(key, value)
        try:
            yield home
        finally:
            stop_daemon(CODEX_BIN, env, home)
            assert not [pid for pid in daemon_pids(home) if _alive(pid)]


def test_connect_daemon_starts_it_connects_and_leaves_it_running(
    daemon_home: Path, provider: RoutedProvider, loop: LoopThread
) -> None:
    work = daemon_home.parent / "work"
    work.mkdir()
    with Codex.connect_daemon(codex_bin=CODEX_BIN, codex_home=daemon_home) as codex:
        assert codex.metadata.user_agent
        provider.enqueue(ECHO_HI, final_text("Ran it through the daemon."))
        handler, asked = approval_handler(codex, lambda params: "accept")
        codex.set_handler(handler)
        thread = codex.thread_start(cwd=str(work), approval_policy="untrusted")  # a daemon's cwd is its own
        result = thread.run("Run echo hi.")
        assert len(asked) == 1 and result.final_response == "Ran it through the daemon."
    pids = daemon_pids(daemon_home)
    assert pids and all(_alive(pid) for pid in pids), "closing the client must not stop the daemon"

    async def second_client() -> str | None:  # a second connect finds it running
        async with AsyncCodex.connect_daemon(codex_bin=CODEX_BIN, codex_home=daemon_home) as codex:
            provider.enqueue(final_text("Hello from the async client."))
            thread = await codex.thread_start(cwd=str(work))
            return (await thread.run("Hi.")).final_response

    assert loop.run(second_client(), timeout=60) == "Hello from the async client."
    assert daemon_pids(daemon_home) == pids
