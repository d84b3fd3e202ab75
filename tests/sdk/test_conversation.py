"""A thread's history as (role, text) pairs: Thread.conversation() on the real app-server, conversation() on models."""

from __future__ import annotations

from typing import Any

import pytest
from codex_app_server import Message, TextInput, conversation
from codex_app_server.generated.v2_all import Turn

from tests.support.fake_provider import FunctionCall, Text, final_text

from .conftest import requires_codex
from .support import RoutedProvider


def _turn(*items: dict[str, Any]) -> Turn:
    return Turn.model_validate({"id": "t", "status": "completed", "items": list(items)})


def test_conversation_of_turns_keeps_messages_only() -> None:
    turns = [
        _turn(
            {
                "type": "userMessage",
                "id": "u1",
                "content": [{"type": "text", "text": "look"}, {"type": "image", "url": "x"}],
            },
            {"type": "reasoning", "id": "r1", "summary": [], "content": []},
            {"type": "agentMessage", "id": "a1", "text": "Looking.", "phase": "commentary"},
            {"type": "agentMessage", "id": "a2", "text": "Done.", "phase": "final_answer"},
        ),
        _turn(
            {"type": "userMessage", "id": "u2", "content": [{"type": "image", "url": "only-an-image"}]},
            {"type": "someFutureItem", "id": "f1"},
            {
                "type": "userMessage",
                "id": "u3",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
        ),
    ]
    said = conversation(turns)
    assert said == [("user", "look"), ("assistant", "Looking."), ("assistant", "Done."), ("user", "a\nb")]
    assert all(isinstance(message, Message) for message in said)
    role, text = said[0]
    assert (role, text) == (said[0].role, said[0].text) == ("user", "look")
    assert conversation([]) == []


@pytest.mark.real
@requires_codex
@pytest.mark.timeout(60)
def test_thread_conversation_reads_what_was_said(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    assert thread.conversation() == []  # no turn yet: codex has no history to read, and nothing was said
    provider.enqueue(
        Text("Hi there."),
        FunctionCall(arguments={"cmd": "echo hi", "yield_time_ms": 1000}),
        final_text("It said hi."),
        Text("Noted.", phase="commentary"),
    )
    thread.run("hello")
    thread.run("run echo hi")
    thread.run([TextInput("one"), TextInput("two")])

    expected = [
        ("user", "hello"),
        ("assistant", "Hi there."),
        ("user", "run echo hi"),
        ("assistant", "It said hi."),
        ("user", "one\ntwo"),
        ("assistant", "Noted."),
    ]
    # The command's item is not a message: between the prompt and the answer only messages remain.
    assert thread.conversation() == expected
    assert conversation(thread.read(include_turns=True)) == expected
    assert conversation(codex.thread_resume(thread.id).read(include_turns=True).thread) == expected
