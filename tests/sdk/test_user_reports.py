"""Regressions for what a new user hit (issue 15): each error says what is wrong and where."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AppServerConfig, Codex, ParamsValidationError, TurnFailedError
from codex_app_server.testing import HttpError, final_text

from .conftest import CODEX_BIN, requires_codex
from .support import RoutedProvider

pytestmark = requires_codex


# -- defect 2: a bad cwd ---------------------------------------------------------------


def test_a_missing_config_cwd_is_named_not_taken_for_a_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"AppServerConfig\.cwd='/does/not/exist': no such directory"):
        AppServerConfig(cwd="/does/not/exist")
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match=r"AppServerConfig\.cwd=.*: not a directory"):
        AppServerConfig(cwd=a_file)


def test_a_config_cwd_removed_before_launch_is_named(config_factory: Any, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    config = dataclasses.replace(config_factory(), cwd=gone)
    shutil.rmtree(gone)
    with pytest.raises(ValueError, match=r"AppServerConfig\.cwd=.*gone': no such directory"):
        Codex(config)


def test_thread_start_with_a_relative_or_missing_cwd_says_so(codex: Any, provider: RoutedProvider) -> None:
    with pytest.raises(ParamsValidationError, match=r"thread/start: cwd='work': not an absolute path"):
        codex.thread_start(cwd="work")
    with pytest.raises(ParamsValidationError, match=r"thread/start: cwd='/does/not/exist': no such directory"):
        codex.thread_start(cwd="/does/not/exist")
    thread = codex.thread_start()
    with pytest.raises(ParamsValidationError, match=r"turn/start: cwd='/does/not/exist'"):
        thread.run("hi", cwd="/does/not/exist")
    assert provider.requests == []  # nothing reached the model


# -- defect 3 (and issue 22 defect 5): read(include_turns=True) before the first turn ------------


def test_reading_turns_before_the_first_turn_gives_no_turns(codex: Any, provider: RoutedProvider) -> None:
    """codex answers -32601 "list_turns is not supported yet" there: the thread has no turns yet."""
    thread = codex.thread_start()
    read = thread.read(include_turns=True)
    assert read.thread.id == thread.id and read.thread.turns == []
    assert codex.client.thread_read(thread_id=thread.id, include_turns=True).thread.turns == []

    provider.enqueue(final_text("Done."))
    thread.run("hi")
    assert len(thread.read(include_turns=True).thread.turns) == 1


# -- issue 22 defect 6: tool_output alone is a turn's whole input ---------------------------------


def test_a_turn_whose_whole_input_is_its_tool_output(codex: Any, provider: RoutedProvider) -> None:
    from codex_app_server.generated.v2_all import TurnToolOutput

    from .support import tool_outputs

    provider.enqueue(final_text("Thanks for the weather."))
    thread = codex.thread_start()
    output = TurnToolOutput(name="get_weather", output="sunny, 21 C")
    result = thread.run([], tool_output=output)
    assert result.final_response == "Thanks for the weather."
    assert any("sunny, 21 C" in text for text in tool_outputs(provider.requests[-1]))


# -- defect 4: the structured cause of a failed turn ---------------------------------------------


def test_a_provider_http_error_names_its_cause(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(HttpError(500))
    with pytest.raises(TurnFailedError) as failed:
        thread.run("fail")
    assert failed.value.codex_error_info == "internalServerError"
    assert f"turn {failed.value.turn.id} failed (internalServerError): " in str(failed.value)

    provider.enqueue(HttpError(429))
    with pytest.raises(TurnFailedError) as limited:
        thread.run("fail again")
    assert (limited.value.codex_error_info, limited.value.http_status) == ("responseTooManyFailedAttempts", 429)
    assert "(responseTooManyFailedAttempts, HTTP 429): " in str(limited.value)


def test_config_cwd_is_where_threads_work(tmp_path: Path, config_factory: Any) -> None:
    config = config_factory()
    assert CODEX_BIN is not None and config.cwd is not None
    with Codex(config) as codex:
        assert codex.thread_start().thread.cwd == str(config.cwd)


# -- issue 22 defect 7: resuming an ephemeral thread ----------------------------------------------


def test_resuming_an_ephemeral_thread_says_it_is_never_stored(codex: Any, provider: RoutedProvider) -> None:
    from codex_app_server import InvalidRequestError

    provider.enqueue(final_text("Gone with the process."))
    thread = codex.thread_start(ephemeral=True)
    assert thread.run("hi").final_response == "Gone with the process."  # it had a turn
    with pytest.raises(InvalidRequestError) as refused:
        codex.thread_resume(thread.id)
    assert "an ephemeral thread (thread_start(ephemeral=True)) is never stored" in str(refused.value)
