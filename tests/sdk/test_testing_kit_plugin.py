"""The testing kit's pytest plugin and offline websocket server, as a user's test suite uses them.

The plugin test runs pytest in a fresh interpreter on a user-style test file
in a temporary directory: through the package's ``pytest11`` entry point when
the package is installed (nox), else named with ``-p``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from codex_app_server import AuthenticationError, Codex, TransportClosedError
from codex_app_server.testing import FakeProvider, Text, offline_config, websocket_server

from tests.runtime.support import _tomllib

from .conftest import CODEX_BIN, requires_codex

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "codex_app_server.testing.pytest_plugin"

USER_TESTS = """
import asyncio

import pytest
from codex_app_server import Codex
from codex_app_server.testing import DEFAULT_TEXT, FunctionCall, ModelRequest, Text, reply_by_prompt


def test_sync(offline_codex, fake_provider):
    fake_provider.enqueue(Text("Hi!"))
    assert offline_codex.thread_start().run("hello").final_response == "Hi!"
    assert fake_provider.requests[0]["model"] == "mock-model"


def test_async(offline_async_codex, fake_provider):
    fake_provider.respond = reply_by_prompt({"ping": Text("pong")})

    async def main():
        thread = await offline_async_codex.thread_start()
        return (await thread.run("ping")).final_response

    assert asyncio.run(main()) == "pong"


def shout(text: str) -> str:
    return text.upper()


@pytest.mark.offline_config(experimental_api=True, client_name="marked")
def test_marked(offline_codex, offline_codex_config, fake_provider):
    assert offline_codex_config.client_name == "marked"
    fake_provider.enqueue(FunctionCall(name="shout", arguments={"text": "hi"}), Text("done"))
    assert offline_codex.thread_start(tools=[shout]).run("shout").final_response == "done"
    assert ModelRequest(fake_provider.requests[1], 2).tool_outputs == ["HI"]


def test_remote(offline_websocket_server):
    server = offline_websocket_server
    assert server.url.startswith("ws://127.0.0.1:") and server.token not in repr(server)
    with Codex.connect(server.url, token=server.token) as codex:
        assert codex.thread_start().run("hi").final_response == DEFAULT_TEXT


def test_a_broken_responder_fails_the_test(offline_codex, fake_provider):
    def respond(request: ModelRequest):
        raise LookupError("no reply for " + request.prompt)

    fake_provider.respond = respond
    try:
        offline_codex.thread_start().run("mystery")
    except Exception:
        pass
"""


def _plugin_is_installed() -> bool:
    return any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))


def test_the_package_declares_the_plugin_entry_point() -> None:
    project = _tomllib().loads((ROOT / "output" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"codex_app_server": PLUGIN}


@requires_codex
def test_a_user_suite_gets_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")
    load = [] if _plugin_is_installed() else ["-p", PLUGIN]
    env = {**os.environ, "CODEX_BIN": str(CODEX_BIN), "PYTHONPATH": str(ROOT / "output" / "src")}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rA",
            "--strict-markers",
            "-p",
            "no:cacheprovider",
            *load,
            "test_user.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    out = done.stdout
    for name in ("test_sync", "test_async", "test_marked", "test_remote", "test_a_broken_responder_fails_the_test"):
        assert f"PASSED test_user.py::{name}" in out, out
    assert "ERROR test_user.py::test_a_broken_responder_fails_the_test" in out, out
    assert "FakeProvider respond() raised: [LookupError('no reply for mystery')]" in out, out
    assert "5 passed, 1 error" in out, out


@requires_codex
def test_websocket_server_refuses_a_wrong_token_and_stops(tmp_path: Path) -> None:
    with FakeProvider([Text("remote hi")]) as provider:
        config = offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN)
        with websocket_server(config, token="s3cret-token") as server:
            assert server.token == "s3cret-token"
            assert server.token_file.read_text() == "s3cret-token"
            with pytest.raises(AuthenticationError):
                Codex.connect(server.url, token="wrong").close()
            with Codex.connect(server.url, token_file=server.token_file) as codex:
                assert codex.thread_start().run("hi").final_response == "remote hi"
        assert not server.token_file.exists()
        with pytest.raises(ProcessLookupError):
            os.kill(server.pid, 0)


@requires_codex
def test_websocket_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    with FakeProvider() as provider:
        config = offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN, config_overrides={"no_such_key": 1})
        # Normally codex has exited; on a loaded machine it may still be exiting when startup_timeout ends.
        with pytest.raises(TransportClosedError, match="exited before listening|did not listen") as caught:
            with websocket_server(config):
                raise AssertionError("the server should not have started")
    assert "no_such_key" in caught.value.stderr_tail
