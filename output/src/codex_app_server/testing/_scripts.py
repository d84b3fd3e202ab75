"""What the fake model provider answers: one script per model request (text, a tool call, an error ...)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "DEFAULT_TEXT",
    "Delay",
    "Failed",
    "FunctionCall",
    "Hang",
    "HttpError",
    "Raw",
    "Script",
    "Text",
    "Usage",
    "final_text",
]

DEFAULT_TEXT = "Hello from the fake model."


@dataclass(frozen=True)
class Usage:
    """Token usage reported in ``response.completed``."""

    input_tokens: int = 12
    output_tokens: int = 5
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class Text:
    """An assistant message streamed as several ``output_text.delta`` events.

    ``chunks`` overrides how ``text`` is split (their concatenation is what
    the final message carries). Without it the text is split into up to
    three roughly equal pieces. ``delay_s`` sleeps before each delta.
    ``phase`` (``"commentary"``, ``"partial_answer"``, ``"final_answer"``)
    is put on the message item; codex copies it to the agentMessage item.
    """

    text: str = DEFAULT_TEXT
    chunks: Sequence[str] | None = None
    delay_s: float = 0.0
    phase: str | None = None
    usage: Usage = field(default_factory=Usage)

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return _split(self.text, 3)


def final_text(text: str = DEFAULT_TEXT, **kwargs: Any) -> Text:
    """A ``Text`` reply whose message phase is ``"final_answer"``."""
    return Text(text, phase="final_answer", **kwargs)


@dataclass(frozen=True)
class FunctionCall:
    """The model calls a tool; codex runs it and POSTs again with its output.

    ``name`` is any tool the model was offered: codex's own (the default,
    its shell tool) or a client's (``thread_start(tools=[...])``);
    ``namespace`` names the namespace of a tool declared in one
    (``@tool(namespace=...)``). ``arguments`` may be a mapping
    (JSON-encoded for you) or a raw string, sent as is (malformed JSON
    included). ``call_id`` defaults to a unique ``call_N``.
    """

    name: str = "exec_command"
    arguments: Mapping[str, Any] | str = field(default_factory=lambda: {"cmd": "echo hi", "yield_time_ms": 1000})
    call_id: str | None = None
    namespace: str | None = None
    delay_s: float = 0.0
    usage: Usage = field(default_factory=Usage)

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))


@dataclass(frozen=True)
class HttpError:
    """A plain HTTP error (no SSE). ``body`` may be a str, a dict or None."""

    status: int = 500
    body: str | Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body_bytes(self) -> bytes:
        body = self.body
        if body is None:
            body = {
                "error": {
                    "message": f"fake provider error {self.status}",
                    "type": "server_error" if self.status >= 500 else "rate_limit_error",
                    "code": None,
                }
            }
        if isinstance(body, str):
            return body.encode()
        return json.dumps(dict(body)).encode()


@dataclass(frozen=True)
class Failed:
    """A 200 SSE stream that ends with ``response.failed``."""

    message: str = "fake provider failure"
    code: str | None = "server_error"


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before answering with ``then``."""

    seconds: float
    then: Script = field(default_factory=Text)


@dataclass(frozen=True)
class Hang:
    """Send ``response.created`` (unless ``send_created`` is false), then stall.

    The stream stays open until ``FakeProvider.release()`` or shutdown (then
    it just closes, which codex sees as a disconnected stream), or until
    ``timeout_s`` elapses.
    """

    send_created: bool = True
    timeout_s: float = 60.0


@dataclass(frozen=True)
class Raw:
    """Arbitrary SSE events, sent verbatim (each dict needs a ``type``)."""

    events: Sequence[Mapping[str, Any]]
    delay_s: float = 0.0


Script = Union[Text, FunctionCall, HttpError, Failed, Delay, Hang, Raw]


def _split(text: str, n: int) -> list[str]:
    if not text:
        return [""]
    n = max(1, min(n, len(text)))
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]
