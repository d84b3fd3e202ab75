"""The public testing kit: a user's test written from its docstring runs a real codex offline."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from codex_app_server import Codex, ServerRequestHandler, TurnFailedError
from codex_app_server.generated.v2_all import (
    CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse,
)
from codex_app_server.testing import FakeProvider, FunctionCall, HttpError, Text, final_text, offline_config

from tests.support.fresh_python import run_python

from .conftest import CODEX_BIN, requires_codex

pytestmark = requires_codex


def test_a_user_test_as_documented(tmp_path: Path) -> None:
    with FakeProvider([Text("Hi!", chunks=["H", "i!"])]) as provider:
        with Codex(offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN)) as codex:
            thread = codex.thread_start()
            deltas = [event.params.delta for event in thread.turn("Say hi").stream() if event.method.endswith("delta")]
        assert deltas == ["H", "i!"]
        assert provider.requests[0]["model"] == "mock-model"
    # Everything codex wrote stayed in the test's directory.
    assert any((tmp_path / "codex-home").iterdir())


def test_scripted_approval_and_http_error(tmp_path: Path) -> None:
    asked: list[str] = []

    class Approve(ServerRequestHandler):
        def item_command_execution_request_approval(
            self, params: CommandExecutionRequestApprovalParams
        ) -> CommandExecutionRequestApprovalResponse:
            asked.append(str(params.command))
            return CommandExecutionRequestApprovalResponse(decision="accept")

    replies = [FunctionCall(arguments={"cmd": "echo kit", "yield_time_ms": 1000}), final_text("ran it"), HttpError(500)]
    with FakeProvider(replies) as provider:
        config = offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN)
        with Codex(config, handler=Approve()) as codex:
            thread = codex.thread_start(approval_policy="untrusted")
            assert thread.run("run echo").final_response == "ran it"
            with pytest.raises(TurnFailedError):
                thread.run("again")
        assert asked and "echo kit" in asked[0]
        assert len(provider.requests) == 3


def test_the_provider_listens_on_loopback_only() -> None:
    with FakeProvider() as provider:
        assert provider.base_url.startswith("http://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", provider.port), timeout=5):
            pass


def test_importing_the_sdk_does_not_load_the_kit() -> None:
    proc = run_python(
        """
        import sys
        import codex_app_server
        print("codex_app_server.testing" in sys.modules, "http.server" in sys.modules)
        """,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
