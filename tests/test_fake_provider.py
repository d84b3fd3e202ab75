"""The fake Responses provider, alone and driving the real codex binary."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server.testing import FakeProvider, HttpError, Text, final_text

from tests.support.codex_env import (
    RawAppServer,
    find_codex_binary,
    isolated_env,
    mock_config_overrides,
    raw_argv,
    toml_value,
)

CODEX_BIN = find_codex_binary()
needs_codex = pytest.mark.skipif(
    CODEX_BIN is None,
    reason="no codex binary: set CODEX_BIN or install openai-codex-cli-bin",
)


def _post(url: str, body: dict[str, Any]) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _sse_types(body: str) -> list[str]:
    return [json.loads(line[len("data: ") :])["type"] for line in body.splitlines() if line.startswith("data: ")]


# -- provider alone --------------------------------------------------------


def test_provider_streams_scripted_replies_and_records_requests() -> None:
    with FakeProvider([Text("abc", chunks=["a", "bc"]), HttpError(429)]) as fp:
        assert fp.base_url.startswith("http://127.0.0.1:") and fp.base_url.endswith("/v1")
        status, body = _post(fp.base_url + "/responses", {"model": "m", "input": []})
        assert status == 200
        assert _sse_types(body) == [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
        assert _post(fp.base_url + "/responses", {"n": 2})[0] == 429
        assert _post(fp.base_url + "/responses", {"n": 3})[0] == 200  # default reply
        assert _post(fp.base_url + "/other", {})[0] == 404
        assert fp.requests == [{"model": "m", "input": []}, {"n": 2}, {"n": 3}]


def test_toml_rendering_of_overrides() -> None:
    argv = raw_argv("codex", mock_config_overrides("http://127.0.0.1:1/v1"))
    assert "features.plugins=false" in argv
    assert "model_providers.mock.request_max_retries=0" in argv
    assert argv[-4:] == ["app-server", "--strict-config", "--listen", "stdio://"]
    assert toml_value({"a": [1, "x"]}) == '{a = [1, "x"]}'


# -- provider + real binary ------------------------------------------------


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fp:
        yield fp


@pytest.fixture
def server(provider: FakeProvider, tmp_path: Path) -> Iterator[RawAppServer]:
    assert CODEX_BIN is not None
    work = tmp_path / "work"
    work.mkdir()
    srv = RawAppServer(
        raw_argv(CODEX_BIN, mock_config_overrides(provider.base_url)),
        isolated_env(tmp_path),
        cwd=work,
    )
    with srv:
        srv.initialize()
        yield srv


@needs_codex
def test_text_turn_completes(provider: FakeProvider, server: RawAppServer) -> None:
    provider.enqueue(final_text("Hello there!", chunks=["Hel", "lo th", "ere!"]))
    thread_id = server.request("thread/start", {})["thread"]["id"]
    turn = server.run_turn(thread_id, "Say hi", timeout=60)

    assert turn["status"] == "completed"
    agent = [i for i in turn["items"] if i["type"] == "agentMessage"]
    assert [(i["text"], i["phase"]) for i in agent] == [("Hello there!", "final_answer")]
    deltas = [n["params"]["delta"] for n in server.notifications if n["method"] == "item/agentMessage/delta"]
    assert deltas == ["Hel", "lo th", "ere!"]
    usage = server.wait_for("thread/tokenUsage/updated", timeout=30)
    assert usage["params"]["tokenUsage"]["last"]["totalTokens"] == 17
    # what codex sent to the provider
    (body,) = provider.requests
    assert body["model"] == "mock-model" and body["stream"] is True
    user_texts = [c["text"] for m in body["input"] if m.get("role") == "user" for c in m["content"]]
    assert "Say hi" in user_texts


@needs_codex
def test_http_500_fails_turn(provider: FakeProvider, server: RawAppServer) -> None:
    provider.enqueue(HttpError(500))
    thread_id = server.request("thread/start", {})["thread"]["id"]
    turn = server.run_turn(thread_id, "boom", timeout=60)

    assert turn["status"] == "failed"
    assert turn["error"]["codexErrorInfo"] == "internalServerError"
    error = server.wait_for("error", timeout=30)["params"]
    assert error["willRetry"] is False
    assert error["error"]["codexErrorInfo"] == "internalServerError"
    assert len(provider.requests) == 1  # retries are off

    # the thread stays usable
    provider.enqueue(Text("recovered"))
    again = server.run_turn(thread_id, "again", timeout=60)
    assert again["status"] == "completed"
