"""The oracle catches what it claims to catch, and the model bugs it found stay fixed.

Each planted bug below is a small model that disagrees with its schema in
one way the property suite must report; if the oracle stopped seeing it,
the suite over the real models would pass vacuously.
"""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal, Union

import jsonschema
import pytest
from codex_app_server.generated import v2_all
from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

from . import oracle


def _tally(schema: dict[str, Any], model: Any, instance: object, **kwargs: Any) -> oracle.Tally:
    tally = oracle.Tally()
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid(instance), "the planted instance must be schema-valid"
    oracle.check_instance(validator, TypeAdapter(model), instance, random.Random(0), tally, max_mutants=200, **kwargs)
    return tally


OBJECT_AB = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
    "required": ["a"],
}


class Faithful(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int
    b: str | None = Field(default=None, exclude_if=lambda v: v is None)


def test_json_equal_is_json_equality() -> None:
    assert oracle.json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not oracle.json_equal(True, 1) and not oracle.json_equal(0, False)
    assert not oracle.json_equal({"a": None}, {})
    assert not oracle.json_equal([1, 2], [2, 1])
    assert not oracle.json_equal("1", 1)
    assert oracle.json_equal(2**70, float(2**70))


def test_a_faithful_model_passes_with_documented_leniency() -> None:
    tally = _tally(OBJECT_AB, Faithful, {"a": 1, "b": "x"})
    assert tally.unexplained == []
    assert tally.both_reject > 0 and tally.both_accept > 0
    # b: null is read as "not given" (optional, not nullable); "7" for a is lax.
    assert tally.explained.get("optional-null") == 1
    assert tally.explained.get("lax-scalar", 0) >= 1


def test_a_model_that_loses_data_on_dump_is_caught() -> None:
    class Lossy(BaseModel):
        a: int
        b: str | None = Field(default=None, exclude=True)

    tally = _tally(OBJECT_AB, Lossy, {"a": 1, "b": "x"})
    assert any("does not round-trip" in f for f in tally.unexplained)


def test_a_model_stricter_than_its_schema_is_caught() -> None:
    class Strict(BaseModel):
        a: int
        b: str

    tally = _tally(OBJECT_AB, Strict, {"a": 1})
    assert any("model rejects a schema-valid instance" in f for f in tally.unexplained)


def test_a_model_laxer_than_its_schema_is_caught() -> None:
    class Lax(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int = 0
        b: str | None = None

    # The unknown member the schema allows explains nothing about the dropped 'a'.
    tally = _tally(OBJECT_AB, Lax, {"a": 1, "b": "x", "other": True})
    assert any("model accepts a mutant the schema rejects (drop ['a']" in f for f in tally.unexplained)


def test_a_closed_enum_where_the_schema_is_open_is_caught() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string"}}, "required": ["s"]}

    class Narrow(BaseModel):
        s: Literal["a", "b"]

    tally = _tally(schema, Narrow, {"s": "a"})
    assert any("model rejects a schema-valid mutant (unknown-string ['s']" in f for f in tally.unexplained)


class _AType(v2_all.OpenEnum):
    a = "a"


class _BType(v2_all.OpenEnum):
    b = "b"


class _A(BaseModel):
    type: _AType


class _B(BaseModel):
    type: _BType


def test_an_open_enum_tag_that_misreads_a_union_variant_is_caught() -> None:
    """The shape of the McpElicitationPrimitiveSchema bug: {"type": "b"} read as A."""
    schema = {
        "definitions": {
            "A": {"type": "object", "properties": {"type": {"enum": ["a"]}}, "required": ["type"]},
            "B": {"type": "object", "properties": {"type": {"enum": ["b"]}}, "required": ["type"]},
        },
        "anyOf": [{"$ref": "#/definitions/A"}, {"$ref": "#/definitions/B"}],
    }
    tally = _tally(schema, Union[_A, _B], {"type": "b"}, expected=[((), _B)])
    assert any("read as an unknown enum value" in f for f in tally.unexplained)
    assert any("is a _B but parsed as _A" in f for f in tally.unexplained)


def test_a_catch_all_that_shadows_the_model_variants_is_caught() -> None:
    """The shape of the CodexErrorInfo bug: every object became a plain dict."""

    class Failed(BaseModel):
        model_config = ConfigDict(extra="allow")
        http_connection_failed: dict[str, int] = Field(alias="httpConnectionFailed")

    schema = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"httpConnectionFailed": {"type": "object"}},
                "required": ["httpConnectionFailed"],
            },
            {"type": ["string", "object"]},
        ]
    }
    instance = {"httpConnectionFailed": {"httpStatusCode": 500}}
    smart = _tally(schema, Union[Failed, str, dict[str, JsonValue]], instance, expected=[((), Failed)])
    assert any("is a Failed but parsed as dict" in f for f in smart.unexplained)
    ordered = Annotated[Union[Failed, str, dict[str, JsonValue]], Field(union_mode="left_to_right")]
    assert _tally(schema, ordered, instance, expected=[((), Failed)]).unexplained == []


# ---------------------------------------------------------------- regressions of the real models


@pytest.mark.parametrize(
    ("instance", "cls"),
    [
        ({"type": "boolean"}, v2_all.McpElicitationBooleanSchema),
        ({"type": "boolean", "default": True}, v2_all.McpElicitationBooleanSchema),
        ({"type": "integer", "default": 3}, v2_all.McpElicitationNumberSchema),
        ({"type": "string", "format": "email"}, v2_all.McpElicitationStringSchema),
        ({"type": "string", "enum": ["a"]}, v2_all.McpElicitationUntitledSingleSelectEnumSchema),
        (
            {"type": "array", "items": {"type": "string", "enum": ["a"]}},
            v2_all.McpElicitationUntitledMultiSelectEnumSchema,
        ),
    ],
)
def test_elicitation_field_schemas_parse_as_their_own_variant(instance: dict[str, Any], cls: type) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(v2_all.McpElicitationPrimitiveSchema)
    parsed = adapter.validate_python(instance)
    assert type(parsed) is cls
    assert oracle.json_equal(oracle.dump(adapter, parsed), instance)


@pytest.mark.parametrize(
    ("instance", "cls"),
    [
        ({"httpConnectionFailed": {"httpStatusCode": 502}}, v2_all.HttpConnectionFailedCodexErrorInfo),
        (
            {"responseTooManyFailedAttempts": {"httpStatusCode": 429}},
            v2_all.ResponseTooManyFailedAttemptsCodexErrorInfo,
        ),
        ({"responseStreamDisconnected": {}}, v2_all.ResponseStreamDisconnectedCodexErrorInfo),
        ({"activeTurnNotSteerable": {"turnKind": "review"}}, v2_all.ActiveTurnNotSteerableCodexErrorInfo),
        ("internalServerError", str),
        ("aValueFromANewerServer", str),
        ({"aVariantFromANewerServer": {"x": 1}}, dict),
    ],
)
def test_codex_error_info_variants_are_typed(instance: object, cls: type) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(v2_all.CodexErrorInfo)
    parsed = adapter.validate_python(instance)
    assert type(parsed) is cls
    assert oracle.json_equal(oracle.dump(adapter, parsed), instance)
