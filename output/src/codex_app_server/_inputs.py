"""The seed's input dataclasses and their conversion to the protocol's UserInput."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .generated import v2_all

if TYPE_CHECKING:
    from .generated.v2_all import UserInput


@dataclass(frozen=True)
class TextInput:
    text: str


@dataclass(frozen=True)
class ImageInput:
    url: str


@dataclass(frozen=True)
class LocalImageInput:
    path: str


@dataclass(frozen=True)
class SkillInput:
    name: str
    path: str


@dataclass(frozen=True)
class MentionInput:
    name: str
    path: str


InputItem = Union[TextInput, ImageInput, LocalImageInput, SkillInput, MentionInput]
Input = Union[list[InputItem], InputItem]


def _one(item: object) -> UserInput:
    if isinstance(item, str):
        return v2_all.TextUserInput(type="text", text=item)
    if isinstance(item, TextInput):
        return v2_all.TextUserInput(type="text", text=item.text)
    if isinstance(item, ImageInput):
        return v2_all.ImageUserInput(type="image", url=item.url)
    if isinstance(item, LocalImageInput):
        return v2_all.LocalImageUserInput(type="localImage", path=item.path)
    if isinstance(item, SkillInput):
        return v2_all.SkillUserInput(type="skill", name=item.name, path=item.path)
    if isinstance(item, MentionInput):
        return v2_all.MentionUserInput(type="mention", name=item.name, path=item.path)
    if isinstance(
        item,
        (
            v2_all.TextUserInput,
            v2_all.ImageUserInput,
            v2_all.LocalImageUserInput,
            v2_all.SkillUserInput,
            v2_all.MentionUserInput,
        ),
    ):
        return item
    raise TypeError(
        f"unsupported input item {type(item).__name__}: use str, TextInput, ImageInput, "
        "LocalImageInput, SkillInput or MentionInput"
    )


def to_user_inputs(value: str | Input) -> list[UserInput]:
    """Convert a str, one input item or a list of them to the wire's UserInput list."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("input must not be empty")
        return [_one(item) for item in value]
    return [_one(value)]


__all__ = [
    "ImageInput",
    "Input",
    "InputItem",
    "LocalImageInput",
    "MentionInput",
    "SkillInput",
    "TextInput",
    "to_user_inputs",
]
