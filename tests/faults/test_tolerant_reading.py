"""What an older or newer codex sends is read without losing anything (issue 13, tolerant reading).

The server is the fake stdio server replaying one real turn, with what a
different codex release would send instead: an item type this SDK does not
know (in ``item/completed`` and in a ``thread/read`` answer), an unknown tag
in a response's union, a required-but-nullable field left out (as codex
0.133.0 leaves out ``thread.projectId``), a truly required field left out,
and a method the server lacks. Through the real ``Codex``/``AsyncCodex``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import MethodNotFoundError, ResponseValidationError
from codex_app_server._server_version import SCHEMA_VERSION
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ItemCompletedEvent,
    UnknownThreadItem,
    UnknownThreadStatus,
)

from .support import fake_config, linux_only, recorded_turn

pytestmark = [linux_only, pytest.mark.timeout(60)]

TURN = recorded_turn()
HOLOGRAM = {"type": "hologram", "id": "holo-1", "frames": [{"t": 0, "rgb": None}], "note": "from codex 9.0"}
OLD_AGENT = "codex_app_server_sdk/0.133.0 (Debian 12.0.0; x86_64) unknown (x; 0.0.0)"


def _turn_with_hologram() -> list[dict[str, Any]]:
    """The recorded turn with an item/completed of an unknown item type before the agent message."""
    sends = TURN.sends()
    at = next(i for i, a in enumerate(sends) if a["send"]["method"] == "item/completed")
    params = {"threadId": TURN.thread_id, "turnId": TURN.turn_id, "item": copy.deepcopy(HOLOGRAM)}
    params["completedAtMs"] = sends[at]["send"]["params"].get("completedAtMs", 1)
    sends.insert(at, {"send": {"method": "item/completed", "params": params}})
    return sends


def _old_server(script: dict[str, Any]) -> dict[str, Any]:
    """The script with codex 0.133.0's initialize answer."""
    script["methods"]["initialize"] = [{"result": {**TURN.initialize, "userAgent": OLD_AGENT}}]
    return script


def test_unknown_item_type_is_kept_by_run_and_stream(tmp_path: Path, open_client: Any) -> None:
    client = open_client(fake_config(tmp_path, TURN.script(_turn_with_hologram())))
    result = client.thread_start().run("hi")
    unknown = [i for i in result.items if isinstance(i, UnknownThreadItem)]
    assert len(unknown) == 1 and unknown[0].raw == HOLOGRAM and unknown[0].type == "hologram"
    assert result.final_response == TURN.agent_text()  # still found past the unknown item
    assert any(isinstance(i, AgentMessageThreadItem) for i in result.items)


def test_unknown_item_type_reaches_stream_as_a_typed_event(tmp_path: Path, open_client: Any) -> None:
    client = open_client(fake_config(tmp_path, TURN.script(_turn_with_hologram())))
    events = list(client.thread_start().turn("hi").stream())
    items = [e.params.item for e in events if isinstance(e, ItemCompletedEvent)]
    assert [i.raw for i in items if isinstance(i, UnknownThreadItem)] == [HOLOGRAM]
    assert items[0].model_dump(mode="json", by_alias=True) == HOLOGRAM  # dumps back exactly


def test_thread_read_with_unknown_items_and_status_and_missing_nullable_fields(
    tmp_path: Path, open_client: Any
) -> None:
    thread = copy.deepcopy(TURN.thread_start["thread"])
    thread.pop("projectId", None)  # required but nullable: codex 0.133.0 leaves it out
    thread["status"] = {"type": "hibernating", "since": 5}
    thread["turns"] = [{**copy.deepcopy(TURN.turn_start["turn"]), "items": [HOLOGRAM], "status": "completed"}]
    script = TURN.script(extra_methods={"thread/read": [{"result": {"thread": thread}}]})
    client = open_client(fake_config(tmp_path, script))
    read = client.client.thread_read(thread_id=TURN.thread_id, include_turns=True).thread
    assert read.project_id is None
    assert isinstance(read.status, UnknownThreadStatus) and read.status.raw == {"type": "hibernating", "since": 5}
    (item,) = read.turns[0].items
    assert isinstance(item, UnknownThreadItem) and item.raw == HOLOGRAM


def test_thread_start_on_an_old_server_without_project_id(tmp_path: Path, open_client: Any) -> None:
    script = _old_server(TURN.script())
    thread = copy.deepcopy(TURN.thread_start)
    del thread["thread"]["projectId"]
    script["methods"]["thread/start"] = [{"result": thread}]
    client = open_client(fake_config(tmp_path, script))
    assert client.server_version == "0.133.0"
    assert client.client.server_version == "0.133.0"
    assert client.thread_start().id == TURN.thread_id


def test_missing_truly_required_field_names_method_path_versions_and_hint(tmp_path: Path, open_client: Any) -> None:
    thread = copy.deepcopy(TURN.thread_start["thread"])
    del thread["turns"]  # required and not nullable
    script = _old_server(TURN.script(extra_methods={"thread/read": [{"result": {"thread": thread}}]}))
    client = open_client(fake_config(tmp_path, script))
    with pytest.raises(ResponseValidationError) as info:
        client.client.thread_read(thread_id=TURN.thread_id)
    text = str(info.value)
    assert "thread/read" in text and "/thread/turns" in text
    assert "codex 0.133.0" in text and f"codex {SCHEMA_VERSION}" in text
    assert "upgrade codex" in text and "codex-app-server-sdk==0.133.0" in text


def test_method_the_server_lacks_names_both_versions(tmp_path: Path, open_client: Any) -> None:
    lacks = {
        "error": {
            "code": -32600,
            "message": "Invalid request: unknown variant `account/usage/read`, expected one of `initialize`, `thread/start`",
        }
    }
    script = _old_server(TURN.script(extra_methods={"account/usage/read": [lacks]}))
    client = open_client(fake_config(tmp_path, script))
    with pytest.raises(MethodNotFoundError) as info:
        client.client.account_usage_read()
    text = str(info.value)
    assert "account/usage/read" in text and "codex 0.133.0" in text and f"codex {SCHEMA_VERSION}" in text
    assert "expected one of" not in text  # not the server's whole method list


def test_one_warning_for_a_different_server_version(
    tmp_path: Path, open_client: Any, flavor: str, caplog: pytest.LogCaptureFixture
) -> None:
    version = "0.120.7" if flavor == "sync" else "0.120.8"  # the warning is once per version per process
    script = _old_server(TURN.script())
    script["methods"]["initialize"][0]["result"]["userAgent"] = f"x/{version} (Linux; x86_64) t"
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        first = open_client(fake_config(tmp_path / "a", copy.deepcopy(script)))
        second = open_client(fake_config(tmp_path / "b", copy.deepcopy(script)))
    assert first.server_version == second.server_version == version
    warnings = [r.getMessage() for r in caplog.records if version in r.getMessage()]
    assert len(warnings) == 1 and SCHEMA_VERSION in warnings[0]


def test_sending_an_unknown_variant_is_refused(tmp_path: Path, open_client: Any) -> None:
    from codex_app_server import ParamsValidationError

    client = open_client(fake_config(tmp_path, TURN.script()))
    with pytest.raises(ParamsValidationError, match="cannot send it"):
        client.client.turn_start(thread_id=TURN.thread_id, input=[{"type": "hologram", "id": "x"}])
