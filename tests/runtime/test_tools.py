"""Python functions as tools, without a server: schema, docstrings, validation, answers."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import pytest
from codex_app_server import ImageInput, ToolResult, tool
from codex_app_server._tools import ToolRegistry, as_tool, call_async, call_sync, parse_docstring, tool_specs
from codex_app_server.generated import v2_all
from pydantic import BaseModel, Field


class Forecast(BaseModel):
    city: str
    celsius: float


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Today's weather in a city.

    Args:
        city: The city's name,
            in English.
        unit (str): ``c`` or ``f``.

    Returns:
        One line of text.
    """
    return f"{city}: sunny ({unit})"


def texts(answer: v2_all.DynamicToolCallResponse) -> list[str]:
    return [
        item.text for item in answer.content_items if isinstance(item, v2_all.InputTextDynamicToolCallOutputContentItem)
    ]


def test_schema_comes_from_the_type_hints_and_the_docstring() -> None:
    t = as_tool(get_weather)
    assert t.name == "get_weather" and t.namespace is None
    assert t.description == "Today's weather in a city."
    schema = t.input_schema
    assert schema["required"] == ["city"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["city"] == {
        "description": "The city's name, in English.",
        "title": "City",
        "type": "string",
    }
    assert schema["properties"]["unit"]["enum"] == ["c", "f"]
    assert schema["properties"]["unit"]["default"] == "c"
    assert schema["properties"]["unit"]["description"] == "``c`` or ``f``."


def test_bare_and_configured_decorators_return_the_function_itself() -> None:
    @tool
    def plain(x: int) -> int:
        """Double x."""
        return 2 * x

    @tool(name="lookup", description="Find a thing.", namespace="db")
    def configured(key: Annotated[str, Field(min_length=1)]) -> str:
        return key

    assert plain(2) == 4 and configured("k") == "k"
    assert (as_tool(plain).name, as_tool(plain).description) == ("plain", "Double x.")
    t = as_tool(configured)
    assert (t.name, t.description, t.namespace, t.qualified_name) == ("lookup", "Find a thing.", "db", "db.lookup")
    assert t.input_schema["properties"]["key"]["minLength"] == 1


def test_a_plain_function_is_made_a_tool_once_a_bound_method_each_time() -> None:
    """A service passing the same plain function to every thread_start must not rebuild its model each time."""

    def plain(x: int) -> int:
        return x

    class Lookup:
        def __init__(self, table: dict[str, str]) -> None:
            self.table = table

        def find(self, key: str) -> str:
            return self.table[key]

    assert as_tool(plain) is as_tool(plain)
    first, second = Lookup({"k": "first"}), Lookup({"k": "second"})
    # Each bound method is its own tool: caching one on the shared function would answer with the wrong self.
    assert as_tool(first.find).function(key="k") == "first"
    assert as_tool(second.find).function(key="k") == "second"


def test_specs_group_namespaces_and_refuse_duplicates() -> None:
    @tool(namespace="db")
    def read(key: str) -> str:
        return key

    @tool(namespace="db")
    def write(key: str, value: str) -> None:
        return None

    tools, specs = tool_specs([get_weather, read, write])
    assert [t.qualified_name for t in tools] == ["get_weather", "db.read", "db.write"]
    assert isinstance(specs[0], v2_all.FunctionDynamicToolSpec) and specs[0].name == "get_weather"
    assert isinstance(specs[1], v2_all.NamespaceDynamicToolSpec)
    assert specs[1].name == "db" and [t.name for t in specs[1].tools] == ["read", "write"]
    with pytest.raises(ValueError, match="two tools are named 'get_weather'"):
        tool_specs([get_weather, get_weather])


def test_signatures_a_tool_cannot_have_are_refused_when_made() -> None:
    def star(*args: int) -> None: ...

    def positional(x: int, /) -> None: ...

    with pytest.raises(TypeError, match="parameter 'args' is variadic positional"):
        as_tool(star)
    with pytest.raises(TypeError, match="parameter 'x' is positional-only"):
        as_tool(positional)
    with pytest.raises(ValueError, match="needs a name"):
        as_tool(lambda: None)
    with pytest.raises(TypeError, match="not int"):
        as_tool(3)  # type: ignore[arg-type]


def test_invalid_arguments_do_not_call_and_name_the_argument() -> None:
    called = []

    def f(count: int, label: str = "x") -> str:
        called.append(count)
        return "ok"

    t = as_tool(f)
    answer = call_sync(t, {"count": "many", "extra": 1})
    assert answer.success is False and called == []
    (text,) = texts(answer)
    assert text.startswith("invalid arguments for tool f: ")
    assert "count: Input should be a valid integer" in text and "extra: Extra inputs are not permitted" in text
    assert "many" not in text  # values are left out
    (text,) = texts(call_sync(t, {}))
    assert "count: Field required" in text
    (text,) = texts(call_sync(t, "not an object"))
    assert "expected a JSON object, got str" in text
    assert call_sync(t, {"count": "3"}).success is True and called == [3]  # lax mode: JSON numbers as strings


def test_return_values_become_content() -> None:
    def run(value: object) -> v2_all.DynamicToolCallResponse:
        return call_sync(as_tool(lambda_tool(value)), {})

    assert texts(run("plain")) == ["plain"]
    assert texts(run(Forecast(city="Oslo", celsius=3.5))) == ['{"city":"Oslo","celsius":3.5}']
    assert texts(run({"a": [1, 2]})) == ['{"a":[1,2]}']
    assert texts(run([1, "x"])) == ['[1,"x"]']
    assert texts(run(None)) == ["null"]
    image = run(ImageInput("data:image/png;base64,AAAA"))
    assert image.success and isinstance(image.content_items[0], v2_all.InputImageDynamicToolCallOutputContentItem)
    assert image.content_items[0].image_url == "data:image/png;base64,AAAA"
    several = run(ToolResult(["a", ImageInput("https://example.invalid/x.png")], success=False))
    assert several.success is False and len(several.content_items) == 2


def lambda_tool(value: object):  # type: ignore[no-untyped-def]
    def returns() -> object:
        return value

    return returns


def test_an_exception_is_a_failed_answer_with_its_type_and_message() -> None:
    def broken(x: int) -> str:
        raise KeyError("no such row")

    answer = call_sync(as_tool(broken), {"x": 1})
    assert answer.success is False and texts(answer) == ["KeyError: 'no such row'"]


def test_async_tools_run_on_a_loop_or_a_private_one() -> None:
    async def slow(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    t = as_tool(slow)
    assert texts(call_sync(t, {"x": 1})) == ["2"]  # a blocking client's worker thread runs it on its own loop
    assert texts(asyncio.run(call_async(t, {"x": 2}))) == ["3"]
    assert texts(asyncio.run(call_async(as_tool(get_weather), {"city": "Rome"}))) == ["Rome: sunny (c)"]


def test_the_registry_keeps_each_threads_tools_apart() -> None:
    registry = ToolRegistry()
    registry.register("t1", [as_tool(get_weather)])

    def params(thread_id: str, name: str, namespace: str | None = None) -> v2_all.DynamicToolCallParams:
        return v2_all.DynamicToolCallParams(
            thread_id=thread_id, turn_id="u", call_id="c", tool=name, namespace=namespace, arguments={}
        )

    assert registry.lookup(params("t1", "get_weather")) is not None
    assert registry.lookup(params("t2", "get_weather")) is None
    assert registry.lookup(params("t1", "get_weather", "ns")) is None
    registry.copy("t1", "fork")
    assert registry.lookup(params("fork", "get_weather")) is not None
    answer = registry.unknown(params("t1", "nope"))
    assert answer.success is False and texts(answer) == [
        "unknown tool nope: this client's tools on this thread: get_weather"
    ]
    assert texts(registry.unknown(params("t9", "x", "ns"))) == [
        "unknown tool ns.x: this client's tools on this thread: none"
    ]


def test_docstring_sections() -> None:
    assert parse_docstring(None) == (None, {})
    assert parse_docstring("Just text.") == ("Just text.", {})
    doc = "Summary.\n\nMore.\n\nArguments:\n    a: first\n    b (int): second\n        continued\nRaises:\n    KeyError: never"
    assert parse_docstring(doc) == ("Summary.\n\nMore.", {"a": "first", "b": "second continued"})
