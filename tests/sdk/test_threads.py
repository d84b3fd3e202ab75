"""Codex and Thread methods on the real app-server: thread lifecycle, listing, models, validation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from codex_app_server import ParamsValidationError, TurnStatus
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ContextCompactionThreadItem,
    ModelListResponse,
    ThreadArchiveResponse,
    ThreadCompactStartResponse,
    ThreadListResponse,
    ThreadReadResponse,
    ThreadSetNameResponse,
    Turn,
    UserMessageThreadItem,
)

from tests.support.fake_provider import final_text

from .conftest import requires_codex
from .support import STEP_TIMEOUT_S, RoutedProvider, unwrap, user_texts

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]


def thread_class(codex: Any) -> str:
    return "AsyncThread" if type(unwrap(codex)).__name__ == "AsyncCodex" else "Thread"


def ids(response: ThreadListResponse) -> list[str]:
    return [t.id for t in response.data]


def test_thread_start_returns_a_usable_thread(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(final_text("Ready."))
    thread = codex.thread_start(developer_instructions="Answer tersely.", ephemeral=False)
    assert type(unwrap(thread)).__name__ == thread_class(codex)
    assert thread.id == thread.thread.id
    assert thread.run("Hello?").final_response == "Ready."
    assert "Answer tersely." in str(provider.requests[-1])  # keyword reached the model request


def test_resume_fork_archive_unarchive_each_return_a_usable_thread(codex: Any, provider: RoutedProvider) -> None:
    original = codex.thread_start()
    provider.enqueue(final_text("First."))
    original.run("Remember the word kiwi.")

    resumed = codex.thread_resume(original.id)
    assert type(unwrap(resumed)).__name__ == thread_class(codex) and resumed.id == original.id
    provider.enqueue(final_text("Resumed."))
    assert resumed.run("After resume.").final_response == "Resumed."

    forked = codex.thread_fork(original.id)
    assert forked.id != original.id and forked.thread.forked_from_id == original.id
    provider.enqueue(final_text("Forked."))
    assert forked.run("In the fork.").final_response == "Forked."
    assert "Remember the word kiwi." in user_texts(provider.requests[-1])  # the fork kept the history

    archived = codex.thread_archive(original.id)
    assert isinstance(archived, ThreadArchiveResponse)
    assert original.id in ids(codex.thread_list(archived=True))
    assert original.id not in ids(codex.thread_list())

    restored = codex.thread_unarchive(original.id)
    assert type(unwrap(restored)).__name__ == thread_class(codex) and restored.id == original.id
    assert original.id in ids(codex.thread_list()) and original.id not in ids(codex.thread_list(archived=True))
    provider.enqueue(final_text("Back from the archive."))
    assert restored.run("After unarchive.").final_response == "Back from the archive."


def test_thread_list_filters_and_pages(codex: Any, provider: RoutedProvider) -> None:
    started = [codex.thread_start() for _ in range(3)]
    for thread in started:  # a thread is listed once it has a turn
        thread.run(f"hello from {thread.id}")

    listed = codex.thread_list()
    assert isinstance(listed, ThreadListResponse)
    assert {t.id for t in started} <= set(ids(listed))

    first = codex.thread_list(limit=2)
    assert len(first.data) == 2 and first.next_cursor
    second = codex.thread_list(limit=2, cursor=first.next_cursor)
    assert not set(ids(first)) & set(ids(second))
    assert codex.thread_list(model_providers=["no-such-provider"]).data == []


def test_read_set_name_and_include_turns(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text("Read me back."))
    thread.run("Something to read.")

    renamed = thread.set_name("Reading list")
    assert isinstance(renamed, ThreadSetNameResponse)

    plain = thread.read()
    assert isinstance(plain, ThreadReadResponse)
    assert plain.thread.id == thread.id and plain.thread.name == "Reading list"
    assert plain.thread.turns == []  # include_turns defaults to False

    (turn,) = thread.read(include_turns=True).thread.turns
    assert isinstance(turn, Turn) and turn.status == TurnStatus.completed
    user, agent = turn.items
    assert isinstance(user, UserMessageThreadItem) and [p.text for p in user.content] == ["Something to read."]
    assert isinstance(agent, AgentMessageThreadItem) and agent.text == "Read me back."
    assert thread.id in [t.id for t in codex.thread_list(search_term="Reading").data]


def test_compact_summarises_the_thread_and_it_stays_usable(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text("Long answer."), final_text("Summary of the conversation."))
    thread.run("Talk a lot.")

    assert isinstance(thread.compact(), ThreadCompactStartResponse)

    # Compaction runs in the background, as a turn nobody started through the SDK: wait until
    # thread/read reports it completed. Not merely "no longer in progress": right after the
    # turn's turn/completed (status completed) codex can read it back as interrupted for a few
    # milliseconds, its compaction item stored before its end (seen once in a loaded CI run).
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        compactions = _compaction_turns(thread)
        if (compactions and compactions[-1].status == TurnStatus.completed) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [t.status for t in compactions] == [TurnStatus.completed]
    assert len(provider.requests) == 2 and "COMPACTION" in str(provider.requests[-1])

    provider.enqueue(final_text("Still going."))
    assert thread.run("Continue.").final_response == "Still going."
    assert "Summary of the conversation." in str(provider.requests[-1])  # the summary replaced the history
    # For good: no turn of this client's interrupted the compaction turn meanwhile.
    assert [t.status for t in _compaction_turns(thread)] == [TurnStatus.completed]


def _compaction_turns(thread: Any) -> list[Turn]:
    turns: list[Turn] = thread.read(include_turns=True).thread.turns
    return [t for t in turns if any(isinstance(i, ContextCompactionThreadItem) for i in t.items)]


def test_models(codex: Any) -> None:
    visible = codex.models()
    assert isinstance(visible, ModelListResponse) and visible.data
    assert not any(model.hidden for model in visible.data)
    everything = codex.models(include_hidden=True)
    assert {m.id for m in visible.data} <= {m.id for m in everything.data}
    assert any(model.hidden for model in everything.data)
    assert sum(model.is_default for model in visible.data) == 1


@pytest.mark.parametrize(
    ("call", "method", "field"),
    [
        pytest.param(lambda c, t: t.run("hi", approval_policy="sometimes"), "turn/start", "approval_policy", id="run"),
        pytest.param(lambda c, t: t.turn("hi", effort=3), "turn/start", "effort", id="turn"),
        pytest.param(lambda c, t: c.thread_list(limit=-1), "thread/list", "limit", id="thread_list"),
        pytest.param(lambda c, t: c.thread_start(sandbox=["read-only"]), "thread/start", "sandbox", id="thread_start"),
        pytest.param(lambda c, t: t.set_name(None), "thread/name/set", "name", id="set_name"),
        pytest.param(lambda c, t: c.client.thread_read(thread_id=7), "thread/read", "thread_id", id="client"),
    ],
)
def test_invalid_params_fail_before_anything_is_sent(
    codex: Any, provider: RoutedProvider, call: Any, method: str, field: str
) -> None:
    thread = codex.thread_start()
    loaded_before = set(codex.client.thread_loaded_list().data)

    with pytest.raises(ParamsValidationError) as invalid:
        call(codex, thread)

    assert invalid.value.method == method
    message = str(invalid.value)
    assert message.startswith(f"invalid params for {method}: {field}=")  # names the method and the field
    assert "\n" not in message and "errors.pydantic.dev" not in message  # one short line, no dump
    assert provider.requests == []  # the model saw nothing
    assert set(codex.client.thread_loaded_list().data) == loaded_before  # no thread was started
    after = thread.read().thread
    assert after.name is None and after.status.type != "active"  # no rename, no turn
