"""Thread goals and attachments (Thread methods generated from the manifest, and the client methods), on the real codex."""

from __future__ import annotations

from typing import Any

from codex_app_server.generated.v2_all import ThreadAttachmentAddOutcome, ThreadGoalStatus
from codex_app_server.testing import final_text

from .conftest import requires_codex
from .support import RoutedProvider

pytestmark = requires_codex


def test_set_get_and_clear_the_thread_goal(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    assert thread.get_goal().goal is None
    goal = thread.set_goal(objective="Ship the SDK").goal
    assert goal.objective == "Ship the SDK" and goal.thread_id == thread.id
    assert goal.status == ThreadGoalStatus.active
    assert thread.get_goal().goal.objective == "Ship the SDK"
    assert thread.clear_goal().cleared is True
    assert thread.get_goal().goal is None


def test_add_list_and_remove_attachments(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text("Stored."))
    thread.run("hi")  # codex stores a thread (and takes its attachments) once a turn started
    codex.client.thread_attachment_add(
        thread_id=thread.id, attachment_type="note", identity_key="k1", payload={"text": "hi"}
    )
    (listed,) = codex.client.thread_attachment_list(thread_id=thread.id).data
    assert (listed.attachment_type, listed.identity_key, listed.payload) == ("note", "k1", {"text": "hi"})
    assert [a.identity_key for a in codex.client.iter_thread_attachment_list(thread_id=thread.id)] == ["k1"]
    codex.client.thread_attachment_remove(thread_id=thread.id, attachment_type="note", identity_key="k1")
    assert codex.client.thread_attachment_list(thread_id=thread.id).data == []


def test_thread_adds_iterates_and_removes_its_attachments(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text("Stored."))
    thread.run("hi")
    added = thread.add_attachment("note", "k1", {"text": "one"})
    assert added.outcome == ThreadAttachmentAddOutcome.created and added.attachment.payload == {"text": "one"}
    again = thread.add_attachment("note", "k1", {"text": "other"})
    assert again.outcome == ThreadAttachmentAddOutcome.existing and again.attachment.id == added.attachment.id
    thread.add_attachment("note", "k2", [1, 2])
    keys = [a.identity_key for a in list(thread.attachments(limit=1))]  # one per page: the cursor is followed
    assert sorted(keys) == ["k1", "k2"]
    thread.remove_attachment("note", "k1")
    assert [a.identity_key for a in list(thread.attachments())] == ["k2"]
