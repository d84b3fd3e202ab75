"""jsonschema and the generated models agree on accept/reject.

Valid instances come from traffic recorded from the real binary (every
notification's params, every request's params and response), harvested
recursively into every definition they contain, plus a few written by hand
for seed definitions the traffic lacks (e.g. the granular ``AskForApproval``).
Each definition's instances are then mutated one step at a time: a required
or optional field removed, a value replaced by one of another JSON type, a
discriminator or other string replaced by an unknown value, an extra field
added. ``jsonschema`` (Draft 7, the bundle's definitions as the root so
``$ref`` resolves) and the pydantic model must give the same verdict.

Where they differ on purpose, the difference must be one of these documented
choices, each checked precisely rather than assumed:

* ``extra-field``: unknown fields from a newer server are accepted and kept;
* ``open-enum``: an unknown value of a named string enum is accepted, and the
  parsed value is an ``OpenEnum`` pseudo-member carrying the raw string;
* ``flattened-alternatives``: a variant whose nested ``anyOf`` alternatives
  (e.g. an image by ``url`` or by ``fileId``) became optional fields accepts
  an instance with none of them;
* ``open-union``: a union the server sends accepts an unknown tag as its
  fallback variant (``UnknownThreadItem``), which keeps the object as sent;
* ``absent-nullable``: in what the server sends, a required field that allows
  null may be absent (older servers leave it out) and reads as None.

Anything else is an unexplained disagreement and fails the test.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from codex_app_server.generated import v2_all
from codex_app_server.generated._models._base import SENDING
from pydantic import TypeAdapter, ValidationError

from generator.load import V2_BUNDLE
from tests.generator.support import REAL_EXPERIMENTAL_DIR

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "real_samples"
TAGS = ("type", "method", "kind", "mode", "status")
UNKNOWN = "unknownFutureValue"
# Definitions the issue names; each must be covered with at least one instance.
SEEDS = (
    "ThreadItem",
    "Turn",
    "TurnStartParams",
    "ThreadTokenUsage",
    "AskForApproval",
    "Thread",
    "TurnStatus",
    "UserInput",
    "ThreadStartParams",
    "ThreadStartResponse",
)
MIN_DEFINITIONS = 30
PER_DEFINITION = 3  # instances kept per definition (bounds the run time)

Json = Any
Path_ = tuple[str | int, ...]


@cache
def bundle() -> dict[str, Any]:
    # The bundle the models are generated from (the experimental dump: a superset of the stable one).
    doc: dict[str, Any] = json.loads((REAL_EXPERIMENTAL_DIR / V2_BUNDLE).read_text(encoding="utf-8"))
    return doc["definitions"]  # type: ignore[no-any-return]


@cache
def validator(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"definitions": bundle(), "$ref": f"#/definitions/{name}"})


@cache
def adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(getattr(v2_all, name))


def schema_accepts(name: str, instance: Json) -> bool:
    return bool(validator(name).is_valid(instance))


def model_parse(name: str, instance: Json) -> tuple[bool, Json]:
    try:
        value = adapter(name).validate_python(instance)
    except ValidationError:
        return False, None
    return True, value


# ---------------------------------------------------------------- harvesting valid instances


def ref_name(schema: Json) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def harvest(schema: Json, instance: Json, out: dict[str, list[Json]]) -> None:
    """Record (definition, sub-instance) for every $ref the instance passes through."""
    if not isinstance(schema, dict):
        return
    name = ref_name(schema)
    if name is not None:
        if instance not in out.setdefault(name, []):
            out[name].append(instance)
        harvest(bundle()[name], instance, out)
        return
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key, []):
            # descend into the branches the instance actually satisfies
            if jsonschema.Draft7Validator({"definitions": bundle(), **branch}).is_valid(instance):
                harvest(branch, instance, out)
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            if key in props:
                harvest(props[key], value, out)
            elif isinstance(extra, dict):
                harvest(extra, value, out)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            harvest(schema["items"], item, out)


def read_jsonl(name: str) -> Iterator[dict[str, Any]]:
    with (SAMPLES / name).open(encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())


def envelope_refs(union: str) -> dict[str, str]:
    """method -> params definition, from an envelope union (ClientRequest, ServerNotification)."""
    out = {}
    for variant in bundle()[union]["oneOf"]:
        method = variant["properties"]["method"]["enum"][0]
        params = variant["properties"].get("params")
        name = ref_name(params) if params else None
        if name:
            out[method] = name
    return out


HAND_WRITTEN: dict[str, list[Json]] = {
    "AskForApproval": [
        "never",
        "on-request",
        {"granular": {"mcp_elicitations": True, "rules": False, "sandbox_approval": True, "skill_approval": True}},
    ],
    "UserInput": [
        {"type": "image", "url": "https://example.invalid/a.png", "detail": "high"},
        {"type": "localImage", "path": "/tmp/a.png"},
        {"type": "skill", "name": "s", "path": "/skills/s"},
    ],
}


@cache
def valid_instances() -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for name, instances in HAND_WRITTEN.items():  # first, so the cap keeps them
        for instance in instances:
            harvest({"$ref": f"#/definitions/{name}"}, instance, out)
    notifications = envelope_refs("ServerNotification")
    for sample in ("simple_turn.jsonl", "approval_turn.jsonl", "failed_turn.jsonl"):
        for message in read_jsonl(sample):
            if "id" not in message and message.get("method") in notifications:
                harvest({"$ref": f"#/definitions/{notifications[message['method']]}"}, message["params"], out)
    requests = envelope_refs("ClientRequest")
    for record in read_jsonl("responses.jsonl"):
        method = record["method"]
        if method in requests:
            harvest({"$ref": f"#/definitions/{requests[method]}"}, record["params"], out)
            response = requests[method].removesuffix("Params") + "Response"
            if response in bundle():
                harvest({"$ref": f"#/definitions/{response}"}, record["result"], out)
    return {name: values[:PER_DEFINITION] for name, values in sorted(out.items())}


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    kind: str  # missing-field | wrong-type | unknown-string | extra-field
    path: Path_
    instance: Json


def wrong_type(value: Json) -> Json:
    """A value of another JSON type that pydantic's lax mode does not coerce back."""
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, (int, float)):
        return "not-a-number"
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return {"not": "a list"}
    if isinstance(value, dict):
        return ["not", "an", "object"]
    return 12345  # null


def set_at(instance: Json, path: Path_, value: Json) -> Json:
    out = copy.deepcopy(instance)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def delete_at(instance: Json, path: Path_) -> Json:
    out = copy.deepcopy(instance)
    target = out
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return out


def mutations(instance: Json) -> Iterator[Mutation]:
    """One-step mutations of the instance's own members (nested definitions are mutated on their own)."""
    if not isinstance(instance, (dict, list)):
        yield Mutation("wrong-type", (), wrong_type(instance))
        if isinstance(instance, str):
            yield Mutation("unknown-string", (), UNKNOWN)
        return
    members = instance.items() if isinstance(instance, dict) else enumerate(instance)
    for key, value in members:
        path: Path_ = (key,)
        if isinstance(instance, dict):
            yield Mutation("missing-field", path, delete_at(instance, path))
        yield Mutation("wrong-type", path, set_at(instance, path, wrong_type(value)))
        if isinstance(value, str):
            yield Mutation("unknown-string", path, set_at(instance, path, UNKNOWN))
    if isinstance(instance, dict):
        yield Mutation("extra-field", ("unexpectedExtraField",), {**instance, "unexpectedExtraField": 1})


# ---------------------------------------------------------------- classifying disagreements


def value_at(value: Json, path: Path_) -> Json:
    for step in path:
        value = value[step]
    return value


def is_unknown_enum_value(parsed: Json, path: Path_) -> bool:
    """The accepted unknown string surfaced as an OpenEnum pseudo-member."""
    dumped = TypeAdapter(type(parsed)).dump_python(parsed, mode="python", by_alias=True) if path else parsed
    value = value_at(dumped, path)
    return isinstance(value, v2_all.OpenEnum) and value.value == UNKNOWN and UNKNOWN not in type(value).__members__


def explain(name: str, mutation: Mutation, parsed: Json) -> str | None:
    """Why the model accepted what the schema rejects, if that is a documented choice."""
    if mutation.kind == "extra-field":
        return "extra-field"
    if mutation.kind == "unknown-string" and is_unknown_enum_value(parsed, mutation.path):
        return "open-enum"
    if mutation.kind == "missing-field" and name in FLATTENED and mutation.path[0] in FLATTENED[name]:
        return "flattened-alternatives"
    if mutation.kind == "unknown-string" and is_fallback_variant(parsed, mutation.path):
        return "open-union"
    if mutation.kind == "missing-field" and is_absent_nullable(name, parsed, mutation.path):
        return "absent-nullable"
    return None


def object_at(parsed: Any, path: Path_) -> Any:
    """The parsed object at a wire path (fields by wire name, list items by index)."""
    for key in path:
        if isinstance(parsed, list):
            parsed = parsed[key]
            continue
        wire = {info.alias or field: field for field, info in type(parsed).model_fields.items()}
        parsed = getattr(parsed, wire[key]) if key in wire else (parsed.model_extra or {})[key]
    return parsed


def is_fallback_variant(parsed: Json, path: Path_) -> bool:
    """The unknown tag made its object the union's fallback variant, which kept the tag."""
    holder = object_at(parsed, path[:-1])
    return isinstance(holder, v2_all.UnknownVariant) and holder.raw.get(str(path[-1])) == UNKNOWN


def is_absent_nullable(name: str, parsed: Json, path: Path_) -> bool:
    """The absent field read as None, and the schema allows null there."""
    if object_at(parsed, path) is not None:
        return False
    dumped = adapter(name).dump_python(parsed, mode="json", by_alias=True)
    return schema_accepts(name, dumped)


# Definitions with variants whose nested anyOf alternatives became optional fields
# (property names of the alternatives), computed from the schema.
def _flattened() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, schema in bundle().items():
        for variant in schema.get("oneOf", []):
            for alt in variant.get("anyOf", []) if isinstance(variant, dict) and "properties" in variant else []:
                out.setdefault(name, set()).update(alt.get("properties", {}))
    return out


FLATTENED = _flattened()


@dataclass
class Report:
    checked: Counter[str]
    explained: Counter[str]
    unexplained: list[str]
    definitions: set[str]


@pytest.fixture(scope="module")
def report() -> Report:
    result = Report(Counter(), Counter(), [], set())
    for name, instances in valid_instances().items():
        if not hasattr(v2_all, name):
            continue
        for instance in instances:
            assert schema_accepts(name, instance), f"harvested instance of {name} is not valid"
            ok, parsed = model_parse(name, instance)
            assert ok, f"{name} rejects a valid recorded instance: {instance!r}"
            dumped = adapter(name).dump_python(parsed, mode="json", by_alias=True, exclude_unset=True)
            assert dumped == instance, f"{name} does not round-trip {instance!r}"
            result.definitions.add(name)
            for mutation in mutations(instance):
                by_schema = schema_accepts(name, mutation.instance)
                by_model, parsed_mutant = model_parse(name, mutation.instance)
                result.checked[mutation.kind] += 1
                if by_schema == by_model:
                    continue
                reason = explain(name, mutation, parsed_mutant) if by_model else None
                if reason is None:
                    verdict = (
                        f"schema {'accepts' if by_schema else 'rejects'}, model {'accepts' if by_model else 'rejects'}"
                    )
                    result.unexplained.append(f"{name} {mutation.kind} at {list(mutation.path)}: {verdict}")
                else:
                    result.explained[reason] += 1
    print(
        f"\nagreement: {len(result.definitions)} definitions, {sum(result.checked.values())} mutated instances "
        f"{dict(result.checked)}; documented differences {dict(result.explained)}; "
        f"unexplained {len(result.unexplained)}"
    )
    return result


def test_enough_definitions_are_covered(report: Report) -> None:
    assert len(report.definitions) >= MIN_DEFINITIONS, sorted(report.definitions)
    assert set(SEEDS) <= report.definitions, sorted(set(SEEDS) - report.definitions)


def test_every_mutation_kind_is_exercised(report: Report) -> None:
    assert set(report.checked) == {"missing-field", "wrong-type", "unknown-string", "extra-field"}
    # The documented forward-compatibility choices really occur (else the exceptions are untested).
    assert report.explained["extra-field"] > 0
    assert report.explained["open-enum"] > 0


def test_no_unexplained_disagreement(report: Report) -> None:
    assert report.unexplained == [], "\n".join(report.unexplained)


def test_bad_discriminator_tag_is_read_as_the_fallback_but_never_sent() -> None:
    """An unknown tag of a union the server sends reads as its fallback variant; params refuse it."""
    for name, instance in (
        ("ThreadItem", {"type": UNKNOWN, "id": "x"}),
        ("UserInput", {"type": UNKNOWN, "text": "hi"}),
    ):
        assert not schema_accepts(name, instance)
        ok, parsed = model_parse(name, instance)
        assert ok and isinstance(parsed, v2_all.UnknownVariant) and parsed.raw == instance, name
        with pytest.raises(ValidationError, match="cannot send it"):
            adapter(name).validate_python(instance, context=SENDING)
    # An untagged union has no fallback: an unknown shape is an error for both.
    assert not schema_accepts("AskForApproval", {"granular": {"rules": "yes"}})
    assert not model_parse("AskForApproval", {"granular": {"rules": "yes"}})[0]
