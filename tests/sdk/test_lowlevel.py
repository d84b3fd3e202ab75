"""The typed low-level client (``codex.client``): app-server methods beyond the wrappers, offline.

Each call goes through ``Codex.client`` (``AppServerClient``) or
``AsyncCodex.client`` (``AsyncAppServerClient``) and returns the generated
response model; the assertions check what the server did, not just that it
answered.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import InvalidRequestError, JsonRpcError, TurnStatus
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ConfigReadResponse,
    ExperimentalFeatureListResponse,
    FsReadDirectoryResponse,
    GetAccountResponse,
    ModelListResponse,
    SkillsListResponse,
    ThreadLoadedListResponse,
    ThreadReadResponse,
)

from tests.support.fake_provider import final_text

from .conftest import requires_codex
from .support import RoutedProvider, unwrap

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]


def work_dir(codex: Any) -> Path:
    cwd = unwrap(codex).config.cwd
    assert cwd is not None
    return Path(cwd)


def test_client_is_the_typed_low_level_client(codex: Any) -> None:
    expected = "AsyncAppServerClient" if type(unwrap(codex)).__name__ == "AsyncCodex" else "AppServerClient"
    assert type(unwrap(codex.client)).__name__ == expected


def test_config_read_reflects_the_launch_overrides(codex: Any) -> None:
    response = codex.client.config_read()
    assert isinstance(response, ConfigReadResponse)
    assert response.config.model == "mock-model"
    assert response.config.model_provider == "mock"
    assert response.config.approval_policy == "never"


def test_config_value_write_then_read(codex: Any) -> None:
    written = codex.client.config_value_write(key_path="model_verbosity", value="low", merge_strategy="replace")
    assert Path(written.file_path).name == "config.toml"
    assert codex.client.config_read().config.model_verbosity == "low"


def test_account_read_without_an_account(codex: Any) -> None:
    response = codex.client.account_read()
    assert isinstance(response, GetAccountResponse)
    assert response.account is None and response.requires_openai_auth is False  # the mock provider uses an env key


def test_model_list_matches_models(codex: Any) -> None:
    response = codex.client.model_list(limit=2)
    assert isinstance(response, ModelListResponse) and len(response.data) == 2
    assert [m.id for m in response.data] == [m.id for m in codex.models().data][:2]


def test_thread_loaded_list_read_and_items(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text("Listed item."))
    thread.run("Make an item.")

    loaded = codex.client.thread_loaded_list()
    assert isinstance(loaded, ThreadLoadedListResponse) and thread.id in loaded.data

    read = codex.client.thread_read(thread_id=thread.id, include_turns=True)
    assert isinstance(read, ThreadReadResponse)
    assert [t.status for t in read.thread.turns] == [TurnStatus.completed]

    (turn,) = read.thread.turns
    entries = codex.client.thread_items_list(thread_id=thread.id).data
    assert {e.turn_id for e in entries} == {turn.id}
    assert [e.item.text for e in entries if isinstance(e.item, AgentMessageThreadItem)] == ["Listed item."]


def test_thread_goal_set_get_clear(codex: Any) -> None:
    thread = codex.thread_start()
    assert codex.client.thread_goal_set(thread_id=thread.id, objective="Ship the SDK").goal.objective == "Ship the SDK"
    got = codex.client.thread_goal_get(thread_id=thread.id).goal
    assert got is not None and got.objective == "Ship the SDK"
    assert codex.client.thread_goal_clear(thread_id=thread.id).cleared is True
    assert codex.client.thread_goal_get(thread_id=thread.id).goal is None


def test_fs_round_trip(codex: Any) -> None:
    root = work_dir(codex) / "fs-round-trip"
    client = codex.client
    client.fs_create_directory(path=str(root))
    client.fs_write_file(path=str(root / "note.txt"), data_base64=base64.b64encode(b"written by the SDK").decode())

    assert base64.b64decode(client.fs_read_file(path=str(root / "note.txt")).data_base64) == b"written by the SDK"
    assert (root / "note.txt").read_bytes() == b"written by the SDK"  # really on disk
    metadata = client.fs_get_metadata(path=str(root / "note.txt"))
    assert metadata.is_file and not metadata.is_directory
    client.fs_copy(source_path=str(root / "note.txt"), destination_path=str(root / "copy.txt"))
    listing = client.fs_read_directory(path=str(root))
    assert isinstance(listing, FsReadDirectoryResponse)
    assert sorted(e.file_name for e in listing.entries if e.is_file) == ["copy.txt", "note.txt"]
    client.fs_remove(path=str(root / "copy.txt"))
    assert not (root / "copy.txt").exists()


def test_fuzzy_file_search_finds_a_file(codex: Any) -> None:
    target = work_dir(codex) / "needle_in_haystack.txt"
    target.write_text("x")
    found = codex.client.fuzzy_file_search(query="needle", roots=[str(work_dir(codex))])
    assert "needle_in_haystack.txt" in [f.file_name for f in found.files]


def test_command_exec_runs_a_command(codex: Any) -> None:
    result = codex.client.command_exec(command=["echo", "hello from command/exec"], cwd=str(work_dir(codex)))
    assert result.exit_code == 0 and result.stdout == "hello from command/exec\n"


def test_skills_and_experimental_features_and_sections(codex: Any) -> None:
    skills = codex.client.skills_list(cwds=[str(work_dir(codex))])
    assert isinstance(skills, SkillsListResponse) and [entry.cwd for entry in skills.data] == [str(work_dir(codex))]

    features = codex.client.experimental_feature_list()
    assert isinstance(features, ExperimentalFeatureListResponse) and features.data
    assert all(feature.name for feature in features.data)

    created = codex.client.thread_section_create(name="SDK tests").section
    assert created.id in [s.id for s in codex.client.thread_section_list().data]
    codex.client.thread_section_delete(section_id=created.id)
    assert created.id not in [s.id for s in codex.client.thread_section_list().data]


def test_server_errors_become_typed_exceptions(codex: Any) -> None:
    thread = codex.thread_start()
    with pytest.raises(InvalidRequestError, match="no active turn") as no_turn:
        codex.client.turn_interrupt(thread_id=thread.id, turn_id="not-a-turn")
    assert no_turn.value.code == -32600 and no_turn.value.method == "turn/interrupt"
    with pytest.raises(JsonRpcError, match="Already initialized"):
        codex.client.initialize(client_info={"name": "again", "version": "0"})
    assert codex.client.thread_read(thread_id=thread.id).thread.id == thread.id  # the client is fine


def test_thread_delete_removes_a_stored_thread(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    thread.run("Something to store.")
    assert thread.id in [t.id for t in codex.thread_list().data]
    codex.client.thread_delete(thread_id=thread.id)
    assert thread.id not in [t.id for t in codex.thread_list().data]
    assert thread.id not in codex.client.thread_loaded_list().data
