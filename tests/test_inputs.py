"""A turn's input items: the generated dataclasses and their conversion to the protocol's UserInput."""

from __future__ import annotations

import dataclasses

import pytest
from codex_app_server import ImageInput, LocalImageInput, MentionInput, SkillInput, TextInput
from codex_app_server._inputs import to_user_inputs
from codex_app_server.generated import v2_all
from codex_app_server.generated.inputs import to_user_input


def test_each_input_item_becomes_its_user_input_variant() -> None:
    wire = [
        v2_all.TextUserInput(type="text", text="hi"),
        v2_all.ImageUserInput(type="image", url="https://example.com/a.png"),
        v2_all.LocalImageUserInput(type="localImage", path="a.png"),
        v2_all.SkillUserInput(type="skill", name="s", path="/s"),
        v2_all.MentionUserInput(type="mention", name="m", path="/m"),
    ]
    items = [
        TextInput("hi"),
        ImageInput("https://example.com/a.png"),
        LocalImageInput("a.png"),
        SkillInput("s", "/s"),
        MentionInput("m", "/m"),
    ]
    assert to_user_inputs(items) == wire
    assert [m.model_dump(by_alias=True, exclude_unset=True) for m in to_user_inputs(items)][1] == {
        "type": "image",
        "url": "https://example.com/a.png",
    }


def test_a_str_is_a_text_item_and_one_item_needs_no_list() -> None:
    assert to_user_inputs("hi") == to_user_inputs(TextInput("hi")) == to_user_inputs([TextInput("hi")])


def test_any_user_input_model_passes_as_it_is() -> None:
    audio = v2_all.AudioUserInput(type="audio", url="https://example.com/a.wav")
    assert to_user_inputs([audio, "x"])[0] is audio


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(TypeError, match=r"unsupported input item int: use str, TextInput, .* or MentionInput"):
        to_user_input(3)
    assert to_user_inputs([]) == []  # a turn whose whole input is its tool_output


def test_input_items_are_frozen_dataclasses() -> None:
    item = SkillInput("s", "/s")
    assert dataclasses.is_dataclass(item)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "t"  # type: ignore[misc]
