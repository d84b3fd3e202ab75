"""Two clients on one running app-server: the first answer to an approval wins.

Client A starts a turn on its thread; client B follows the thread
(``thread/resume``). codex sends the approval request to both; B accepts at
once while A's handler is still thinking. A's handler is then cancelled
(async) or its late answer dropped (sync), both logged; A's stream carries
``serverRequest/resolved`` and the command runs (B's accept won).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from codex_app_server import AsyncServerRequestHandler, Codex, ServerRequestHandler
from codex_app_server.generated.v2_all import (
    CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse,
    CommandExecutionStatus,
    CommandExecutionThreadItem,
    ItemCompletedEvent,
    ServerRequestResolvedEvent,
)

from tests.sdk.support import STEP_TIMEOUT_S, LoopThread, RoutedProvider
from tests.sdk.test_approvals import ECHO_HI, approval_handler
from tests.support.fake_provider import final_text

from .conftest import CODEX_BIN, open_client, requires_remote
from .servers import Server, ws_server

pytestmark = [*requires_remote, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def shared_server(module_provider: RoutedProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert CODEX_BIN is not None
    with ws_server(CODEX_BIN, module_provider, tmp_path_factory.mktemp("shared")) as server:
        yield server


@pytest.fixture(scope="module", params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class SlowHandlers:
    """A's handlers: they answer only when released (sync) or never (async: until cancelled)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()
        self.cancelled = threading.Event()

    def sync(self) -> ServerRequestHandler:
        outer = self

        class Slow(ServerRequestHandler):
            def item_command_execution_request_approval(
                self, params: CommandExecutionRequestApprovalParams
            ) -> CommandExecutionRequestApprovalResponse:
                outer.asked.set()
                outer.release.wait(STEP_TIMEOUT_S)
                return CommandExecutionRequestApprovalResponse(decision="decline")

        return Slow()

    def asynchronous(self) -> AsyncServerRequestHandler:
        outer = self

        class Slow(AsyncServerRequestHandler):
            async def item_command_execution_request_approval(
                self, params: CommandExecutionRequestApprovalParams
            ) -> CommandExecutionRequestApprovalResponse:
                outer.asked.set()
                try:
                    await asyncio.sleep(STEP_TIMEOUT_S)
                except asyncio.CancelledError:
                    outer.cancelled.set()
                    raise
                return CommandExecutionRequestApprovalResponse(decision="decline")

        return Slow()


def test_both_clients_are_asked_the_first_answer_wins_and_the_other_handler_stops(
    shared_server: Server, provider: RoutedProvider, flavor: str, loop: LoopThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="codex_app_server")
    url = str(shared_server.url)
    slow = SlowHandlers()
    a = open_client(flavor, loop, lambda cls: cls.connect(url))
    b = Codex.connect(url)
    try:
        a.set_handler(slow.sync() if flavor == "sync" else slow.asynchronous())
        thread = a.thread_start(cwd=str(shared_server.cwd), approval_policy="untrusted")
        provider.enqueue(final_text("First turn."))
        assert thread.run("Hello.").final_response == "First turn."  # codex resumes only a thread with a turn
        b_handler, b_asked = approval_handler(b, lambda params: "accept")
        b.set_handler(b_handler)
        b.thread_resume(thread.id)

        provider.enqueue(ECHO_HI, final_text("The command printed hi."))
        events = list(thread.turn("Run echo hi.").stream())

        assert slow.asked.is_set() and len(b_asked) == 1  # both were asked
        (item,) = [
            e.params.item
            for e in events
            if isinstance(e, ItemCompletedEvent) and isinstance(e.params.item, CommandExecutionThreadItem)
        ]
        assert item.status == CommandExecutionStatus.completed  # B's accept won
        resolved = [e for e in events if isinstance(e, ServerRequestResolvedEvent)]
        assert resolved and resolved[0].params.thread_id == thread.id
        if flavor == "async":
            assert slow.cancelled.wait(STEP_TIMEOUT_S), "A's pending handler was not cancelled"
            expected = "this client's handler is cancelled"
        else:
            slow.release.set()  # A's handler answers late ...
            expected = "dropping this client's answer"  # ... and that answer is dropped
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while expected not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.02)
        assert "answered by another client" in caplog.text
    finally:
        slow.release.set()
        a.close()
        b.close()


def test_both_clients_see_the_thread_and_its_turns(shared_server: Server, provider: RoutedProvider) -> None:
    url = str(shared_server.url)
    with Codex.connect(url) as a, Codex.connect(url) as b:
        thread = a.thread_start(cwd=str(shared_server.cwd))
        provider.enqueue(final_text("Seen by both."))
        thread.run("Hi.")
        loaded = b.client.thread_loaded_list()
        assert thread.id in loaded.data
        resumed = b.thread_resume(thread.id)
        assert resumed.id == thread.id
        provider.enqueue(final_text("B's own turn on A's thread."))
        assert resumed.run("And you?").final_response == "B's own turn on A's thread."
