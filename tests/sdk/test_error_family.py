"""Everything the SDK raises is a ``CodexError``, and keeps the builtin a user would catch.

Issue 22 listed what escaped the family (each raised the bare builtin): the
turn idle timeout (``TimeoutError``), a second turn consumer
(``RuntimeError``), ``AppServerConfig(cwd=missing)`` (``ValueError``),
``run(123)`` (``TypeError``) and ``Codex.connect("http://...")``
(``ValueError``). Each is walked here against the real binary, with the
other places the SDK refuses an argument or a call.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import (
    AppServerConfig,
    AsyncCodex,
    Codex,
    CodexError,
    NoHandlerError,
    Reconnect,
    ServerRequestHandler,
    defer_answer,
    retry_on_overload,
)
from codex_app_server import _errors as errors

from tests.support.fake_provider import Hang

from .conftest import requires_codex
from .support import STEP_TIMEOUT_S, RoutedProvider, consume_until

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]


def raised(builtin: type[BaseException], call: Callable[[], object]) -> BaseException:
    """What ``call()`` raised: a CodexError that is also ``builtin`` (and survives pickling)."""
    with pytest.raises(builtin) as info:
        call()
    error = info.value
    assert isinstance(error, CodexError), f"{type(error).__mro__} is not a CodexError: {error}"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    return error


def test_the_turn_idle_timeout_is_a_codex_error(
    open_codex: Callable[[AppServerConfig], Any],
    config_factory: Callable[..., AppServerConfig],
    provider: RoutedProvider,
) -> None:
    codex = open_codex(config_factory(turn_idle_timeout=0.5))
    provider.route("never answered", Hang(timeout_s=STEP_TIMEOUT_S))
    thread = codex.thread_start()
    error = raised(TimeoutError, lambda: thread.run("never answered"))
    assert "turn_idle_timeout" in str(error)
    provider.release()


def test_a_second_turn_consumer_and_bad_run_input_are_codex_errors(codex: Any, provider: RoutedProvider) -> None:
    first, second = codex.thread_start(), codex.thread_start()
    provider.route("first: busy", Hang(timeout_s=STEP_TIMEOUT_S))
    handle = first.turn("first: busy")
    stream = handle.stream()
    consume_until(stream, lambda event: type(event).__name__ == "TurnStartedEvent")
    raised(RuntimeError, lambda: second.run("second"))
    handle.interrupt()
    list(stream)
    provider.release()

    raised(TypeError, lambda: second.run(123))
    raised(TypeError, lambda: second.run([object()]))


def test_bad_configuration_and_arguments_are_codex_errors(tmp_path: Path) -> None:
    raised(ValueError, lambda: AppServerConfig(cwd=tmp_path / "missing"))
    raised(ValueError, lambda: AppServerConfig(request_timeout=0))
    raised(TypeError, lambda: AppServerConfig(extra_args="--strict-config"))  # type: ignore[arg-type]
    raised(ValueError, lambda: AppServerConfig(config_overrides={"-c": 1}))
    raised(TypeError, lambda: AppServerConfig(config_overrides={"model": None}))
    raised(ValueError, lambda: AppServerConfig(capabilities={"no_such_field": True}))
    raised(ValueError, lambda: AppServerConfig().server_command(listen="--bad"))
    raised(ValueError, lambda: Codex.connect("http://127.0.0.1:1"))
    raised(ValueError, lambda: Codex.connect("ws://127.0.0.1:1", token=""))
    raised(TypeError, lambda: Codex.connect(b"ws://127.0.0.1:1"))  # type: ignore[arg-type]
    raised(ValueError, lambda: Reconnect(attempts=0))
    raised(TypeError, lambda: Codex.connect("ws://127.0.0.1:1", reconnect="yes"))  # type: ignore[arg-type]
    raised(ValueError, lambda: retry_on_overload(lambda: None, max_attempts=0))
    raised(RuntimeError, lambda: defer_answer(None))
    raised(NoHandlerError, lambda: ServerRequestHandler().item_tool_call(None))  # type: ignore[arg-type]


def test_an_async_client_used_before_start_is_a_codex_error() -> None:
    async def main() -> None:
        codex = AsyncCodex()
        raised(RuntimeError, lambda: codex.metadata)

    asyncio.run(main())


def test_the_family_classes_keep_their_builtin() -> None:
    for cls, builtin in (
        (errors.CodexTimeoutError, TimeoutError),
        (errors.CodexValueError, ValueError),
        (errors.CodexTypeError, TypeError),
        (errors.CodexRuntimeError, RuntimeError),
        (errors.ParamsValidationError, ValueError),
        (errors.MissingExtraError, ImportError),
    ):
        assert issubclass(cls, CodexError) and issubclass(cls, builtin)
