"""Between the generated models and the wire: "not given", validation, JSON-ready dumps.

The bottom of every layer that sends or reads a model: the requester (params
and responses), the session (server requests and their answers) and the API
base (params built from wrapper keywords) share these few functions, so
there is one way to validate and one way to dump.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from pydantic import BaseModel, TypeAdapter

__all__ = ["OMIT", "Omit", "model_to_wire", "to_wire", "validate", "validate_sent"]


class Omit:
    """Type of :data:`OMIT`: "argument not given, do not send the field"."""

    _instance: Omit | None = None

    def __new__(cls) -> Omit:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = Omit()


@cache
def _adapter(type_form: object) -> TypeAdapter[object]:
    return TypeAdapter(type_form)


def validate(type_form: object, raw: object, context: dict[str, object] | None = None) -> object:
    """Validate ``raw`` into a generated model class or union alias."""
    if isinstance(type_form, type) and issubclass(type_form, BaseModel):
        return type_form.model_validate(raw, context=context)
    return _adapter(type_form).validate_python(raw, context=context)


def validate_sent(type_form: object, raw: object) -> object:
    """Validate what we send: strictly (a union's fallback variant, for reading only, is refused)."""
    # Imported with the first params, as the models are: importing the SDK does not load pydantic's JsonValue.
    from ._model_base import SENDING  # noqa: PLC0415

    return validate(type_form, raw, SENDING)


def to_wire(type_form: object, value: object) -> object:
    """JSON-ready dump of a validated value: wire names, unset fields left out."""
    if isinstance(value, BaseModel):
        return model_to_wire(value)
    return _adapter(type_form).dump_python(value, mode="json", by_alias=True, exclude_unset=True)


def model_to_wire(value: BaseModel) -> dict[str, object]:
    """JSON-ready dump of a model: wire names, unset fields left out."""
    return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
