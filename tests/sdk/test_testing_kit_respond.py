"""The testing kit's ``respond=``: replies chosen by the request, so concurrent turns get their own answers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AsyncCodex, Codex, TurnFailedError
from codex_app_server.testing import (
    FakeProvider,
    FunctionCall,
    ModelRequest,
    Script,
    Text,
    offline_config,
    reply_by_prompt,
)

from .conftest import CODEX_BIN, requires_codex


def _post(url: str, body: dict[str, Any]) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def _user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_model_request_reads_prompt_and_tool_outputs_of_any_shape() -> None:
    body = {
        "model": "m",
        "input": [
            _user("<environment_context>x</environment_context>"),
            {"type": "function_call_output", "call_id": "old", "output": "before the prompt"},
            _user("what is the weather"),
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    }
    request = ModelRequest(body, 3)
    assert request.model == "m"
    assert request.prompt == "what is the weather"
    assert request.user_texts == ["<environment_context>x</environment_context>", "what is the weather"]
    assert request.tool_outputs == ["sunny"]
    for odd in (None, b"raw", {"input": "not a list"}, {"input": [1, {"role": "user", "content": 7}]}):
        assert ModelRequest(odd, 1).tool_outputs == []
        assert ModelRequest(odd, 1).model is None
    assert ModelRequest({"input": [1, {"role": "user", "content": 7}]}, 1).prompt == ""


def test_respond_chooses_falls_back_to_the_queue_and_keeps_what_it_raises() -> None:
    seen: list[int] = []

    def respond(request: ModelRequest) -> Script | None:
        seen.append(request.number)
        if request.prompt == "boom":
            raise RuntimeError("responder bug")
        return reply_by_prompt({"a": Text("A")})(request)

    with FakeProvider([Text("queued")], respond=respond) as provider:
        url = provider.base_url + "/responses"
        assert _post(url, {"input": [_user("b")]}) == 200  # no key: the queue's reply
        assert _post(url, {"input": [_user("boom")]}) == 500
        assert _post(url, {"input": [_user("a")]}) == 200
        assert provider.pending == 0
        assert seen == [1, 2, 3]
        assert [str(exc) for exc in provider.errors] == ["responder bug"]


def test_reply_by_prompt_after_tool_answers_the_tool_round_trip() -> None:
    respond = reply_by_prompt({"run": FunctionCall(), "hi": Text("hello")}, after_tool=Text("ran"))
    first = ModelRequest({"input": [_user("run it")]}, 1)
    second = ModelRequest({"input": [_user("run it"), {"type": "function_call_output", "output": "ok"}]}, 2)
    assert isinstance(respond(first), FunctionCall)
    assert respond(second) == Text("ran")
    assert respond(ModelRequest({"input": [_user("say hi")]}, 3)) == Text("hello")
    assert respond(ModelRequest({"input": [_user("other")]}, 4)) is None


@requires_codex
def test_concurrent_turns_each_get_the_reply_for_their_prompt(tmp_path: Path) -> None:
    """Twelve turns at once over one AsyncCodex: every answer matches its prompt, whatever order codex asks in."""
    prompts = [f"item {n}" for n in range(12)]

    def respond(request: ModelRequest) -> Script:
        return Text(f"answer to {request.prompt}")

    async def batch(provider: FakeProvider) -> list[str | None]:
        config = dataclasses.replace(
            offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN), concurrent_turns=True, request_timeout=30
        )
        async with AsyncCodex(config) as codex:
            threads = await asyncio.gather(*(codex.thread_start() for _ in prompts))
            results = await asyncio.wait_for(
                asyncio.gather(*(thread.run(prompt) for thread, prompt in zip(threads, prompts, strict=True))), 60
            )
        return [result.final_response for result in results]

    with FakeProvider(respond=respond) as provider:
        answers = asyncio.run(batch(provider))
    assert answers == [f"answer to {prompt}" for prompt in prompts]


@requires_codex
def test_a_raising_responder_fails_the_turn_and_the_test_sees_why(tmp_path: Path) -> None:
    def respond(request: ModelRequest) -> Script:
        raise KeyError(request.prompt)

    with FakeProvider(respond=respond) as provider:
        with Codex(offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN)) as codex:
            thread = codex.thread_start()
            with pytest.raises(TurnFailedError):
                thread.run("unknown prompt")
        assert [repr(exc) for exc in provider.errors] == ["KeyError('unknown prompt')"]
