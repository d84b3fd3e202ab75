"""Every transport against the real app-server: initialize, a thread, a streamed turn, an approval.

Parametrised over the transport (``ws``: websocket over TCP; ``unix``:
websocket over the unix socket; ``proxy``: websocket through the pipes of
``codex app-server proxy``) and the flavour (``Codex`` / ``AsyncCodex``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from codex_app_server import Codex, InvalidRequestError, TurnStatus
from codex_app_server.generated.v2_all import CommandExecutionStatus, CommandExecutionThreadItem, TurnCompletedEvent

from tests.sdk.support import RoutedProvider, agent_deltas, agent_messages
from tests.sdk.test_approvals import ECHO_HI, approval_handler
from tests.support.fake_provider import final_text

from .conftest import CODEX_BIN, requires_remote
from .servers import Server, proxy_argv

pytestmark = [*requires_remote, pytest.mark.timeout(60)]


def test_initialize_thread_and_a_streamed_turn(connect: Any, server: Server, provider: RoutedProvider) -> None:
    codex = connect()
    assert codex.metadata.user_agent.startswith("codex_app_server/")
    chunks = ["Over ", "the ", "wire, ", "piece by piece."]
    provider.enqueue(final_text("".join(chunks), chunks=chunks))
    thread = codex.thread_start(cwd=str(server.cwd))

    handle = thread.turn("Stream something.")
    events = list(handle.stream())

    assert agent_deltas(events) == chunks
    (message,) = agent_messages(events)
    assert message.text == "".join(chunks)
    last = events[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.status == TurnStatus.completed
    assert provider.requests, "the turn reached the fake model"


def test_an_approval_is_asked_and_answered(connect: Any, server: Server, provider: RoutedProvider) -> None:
    codex = connect()
    provider.enqueue(ECHO_HI, final_text("The command printed hi."))
    handler, asked = approval_handler(codex, lambda params: "accept")
    codex.set_handler(handler)
    thread = codex.thread_start(cwd=str(server.cwd), approval_policy="untrusted")

    result = thread.run("Run echo hi.")

    (params,) = asked
    assert params.thread_id == thread.id and "echo hi" in (params.command or "")
    (item,) = [item for item in result.items if isinstance(item, CommandExecutionThreadItem)]
    assert item.status == CommandExecutionStatus.completed
    assert (item.aggregated_output or "").strip() == "hi"
    assert result.final_response == "The command printed hi."


def test_the_low_level_client_speaks_every_method(connect: Any, server: Server) -> None:
    codex = connect()
    started = codex.client.thread_start(cwd=str(server.cwd))
    listed = codex.client.thread_loaded_list()
    assert started.thread.id in listed.data


def test_a_message_above_the_frame_limit_goes_out_fragmented(kind: str, server: Server) -> None:
    """codex closes the connection on an unfragmented frame over 16 MiB: this one arrives and is answered."""
    assert server.url is not None
    if kind == "proxy":
        codex = Codex.connect_command(proxy_argv(str(CODEX_BIN), Path(server.url.removeprefix("unix://"))))
    else:
        codex = Codex.connect(server.url)
    with codex:
        with pytest.raises(InvalidRequestError, match="invalid thread id"):
            codex.client.thread_read(thread_id="x" * (17 * 1024 * 1024))
        assert codex.client.thread_loaded_list() is not None  # the connection survived
