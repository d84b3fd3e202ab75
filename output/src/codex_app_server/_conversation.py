"""A thread's history as the conversation a person reads: (role, text) pairs.

A thread's turns hold every item (commands, file changes, reasoning ...);
the conversation is what was said: the text of each user message and each
assistant message, in order. :func:`conversation` reads it from the generated
models (a ``thread/read`` answer, its ``Thread``, or turns), so callers do not
test item classes and then input classes themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple, Union

# Named through v2_all, which imports a model on first use: importing the SDK creates none.
from .generated import v2_all

__all__ = ["Message", "Role", "conversation"]

Role = Literal["user", "assistant"]


class Message(NamedTuple):
    """One message of a conversation; unpacks as ``role, text``.

    ``role`` is ``"user"`` (what was sent: the turn's input, a steer) or
    ``"assistant"`` (what the model said, commentary and final answers alike).
    """

    role: Role
    text: str


def conversation(source: Union[v2_all.ThreadReadResponse, v2_all.Thread, Iterable[v2_all.Turn]]) -> list[Message]:
    """The messages of ``source``'s turns, oldest first.

    ``source`` is what ``Thread.read(include_turns=True)`` returns, its
    ``.thread``, or any iterable of turns (e.g. a page of
    ``thread/turns/list``). A user message is the text of its text inputs,
    joined by newlines (images, skills and mentions carry no text); one
    without text is left out, as are items that are not messages.
    """
    if isinstance(source, v2_all.ThreadReadResponse):
        source = source.thread
    turns = source.turns if isinstance(source, v2_all.Thread) else source
    return [message for turn in turns for item in turn.items if (message := message_of(item)) is not None]


def message_of(item: v2_all.ThreadItem) -> Message | None:
    """The message an item says, or None for an item that is not a message (or has no text)."""
    if isinstance(item, v2_all.AgentMessageThreadItem):
        return Message("assistant", item.text)
    if isinstance(item, v2_all.UserMessageThreadItem):
        texts = [part.text for part in item.content if isinstance(part, v2_all.TextUserInput)]
        return Message("user", "\n".join(texts)) if texts else None
    return None
