"""A turn's input: a str, one input item or a list of them, as the protocol's UserInput list.

The input dataclasses (``TextInput`` ...) and their conversion are generated
from the protocol's ``UserInput`` union (``generated/inputs.py``); only the
conventions around them live here: a str is a text item, and a list is
several items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from .generated.inputs import (
    ImageInput,
    InputItem,
    LocalImageInput,
    MentionInput,
    SkillInput,
    TextInput,
    to_user_input,
)

if TYPE_CHECKING:
    from .generated.v2_all import UserInput

Input = Union[list[InputItem], InputItem]


def to_user_inputs(value: str | Input) -> list[UserInput]:
    """Convert a str, one input item or a list of them to the wire's UserInput list.

    An empty list is valid: a turn whose whole input is its ``tool_output``
    (another agent's or tool's result) has no user input.
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    return [to_user_input(TextInput(item) if isinstance(item, str) else item) for item in items]


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
