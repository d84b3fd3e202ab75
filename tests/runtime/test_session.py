"""The session (_session): turns interrupted for callers that left, and the handshake with the real binary
(skipped without it: ``$CODEX_BIN`` or the ``openai-codex-cli-bin`` package)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from codex_app_server._config import (
    AppServerConfig,
    build_argv,
    build_env,
    resolve_codex_binary,
)
from codex_app_server._errors import (
    BinaryNotFoundError,
    InvalidRequestError,
    JsonRpcError,
)
from codex_app_server._requester import initialize_call
from codex_app_server._routing import Router
from codex_app_server._rpc import RpcConnection
from codex_app_server._session import handshake
from codex_app_server._transports import StdioTransport

from .support import notification

# --------------------------------------------------------------------------
# _session.Router: turns interrupted for callers that left


def test_an_interrupted_turn_is_interrupted_again_when_it_starts_and_only_then() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("thread-1")
    watch.bind("turn-1")
    resent: list[str] = []
    watch.mark_interrupting(lambda: resent.append("turn-1"))

    router.dispatch([notification("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-0"}})])
    assert resent == []  # another turn's start
    router.dispatch([notification("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-1"}})])
    router.dispatch([notification("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-1"}})])
    assert resent == ["turn-1"] and router.held("thread-1")
    router.dispatch([notification("turn/completed", {"threadId": "thread-1", "turn": {"id": "turn-1"}})])
    assert not router.held("thread-1")

    late = router.watch("thread-1")
    late.bind("turn-2")
    router.dispatch([notification("turn/completed", {"threadId": "thread-1", "turn": {"id": "turn-2"}})])
    late.mark_interrupting(lambda: resent.append("turn-2"))
    router.dispatch([notification("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-2"}})])
    assert resent == ["turn-1"] and not router.held("thread-1")  # completed: nothing to interrupt or wait for


def test_settle_waits_for_interrupted_turns_and_abandoned_starts_of_the_thread() -> None:
    router = Router(concurrent_turns=False)
    router.settle("thread-1", 0)  # nothing held: returns at once
    watch = router.watch("thread-1")
    watch.bind("turn-1")
    watch.mark_interrupting(lambda: None)
    request = object()
    router.hold("thread-1", request)
    assert router.held("thread-1") and not router.held("thread-2")

    completed = {"threadId": "thread-1", "turn": {"id": "turn-1"}}
    threading.Timer(0.05, router.dispatch, ([notification("turn/completed", completed)],)).start()
    threading.Timer(0.1, router.release_hold, ("thread-1", request)).start()
    started = time.monotonic()
    router.settle("thread-1", 5)
    assert time.monotonic() - started < 4 and not router.held("thread-1")


def test_settle_gives_up_on_a_turn_that_does_not_end_once() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("thread-1")
    watch.bind("turn-1")
    watch.mark_interrupting(lambda: None)
    router.hold("thread-1", object())
    router.settle("thread-1", 0.05)
    assert not router.held("thread-1")  # the next turn does not wait for them again


# --------------------------------------------------------------------------
# the real binary (optional)


@pytest.mark.real
def test_real_app_server_handshake_and_close(tmp_path: Path) -> None:
    try:
        binary = resolve_codex_binary(AppServerConfig())
    except BinaryNotFoundError:
        pytest.skip("no codex binary ($CODEX_BIN or openai-codex-cli-bin)")
    from tests.support.codex_env import isolated_env

    config = AppServerConfig(
        codex_bin=binary,
        inherit_env=False,
        env=isolated_env(tmp_path),
        config_overrides={"features.plugins": False},
        extra_args=("--strict-config",),
        cwd=str(tmp_path),
    )
    transport = StdioTransport(build_argv(config, binary), build_env(config, binary), config.cwd)
    conn = RpcConnection(transport, request_timeout=20)
    conn.start()
    try:
        with pytest.raises(InvalidRequestError, match="Not initialized"):
            conn.call("configRequirements/read")
        result = handshake(conn, config, initialize_call)
        assert result.codex_home
        assert isinstance(conn.call("configRequirements/read"), dict)  # no params member at all
        with pytest.raises(JsonRpcError):
            conn.call("no/such/method", {})
    finally:
        start = time.monotonic()
        conn.close(timeout=5)
        assert time.monotonic() - start < 5
    assert transport.process is not None and transport.process.poll() is not None
