"""Structured output against the real binary: ``output_type`` is sent as a strict schema and parsed back."""

from __future__ import annotations

from typing import Any

import pytest
from codex_app_server import OutputSchemaError, StructuredOutputError
from codex_app_server._output import strict_schema
from codex_app_server.testing import final_text
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from .conftest import requires_codex
from .support import RoutedProvider

pytestmark = requires_codex


class Place(BaseModel):
    name: str
    country: str | None = None


class Weather(BaseModel):
    """The weather somewhere."""

    place: Place
    celsius: float = 0.0
    tags: list[str] = Field(description="Words for it.")


class Point(TypedDict):
    x: int
    y: int


ANSWER = '{"place": {"name": "Oslo", "country": null}, "celsius": 3.5, "tags": ["cold"]}'


def sent_format(provider: RoutedProvider) -> Any:
    return provider.requests[-1]["text"]["format"]


def test_output_type_is_sent_strict_and_the_answer_parsed(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(final_text(ANSWER))
    result = codex.thread_start().run("Weather in Oslo?", output_type=Weather)
    assert result.parsed == Weather(place=Place(name="Oslo"), celsius=3.5, tags=["cold"])
    assert result.final_response == ANSWER
    fmt = sent_format(provider)
    assert (fmt["type"], fmt["strict"], fmt["name"]) == ("json_schema", True, "codex_output_schema")
    schema = fmt["schema"]
    assert schema == strict_schema(Weather)
    assert schema["required"] == ["place", "celsius", "tags"] and schema["additionalProperties"] is False
    place = schema["$defs"]["Place"]
    assert place["required"] == ["name", "country"] and place["additionalProperties"] is False
    assert "default" not in str(schema)


def test_any_type_pydantic_validates_to_an_object_works(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(final_text('{"x": 1, "y": 2}'))
    assert codex.thread_start().run("A point", output_type=Point).parsed == {"x": 1, "y": 2}


def test_an_answer_that_does_not_validate_raises_with_the_raw_text(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text('{"place": {"name": "Oslo"}, "celsius": "warm"}'))
    with pytest.raises(StructuredOutputError, match="does not validate as Weather") as caught:
        thread.run("Weather?", output_type=Weather)
    assert caught.value.raw_text == '{"place": {"name": "Oslo"}, "celsius": "warm"}'
    assert caught.value.output_type is Weather
    assert "celsius: Input should be a valid number" in str(caught.value)
    assert "tags: Field required" in str(caught.value)
    provider.enqueue(final_text("not json at all"))
    with pytest.raises(StructuredOutputError) as caught:
        thread.run("Again?", output_type=Weather)
    assert caught.value.raw_text == "not json at all"
    provider.enqueue(final_text("Plain."))
    assert thread.run("Plain?").final_response == "Plain."  # the thread goes on
    assert "format" not in provider.requests[-1].get("text", {})


def test_a_turn_handle_parses_once_the_turn_completed(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(final_text(ANSWER))
    handle = codex.thread_start().turn("Weather?", output_type=Weather)
    handle.run()
    assert handle.result.parsed == Weather(place=Place(name="Oslo"), celsius=3.5, tags=["cold"])


def test_schemas_that_cannot_be_sent_are_refused_before_sending(codex: Any, provider: RoutedProvider) -> None:
    class Loose(BaseModel):
        counts: dict[str, int]

    class Short(BaseModel):
        code: str = Field(max_length=3)

    thread = codex.thread_start()
    before = len(provider.requests)
    with pytest.raises(OutputSchemaError, match=r"a dict field\) cannot be strict; .* at /properties/counts"):
        thread.run("x", output_type=Loose)
    with pytest.raises(
        OutputSchemaError, match="maxLength is not supported by strict structured output at /properties/code"
    ):
        thread.run("x", output_type=Short)
    with pytest.raises(OutputSchemaError, match="root of a strict output schema must be an object"):
        thread.run("x", output_type=list[int])
    with pytest.raises(OutputSchemaError, match="must be a JSON Schema object \\(a dict\\), not str"):
        thread.run("x", output_schema="not a schema")
    with pytest.raises(OutputSchemaError, match="unknown type 'text' at /properties/a/type"):
        thread.run("x", output_schema={"type": "object", "properties": {"a": {"type": "text"}}})
    with pytest.raises(OutputSchemaError, match="not both"):
        thread.run("x", output_type=Weather, output_schema={"type": "object"})
    assert len(provider.requests) == before  # nothing reached the model
    provider.enqueue(final_text("Still fine."))
    assert thread.run("ok?").final_response == "Still fine."


def test_a_raw_schema_goes_as_written(codex: Any, provider: RoutedProvider) -> None:
    raw = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    provider.enqueue(final_text('{"ok": true}'))
    result = codex.thread_start().run("ok?", output_schema=raw)
    assert sent_format(provider)["schema"] == raw
    assert result.parsed is None and result.final_response == '{"ok": true}'
