"""The round-trip oracle: does a model agree with ``jsonschema`` about an instance?

Properties, for a definition with validator V and generated type T:

1. *acceptance*: every instance V accepts, T accepts;
2. *round trip*: ``dump(T.validate(x)) ≡ x`` where dump is
   ``mode="json", by_alias=True, exclude_unset=True`` (fields the input did
   not carry are not emitted, so the dump is the instance itself) and ``≡``
   is :func:`json_equal`: JSON equality where a bool is never a number and
   numbers compare by value, because pydantic turns an integral JSON number
   in a ``number`` field into a float (``3`` -> ``3.0``);
3. *rejection*: for mutants of a valid instance (key dropped, key added,
   value nulled, value of another JSON type, unknown string, integer out of
   range), when V rejects, T rejects too, unless the acceptance is one of the
   documented choices in :data:`EXPLANATIONS`, each checked on the parsed
   value (not assumed): the mutant must have been read exactly as the choice
   says.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from codex_app_server.generated.v2_all import OpenEnum, UnknownVariant
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

Path = tuple[str | int, ...]
SchemaError = jsonschema.exceptions.ValidationError
UNKNOWN_STRING = "zz-value-from-a-newer-server"
EXTRA_KEY = "zzFieldFromANewerServer"
EXTRA_VALUE = "zz-extra-value"

#: Documented forward-compatibility / leniency choices of the generated models.
EXPLANATIONS = {
    "extra-field": "unknown object members are kept in model_extra (a newer server may add fields), "
    "even where the schema says additionalProperties: false; in an untagged union a member unfit for "
    "one variant may thereby be kept as an extra of another",
    "open-enum": "a string enum yields an OpenEnum pseudo-member for a value it does not know "
    "(a newer server may add values); Literal tags of tagged unions stay strict, but in an untagged union "
    "whose variants differ by a single-value enum (e.g. McpElicitationStringType) an object unfit for its "
    "own variant may parse as another one with a pseudo-member",
    "optional-null": "an optional, non-nullable field accepts null on input and reads it as not given; "
    "it is never sent as null (exclude_if)",
    "nested-alternative": "alternatives nested in a union variant (an image given by url OR by fileId) are "
    "optional fields of the variant's model: the model does not insist on one complete alternative, so a "
    "newer server may add another way to say the same thing",
    "open-union": "a tagged union the server sends reads an unknown tag as its fallback variant "
    "(UnknownThreadItem ...), which keeps the tag and every other member as received",
    "absent-nullable": "in what the server sends, a required field that allows null may be absent "
    "(older servers leave it out) and reads as None",
    "lax-scalar": "pydantic lax mode reads a JSON scalar of another type when it converts losslessly "
    '(bool <-> 0/1, numeric strings such as "7" to numbers, "yes"/"true" to bools)',
}


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def json_equal(a: object, b: object) -> bool:
    """JSON equality; a bool never equals a number, 1 equals 1.0."""
    kind = json_type(a)
    if kind != json_type(b):
        return False
    if kind == "object":
        assert isinstance(a, dict) and isinstance(b, dict)
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if kind == "array":
        assert isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind == "number":
        assert isinstance(a, (int, float)) and isinstance(b, (int, float))
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        # An integer in a float field is rounded to the nearest double, as
        # every JSON parser with IEEE doubles does.
        return a == b or float(a) == float(b)
    return a == b


def first_difference(a: object, b: object, path: Path = ()) -> str:
    """Where two JSON values differ (for failure messages)."""
    if json_type(a) != json_type(b):
        return f"at {list(path)}: {json_type(a)} {_short(a)} != {json_type(b)} {_short(b)}"
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"at {list(path)}: keys only in dump {sorted(a.keys() - b.keys())}, only in instance {sorted(b.keys() - a.keys())}"
        for key in a:
            if not json_equal(a[key], b[key]):
                return first_difference(a[key], b[key], (*path, key))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"at {list(path)}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if not json_equal(x, y):
                return first_difference(x, y, (*path, i))
    return f"at {list(path)}: {_short(a)} != {_short(b)}"


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    kind: str  # drop-key | add-key | set-null | wrong-type | unknown-string | int-range
    path: Path  # the member or item changed (for add-key: the new member)
    value: object = None  # the new value (unused for drop-key)

    def apply(self, instance: object) -> object:
        return _replace(instance, self.path, self)

    def describe(self) -> str:
        if self.kind == "drop-key":
            return f"drop {list(self.path)}"
        return f"{self.kind} {list(self.path)} = {_short(self.value, 60)}"


def _replace(node: object, path: Path, mutation: Mutation) -> object:
    if not path:
        return mutation.value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        out = dict(node)
        if not rest and mutation.kind == "drop-key":
            del out[head]  # type: ignore[arg-type]
        else:
            out[head] = _replace(node.get(head), rest, mutation)  # type: ignore[call-overload]
        return out
    assert isinstance(node, list) and isinstance(head, int)
    out_list = list(node)
    out_list[head] = _replace(node[head], rest, mutation)
    return out_list


_WRONG_TYPES: dict[str, tuple[object, ...]] = {
    "string": (12345, False, ["x"], {}),
    "number": ("not-a-number", "7", True, [1], {}),
    "boolean": ("maybe", "yes", 1, 7, [], {}),
    "null": (0, "null", [], {}),
    "array": ("x", 1, {}),
    "object": ("x", 1, []),
}


def mutations(instance: object) -> Iterator[Mutation]:
    """Every mutation of ``instance``, shallow ones first."""
    found: list[tuple[int, Mutation]] = []

    def visit(node: object, path: Path) -> None:
        depth = len(path)
        kind = json_type(node)
        if node is not None:
            found.append((depth, Mutation("set-null", path, None)))
        for wrong in _WRONG_TYPES[kind]:
            found.append((depth, Mutation("wrong-type", path, wrong)))
        if isinstance(node, str):
            found.append((depth, Mutation("unknown-string", path, UNKNOWN_STRING)))
        if kind == "number" and isinstance(node, int):
            for out_of_range in (2**64, -1, -(2**63) - 1):
                found.append((depth, Mutation("int-range", path, out_of_range)))
        if isinstance(node, dict):
            found.append((depth, Mutation("add-key", (*path, EXTRA_KEY), EXTRA_VALUE)))
            for key, value in node.items():
                found.append((depth + 1, Mutation("drop-key", (*path, key))))
                visit(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, (*path, i))

    visit(instance, ())
    found.sort(key=lambda pair: pair[0])
    for _, mutation in found:
        yield mutation


def sample_mutations(instance: object, rng: random.Random, limit: int) -> list[Mutation]:
    """Up to ``limit`` mutations: all top-level ones (tags, required members) first, then a random sample."""
    every = list(mutations(instance))
    shallow = [m for m in every if len(m.path) <= 1]
    deep = [m for m in every if len(m.path) > 1]
    if len(shallow) >= limit:
        return rng.sample(shallow, limit)
    return shallow + rng.sample(deep, min(len(deep), limit - len(shallow)))


# ---------------------------------------------------------------- locating parsed values


class Missing(Exception):
    pass


def model_fields(cls: type[BaseModel]) -> dict[str, Any]:
    """``cls.model_fields`` with aliases resolved (the generated models defer their build)."""
    if not cls.__pydantic_complete__:
        cls.model_rebuild()
    return dict(cls.model_fields)


def child(obj: object, key: str | int) -> object:
    """The parsed value of member/item ``key`` (wire name) of a parsed value."""
    if isinstance(obj, BaseModel):
        for name, info in model_fields(type(obj)).items():
            if (info.alias or name) == key:
                if name not in obj.model_fields_set:
                    raise Missing(key)
                return getattr(obj, name)
        extra = obj.model_extra or {}
        if key in extra:
            return extra[key]
        raise Missing(key)
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    if isinstance(obj, (list, tuple)) and isinstance(key, int) and key < len(obj):
        return obj[key]
    raise Missing(key)


def locate(obj: object, path: Path) -> object:
    for key in path:
        obj = child(obj, key)
    return obj


# ---------------------------------------------------------------- explanations


def is_pseudo_member(value: object) -> bool:
    """An OpenEnum value made up for a string the enum does not declare."""
    return isinstance(value, OpenEnum) and value.value not in type(value)._value2member_map_


def tolerated(parsed: object, path: Path = ()) -> tuple[list[Path], list[Path]]:
    """Where the parsed value kept an unknown member (extras) or an unknown enum value (pseudo-members)."""
    extras: list[Path] = []
    pseudo: list[Path] = []

    def walk(value: object, at: Path) -> None:
        if is_pseudo_member(value):
            pseudo.append(at)
        elif isinstance(value, BaseModel):
            for name, info in model_fields(type(value)).items():
                if name in value.model_fields_set:
                    walk(getattr(value, name), (*at, info.alias or name))
            extras.extend((*at, key) for key in value.model_extra or {})
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*at, key))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, (*at, i))

    walk(parsed, path)
    return extras, pseudo


def _is_prefix(prefix: Path, path: Path) -> bool:
    return path[: len(prefix)] == prefix


Tolerated = tuple[list[Path], list[Path]]


def _explain_extra(mutation: Mutation, parsed: object, baseline: Tolerated) -> bool:
    # A member of the object the mutation changed is now kept as an unknown
    # member (and was not before): the one added (add-key), or one that an
    # untagged union, taking the changed object as another variant, does not
    # declare.
    extras, _ = tolerated(parsed)
    new = set(extras) - set(baseline[0])
    return any(_is_prefix(extra[:-1], mutation.path) for extra in new)


def _explain_open_enum(mutation: Mutation, parsed: object, baseline: Tolerated) -> bool:
    # An enum now reads an unknown value: the one the mutation wrote, or, when
    # the mutation made an object unfit for its variant, the tag-like enum of
    # another variant of an untagged union.
    _, pseudo = tolerated(parsed)
    new = set(pseudo) - set(baseline[1])
    return any(_is_prefix(at[:-1], mutation.path) for at in new)


def _unset_optional_field(mutation: Mutation, parsed: object, kind: str) -> FieldInfo | None:
    """The optional field a ``kind`` mutation hit, when ``parsed`` holds None there; else None."""
    if mutation.kind != kind or not mutation.path or not isinstance(mutation.path[-1], str):
        return None
    parent = locate(parsed, mutation.path[:-1])
    if not isinstance(parent, BaseModel):
        return None
    for name, info in model_fields(type(parent)).items():
        if (info.alias or name) == mutation.path[-1]:
            return info if getattr(parent, name) is None and not info.is_required() else None
    return None


def _explain_optional_null(mutation: Mutation, parsed: object) -> bool:
    info = _unset_optional_field(mutation, parsed, "set-null")
    return info is not None and info.exclude_if is not None


def _explain_open_union(mutation: Mutation, parsed: object) -> bool:
    if mutation.kind != "unknown-string" or not mutation.path:
        return False
    parent = locate(parsed, mutation.path[:-1])
    return isinstance(parent, UnknownVariant) and parent.raw.get(str(mutation.path[-1])) == UNKNOWN_STRING


def _explain_absent_nullable(mutation: Mutation, parsed: object) -> bool:
    info = _unset_optional_field(mutation, parsed, "drop-key")
    # exclude_if marks an optional field that may not be null; this one may be.
    return info is not None and info.exclude_if is None


def _explain_lax_scalar(mutation: Mutation, parsed: object) -> bool:
    if mutation.kind != "wrong-type" or json_type(mutation.value) not in ("string", "number", "boolean"):
        return False
    value = locate(parsed, mutation.path)
    if isinstance(value, enum.Enum):
        value = value.value
    got = json_type(value)
    return got in ("string", "number", "boolean") and got != json_type(mutation.value)


def _explain_nested_alternative(mutation: Mutation, parsed: object, errors: Sequence[SchemaError]) -> bool:
    # The dropped member belongs to one of the alternatives nested in a union
    # variant (an image given by url OR by fileId): an optional field of the
    # model, a required one of an anyOf/oneOf branch of the schema.
    if mutation.kind != "drop-key" or not isinstance(mutation.path[-1], str):
        return False
    parent_path, key = mutation.path[:-1], mutation.path[-1]
    parent = locate(parsed, parent_path)
    if not isinstance(parent, BaseModel):
        return False
    fields = {info.alias or name: info for name, info in model_fields(type(parent)).items()}
    if key not in fields or fields[key].is_required():
        return False
    missing = f"{key!r} is a required property"
    return any(
        error.validator in ("anyOf", "oneOf")
        and tuple(error.absolute_path) == parent_path
        and any(sub.validator == "required" and sub.message == missing for sub in error.context or ())
        for error in _all_errors(errors)
    )


def _all_errors(errors: Sequence[SchemaError]) -> Iterator[SchemaError]:
    for error in errors:
        yield error
        yield from _all_errors(error.context or ())


def _lax_round_trip(mutation: Mutation, parsed: object, dumped: object, mutant: object) -> bool:
    """The dump differs from the mutant only by a lax conversion of the mutated value."""
    try:
        if not _explain_lax_scalar(mutation, parsed):
            return False
        converted = locate(dumped, mutation.path)
    except Missing:
        return False
    return json_equal(dumped, Mutation("wrong-type", mutation.path, converted).apply(mutant))


Explainer = Callable[[Mutation, object, Sequence[SchemaError], Tolerated], bool]
_EXPLAINERS: tuple[tuple[str, Explainer], ...] = (
    ("optional-null", lambda m, p, e, b: _explain_optional_null(m, p)),
    ("lax-scalar", lambda m, p, e, b: _explain_lax_scalar(m, p)),
    ("extra-field", lambda m, p, e, b: _explain_extra(m, p, b)),
    ("open-enum", lambda m, p, e, b: _explain_open_enum(m, p, b)),
    ("nested-alternative", lambda m, p, e, b: _explain_nested_alternative(m, p, e)),
    ("open-union", lambda m, p, e, b: _explain_open_union(m, p)),
    ("absent-nullable", lambda m, p, e, b: _explain_absent_nullable(m, p)),
)


def explain(
    mutation: Mutation, parsed: object, errors: Sequence[SchemaError] = (), baseline: Tolerated = ([], [])
) -> str | None:
    """The documented choice that makes the model accept what jsonschema rejects, if any.

    ``baseline``: what the unmutated instance already had tolerated (extras
    the schema allows there), which explains nothing about the mutation.
    """
    for category, check in _EXPLAINERS:
        try:
            if check(mutation, parsed, errors, baseline):
                return category
        except Missing:
            continue
    return None


def expected_dump(mutation: Mutation, category: str, mutant: object, dumped: object) -> object:
    """What an accepted mutant must dump to: itself; without a null read as "not given";
    or, for a lax conversion, with the converted value at the mutated place only."""
    if category == "optional-null":
        return Mutation("drop-key", mutation.path).apply(mutant)
    if category == "lax-scalar":
        try:
            return Mutation("wrong-type", mutation.path, locate(dumped, mutation.path)).apply(mutant)
        except Missing:
            return mutant
    return mutant


# ---------------------------------------------------------------- the check


@dataclass
class Tally:
    """What happened to the instances and mutants of one definition."""

    examples: int = 0
    mutants: int = 0
    both_accept: int = 0
    both_reject: int = 0
    explained: dict[str, int] = field(default_factory=dict)
    unexplained: list[str] = field(default_factory=list)

    def add_failure(self, text: str) -> None:
        if len(self.unexplained) < 20:
            self.unexplained.append(text)
        else:
            self.unexplained[-1] = f"... and more; last: {text}"

    def as_dict(self) -> dict[str, object]:
        return {
            "examples": self.examples,
            "mutants": self.mutants,
            "both_accept": self.both_accept,
            "both_reject": self.both_reject,
            "explained": dict(sorted(self.explained.items())),
            "unexplained": list(self.unexplained),
        }


def dump(adapter: TypeAdapter[Any], value: object) -> object:
    return adapter.dump_python(value, mode="json", by_alias=True, exclude_unset=True)


def check_round_trip(
    adapter: TypeAdapter[Any], instance: object, tally: Tally, what: str = "instance"
) -> tuple[object, object] | None:
    """Properties 1 and 2 for a schema-valid ``instance``: (parsed, dumped), or None if rejected."""
    try:
        parsed = adapter.validate_python(instance)
    except ValidationError as exc:
        tally.add_failure(f"model rejects a schema-valid {what} {_short(instance)}: {_first_error(exc)}")
        return None
    return parsed, dump(adapter, parsed)


def check_instance(
    validator: jsonschema.Draft7Validator,
    adapter: TypeAdapter[Any],
    instance: object,
    rng: random.Random,
    tally: Tally,
    max_mutants: int = 24,
    expected: Sequence[tuple[Path, type]] = (),
    schema_of: Callable[[type], jsonschema.Draft7Validator | None] = lambda cls: None,
) -> None:
    """All properties for one schema-valid ``instance`` and its mutants.

    ``expected``: (path, class) of the parts drawn for a definition that is a
    class: each must parse as that class (an untagged union must not read
    a valid variant as another one), unless the part is just as valid for
    the class it did parse as (``schema_of`` gives that class's validator):
    then the instance is ambiguous and either reading is right.
    """
    tally.examples += 1
    result = check_round_trip(adapter, instance, tally)
    if result is None:
        return
    parsed, dumped = result
    if not json_equal(dumped, instance):
        tally.add_failure(
            f"instance does not round-trip {first_difference(dumped, instance)}; input {_short(instance)}"
        )
    extras, pseudo = tolerated(parsed)
    for at in pseudo:
        tally.add_failure(
            f"a value the schema allows was read as an unknown enum value at {list(at)}: {_short(instance)}"
        )
    for at, cls in expected:
        try:
            part = locate(parsed, at)
        except Missing:
            continue  # e.g. an explicit null the model reads as "not given"
        if not isinstance(part, cls):
            other = schema_of(type(part))
            if other is not None and other.is_valid(locate(instance, at)):
                continue
            tally.add_failure(
                f"the part at {list(at)} is a {cls.__name__} but parsed as {type(part).__name__}: {_short(instance)}"
            )
    baseline = (extras, pseudo)
    for mutation in sample_mutations(instance, rng, max_mutants):
        check_mutant(validator, adapter, instance, mutation, tally, baseline)


def check_mutant(
    validator: jsonschema.Draft7Validator,
    adapter: TypeAdapter[Any],
    instance: object,
    mutation: Mutation,
    tally: Tally,
    baseline: Tolerated = ([], []),
) -> None:
    mutant = mutation.apply(instance)
    tally.mutants += 1
    if validator.is_valid(mutant):
        result = check_round_trip(adapter, mutant, tally, f"mutant ({mutation.describe()})")
        if result is None:
            return
        parsed, dumped = result
        if json_equal(dumped, mutant):
            tally.both_accept += 1
        elif _lax_round_trip(mutation, parsed, dumped, mutant):
            # Another variant of a union took the mutant, converting the value.
            tally.explained["lax-scalar"] = tally.explained.get("lax-scalar", 0) + 1
        else:
            tally.add_failure(
                f"mutant ({mutation.describe()}) does not round-trip {first_difference(dumped, mutant)}; "
                f"input {_short(instance)}"
            )
        return
    try:
        parsed = adapter.validate_python(mutant)
    except ValidationError:
        tally.both_reject += 1
        return
    category = explain(mutation, parsed, list(validator.iter_errors(mutant)), baseline)
    if category is None:
        reason = _first_schema_error(validator, mutant)
        tally.add_failure(
            f"model accepts a mutant the schema rejects ({mutation.describe()}; schema says: {reason}); "
            f"input {_short(instance)}"
        )
        return
    dumped = dump(adapter, parsed)
    expected = expected_dump(mutation, category, mutant, dumped)
    if not json_equal(dumped, expected):
        tally.add_failure(
            f"{category} mutant ({mutation.describe()}) does not dump as documented: "
            f"{first_difference(dumped, expected)}"
        )
        return
    tally.explained[category] = tally.explained.get(category, 0) + 1


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0] if errors else {}
    return f"{list(first.get('loc', ()))}: {first.get('msg', exc)}"


def _first_schema_error(validator: jsonschema.Draft7Validator, instance: object) -> str:
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return "?"
    return f"{list(error.absolute_path)}: {error.message[:160]}"


def summarise(tallies: Sequence[Tally]) -> dict[str, int]:
    totals = {"examples": 0, "mutants": 0, "both_accept": 0, "both_reject": 0, "unexplained": 0}
    for tally in tallies:
        totals["examples"] += tally.examples
        totals["mutants"] += tally.mutants
        totals["both_accept"] += tally.both_accept
        totals["both_reject"] += tally.both_reject
        totals["unexplained"] += len(tally.unexplained)
        for category, count in tally.explained.items():
            totals[category] = totals.get(category, 0) + count
    return totals
