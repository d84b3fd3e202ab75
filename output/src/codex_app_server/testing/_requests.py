"""Replies chosen by a function of the model request (the testing kit's ``respond=``).

A :class:`FakeProvider` answers from a first-in-first-out queue, which
cannot tell which of several concurrent turns asks first. ``respond`` looks at
each request instead: it gets a :class:`ModelRequest` and returns the reply
for it, or ``None`` to fall back to the queue (then the default reply)::

    def respond(request: ModelRequest) -> Script | None:
        if request.tool_outputs:          # codex sends the tool's output back
            return Text("done")
        return Text(request.prompt.upper())

    with FakeProvider(respond=respond) as provider: ...

:func:`reply_by_prompt` builds the common case, a reply per word of the prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from ._scripts import Script

__all__ = ["ModelRequest", "Responder", "reply_by_prompt"]


@dataclass(frozen=True)
class ModelRequest:
    """One ``POST /v1/responses`` that codex sent, as a responder sees it.

    ``body`` is the parsed JSON body (the Responses API request); ``number``
    counts the provider's requests from 1. The properties read the parts a
    test usually decides on, tolerating any shape (a body that is not a
    Responses request reads as empty).
    """

    body: Any
    number: int

    @property
    def model(self) -> str | None:
        """The model name codex asked for."""
        model = _field(self.body, "model")
        return model if isinstance(model, str) else None

    @property
    def user_texts(self) -> list[str]:
        """The text of every user message of the conversation, oldest first.

        codex sends its own context (environment, instructions files) as user
        messages too; the prompt of the turn is the last one.
        """
        return [_message_text(item) for item in _input_items(self.body) if _field(item, "role") == "user"]

    @property
    def prompt(self) -> str:
        """The text of the last user message: what the turn was started (or steered) with."""
        texts = self.user_texts
        return texts[-1] if texts else ""

    @property
    def tool_outputs(self) -> list[str]:
        """The outputs of tool calls sent back after the last user message (empty on a turn's first request)."""
        items = _input_items(self.body)
        last_user = max((i for i, item in enumerate(items) if _field(item, "role") == "user"), default=-1)
        return [
            str(_field(item, "output"))
            for item in items[last_user + 1 :]
            if _field(item, "type") == "function_call_output"
        ]


#: Chooses the reply to a model request; ``None`` leaves it to the queue.
Responder: TypeAlias = "Callable[[ModelRequest], Script | None]"


def reply_by_prompt(replies: Mapping[str, Script], *, after_tool: Script | None = None) -> Responder:
    """A responder answering ``replies[key]`` to every request whose prompt contains ``key``.

    Keys are tried in the mapping's order; a prompt that contains none falls
    back to the queue. ``after_tool``, when given, answers every request that
    carries tool outputs (the second request of a turn whose reply was a
    :class:`FunctionCall`), whatever the prompt.
    """
    table = dict(replies)

    def respond(request: ModelRequest) -> Script | None:
        if after_tool is not None and request.tool_outputs:
            return after_tool
        prompt = request.prompt
        return next((reply for key, reply in table.items() if key in prompt), None)

    return respond


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _input_items(body: Any) -> list[Any]:
    items = _field(body, "input")
    return items if isinstance(items, list) else []


def _message_text(item: Any) -> str:
    content = _field(item, "content")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "".join(text for part in parts if isinstance(text := _field(part, "text"), str))
