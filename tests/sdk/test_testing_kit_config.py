"""offline_config() takes every AppServerConfig field as a keyword; a tool runs offline with experimental_api=True."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path

import pytest
from codex_app_server import AppServerConfig, Codex, CodexTypeError, tool
from codex_app_server.testing import ConfigFields, FakeProvider, FunctionCall, ModelRequest, Text, offline_config

from .conftest import CODEX_BIN, requires_codex

ALL_FIELDS = {field.name for field in dataclasses.fields(AppServerConfig)}
PASSED_THROUGH = set(ConfigFields.__optional_keys__)
OWN_KEYWORDS = set(inspect.signature(offline_config).parameters) - {"provider", "fields"}


def test_every_config_field_is_a_keyword_exactly_once() -> None:
    assert PASSED_THROUGH | (OWN_KEYWORDS & ALL_FIELDS) == ALL_FIELDS
    assert not PASSED_THROUGH & OWN_KEYWORDS


def test_the_passed_through_fields_have_the_config_types() -> None:
    config_types = typing.get_type_hints(AppServerConfig)
    assert {name: config_types[name] for name in PASSED_THROUGH} == typing.get_type_hints(ConfigFields)


def test_fields_reach_the_config(tmp_path: Path) -> None:
    with FakeProvider() as provider:
        config = offline_config(
            provider,
            home=tmp_path,
            experimental_api=True,
            concurrent_turns=True,
            request_timeout=7.0,
            extra_args=["--enable", "x"],
            env={"MY_VAR": "1", "NO_PROXY": None},
        )
    assert (config.experimental_api, config.concurrent_turns, config.request_timeout) == (True, True, 7.0)
    assert config.extra_args == ("--strict-config", "--enable", "x")
    assert config.env is not None and config.env["MY_VAR"] == "1" and config.env["NO_PROXY"] is None
    assert config.env["CODEX_HOME"] == str(tmp_path / "codex-home")  # still isolated
    assert config.inherit_env is False


@pytest.mark.parametrize(
    ("keyword", "message"),
    [
        ("experimental", "'experimental'.*did you mean 'experimental_api'"),
        ("config_override", "'config_override'.*did you mean 'config_overrides'"),
        ("zzz", "unexpected keyword argument 'zzz': neither one of its parameters nor an AppServerConfig field$"),
    ],
)
def test_an_unknown_keyword_is_named(tmp_path: Path, keyword: str, message: str) -> None:
    with FakeProvider() as provider, pytest.raises(CodexTypeError, match=message):
        offline_config(provider, home=tmp_path, **{keyword: True})  # type: ignore[arg-type]


def test_extra_args_as_a_str_is_refused(tmp_path: Path) -> None:
    with FakeProvider() as provider, pytest.raises(CodexTypeError, match="extra_args must be a sequence of str"):
        offline_config(provider, home=tmp_path, extra_args="--enable")


CITIES: list[str] = []


@tool(description="Today's weather in a city.")
def weather(city: str) -> str:
    CITIES.append(city)
    return f"Sunny in {city}"


@requires_codex
def test_a_tool_runs_offline_with_experimental_api(tmp_path: Path) -> None:
    replies = [FunctionCall(name="weather", arguments={"city": "Lisbon"}), Text("It is sunny.")]
    with FakeProvider(replies) as provider:
        config = offline_config(provider, home=tmp_path, codex_bin=CODEX_BIN, experimental_api=True)
        with Codex(config) as codex:
            result = codex.thread_start(tools=[weather]).run("Weather in Lisbon?")
        assert result.final_response == "It is sunny."
        assert CITIES == ["Lisbon"]
        assert ModelRequest(provider.requests[1], 2).tool_outputs == ["Sunny in Lisbon"]
