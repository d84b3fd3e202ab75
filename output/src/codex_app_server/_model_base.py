"""The hand-written base of every generated model: what does not vary with the schema.

The generated ``generated/_models/_base.py`` re-exports these names (and
defines the bounded int types, which come from the generator's table), so
the generated model modules import everything they share from one place.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationInfo, model_validator

from ._errors import CodexValueError

__all__ = [
    "SENDING",
    "UNKNOWN_TAG",
    "M",
    "OpenEnum",
    "TagEnum",
    "UnknownNotification",
    "UnknownVariant",
    "WireModel",
    "build_models",
    "is_none",
    "open_tag",
    "require_alternatives",
]


def is_none(value: object) -> bool:
    """``exclude_if`` of an optional field that is not nullable: an explicit None is not sent."""
    return value is None


M = TypeVar("M", bound=BaseModel)


def build_models(*models: type[BaseModel]) -> None:
    """Build the validators of a module's models now, each after the models it contains.

    Called once at the end of each generated module, i.e. when a model is
    first used. Built this way pydantic reuses a contained model's schema;
    left to build on first validation, each container generates its own
    copy of everything inside it (a real turn then costs twice as much).
    """
    for model in models:
        model.model_rebuild()


def require_alternatives(model: M, alternatives: tuple[tuple[str, ...], ...], *, exclusive: bool) -> M:
    """The schema's alternatives of required fields (an image by ``url`` or by ``file_id``).

    At least one group must be given in full, without None (exactly one when
    ``exclusive``, for a oneOf): otherwise the server would reject the object.
    """
    values = model.__dict__
    given = [group for group in alternatives if all(values.get(name) is not None for name in group)]
    if given and not (exclusive and len(given) > 1):
        return model
    options = " or ".join(" + ".join(group) for group in alternatives)
    raise CodexValueError(f"{type(model).__name__} needs {'exactly one of' if exclusive else 'one of'}: {options}")


class WireModel(BaseModel):
    """Base of every generated model."""

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        defer_build=True,
        protected_namespaces=(),
    )


class OpenEnum(str, enum.Enum):
    """A string enum that accepts values added by newer servers."""

    @classmethod
    def _missing_(cls, value: object) -> OpenEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)


class TagEnum(str, enum.Enum):
    """A string enum that tells the variants of an untagged union apart.

    Closed, unlike ``OpenEnum``: an unknown value must not let an object
    match a variant it does not belong to.
    """

    def __str__(self) -> str:
        return str(self.value)


class UnknownNotification(WireModel):
    """A notification of an unknown method, or one whose params did not validate."""

    method: str
    params: dict[str, JsonValue] | None = None
    reason: str = ""
    """Why it was not decoded: "unknown method" or the validation error."""


UNKNOWN_TAG = "<unknown>"
"""The pydantic ``Tag`` of the fallback variant of an open union (no server tag can reach it)."""

_DIRECTION = "codex_app_server.direction"
SENDING: dict[str, object] = {_DIRECTION: "sent"}
"""Validation context of what the client sends: a fallback variant is refused there."""


def open_tag(wire_name: str, attribute: str, known: tuple[str, ...]) -> Callable[[Any], str]:
    """The discriminator of an open union: the object's tag if known, else ``UNKNOWN_TAG``."""
    tags = frozenset(known)

    def tag_of(value: Any) -> str:
        if type(value) is dict:
            tag = value.get(wire_name)
        else:  # a model instance (the user built one), or anything else (then no tag)
            tag = value.__dict__.get(attribute) if isinstance(value, BaseModel) else None
        return tag if type(tag) is str and tag in tags else UNKNOWN_TAG

    return tag_of


class UnknownVariant(WireModel):
    """Base of the fallback variant of each union the server sends (``UnknownThreadItem`` ...).

    A newer codex may send a variant this SDK does not know. Instead of
    failing the whole message it becomes this: the tag as a field, every
    other key kept as received (``raw`` or ``model_dump()`` give back the
    object exactly). Only for reading: params holding one are refused.
    """

    @property
    def raw(self) -> dict[str, JsonValue]:
        """The object as the server sent it."""
        return self.model_dump(mode="json", by_alias=True)

    @model_validator(mode="after")
    def _not_sent(self, info: ValidationInfo) -> UnknownVariant:
        if info.context is not None and info.context.get(_DIRECTION) == "sent":
            raise CodexValueError(f"{type(self).__name__}: this SDK does not know this variant, so it cannot send it")
        return self
