"""The API diff over real codex releases reports the known changes, each correctly classified.

Known history: ``AskForApproval`` lost ``on-failure`` and ``ReasoningEffort``
turned from an enum into a free string (0.144.4); ``DynamicToolSpec`` became
a tagged union (0.144.4); ``thread/rollback`` was removed (0.158.0); many
methods and fields were added.
"""

from __future__ import annotations

import json

import pytest

from generator import ir

from .support import HISTORY, PINNED, api, changes_of, diff, run_generator


def test_fixture_manifest_schema_is_the_real_one() -> None:
    """The per-version manifests are validated with the same manifest schema as schemas/methods.toml."""
    real = (HISTORY.parents[2] / "schemas" / "methods.schema.json").read_bytes()
    for version in ("0.133.0", "0.144.4"):
        copy = HISTORY / version / "methods.schema.json"
        assert copy.read_bytes() == real, f"cp schemas/methods.schema.json {copy.parent}/"


def test_each_release_loads_with_its_own_version() -> None:
    assert [api(v).schema_version for v in ("0.133.0", "0.144.4", PINNED)] == ["0.133.0", "0.144.4", PINNED]


def test_ask_for_approval_lost_on_failure_in_0_144_4() -> None:
    old = api("0.133.0").definition("AskForApproval")
    assert isinstance(old, ir.Alias) and "on-failure" in repr(old.type)
    report = diff("0.133.0", "0.144.4")
    assert ("value removed", True) in changes_of(report, "AskForApproval")
    [change] = [c for c in report.changes if c.subject == "AskForApproval" and c.kind == "value removed"]
    assert "'on-failure'" in change.detail


def test_reasoning_effort_enum_became_free_string_in_0_144_4() -> None:
    assert isinstance(api("0.133.0").definition("ReasoningEffort"), ir.Enum)
    assert isinstance(api("0.144.4").definition("ReasoningEffort"), ir.Alias)
    assert changes_of(diff("0.133.0", "0.144.4"), "ReasoningEffort") == [("kind changed", True)]


def test_dynamic_tool_spec_became_tagged_union_in_0_144_4() -> None:
    new = api("0.144.4").definition("DynamicToolSpec")
    assert isinstance(new, ir.Alias) and isinstance(new.type, ir.UnionOf) and new.type.discriminator == "type"
    report = diff("0.133.0", "0.144.4")
    assert changes_of(report, "DynamicToolSpec") == [("kind changed", True)]
    # its variants are new, compatible classes
    for variant in new.type.members:
        assert isinstance(variant, ir.Named)
        assert changes_of(report, variant.name) == [("added", False)]


def test_thread_rollback_removal_is_breaking_from_0_144_4_to_pinned() -> None:
    report = diff("0.144.4", PINNED)
    assert changes_of(report, "AppServerClient.thread_rollback") == [("removed", True)]
    assert changes_of(report, "ThreadRollbackParams") == [("removed", True)]
    # ... and did not happen before 0.144.4
    assert not changes_of(diff("0.133.0", "0.144.4"), "AppServerClient.thread_rollback")


def test_additions_are_compatible() -> None:
    report = diff("0.144.4", PINNED)
    added_methods = [c for c in report.changes if c.area == "client methods" and c.kind == "added"]
    assert len(added_methods) >= 10 and not any(c.breaking for c in added_methods)
    assert changes_of(report, "AppServerClient.thread_attachment_add") == [("added", False)]
    optional_fields = [c for c in report.changes if c.kind == "optional added"]
    assert len(optional_fields) >= 50 and not any(c.breaking for c in optional_fields)
    # a new optional keyword of a wrapper and of the matching client method
    assert ("optional added", False) in changes_of(report, "Thread.run(parent_turn_id=)")
    assert ("optional added", False) in changes_of(report, "AppServerClient.turn_start(parent_turn_id=)")
    notifications = [c for c in report.changes if c.area == "notifications" and c.kind == "added"]
    assert notifications and not any(c.breaking for c in notifications)


def test_downgrade_turns_additions_into_breaking_removals() -> None:
    up, down = diff("0.133.0", PINNED), diff(PINNED, "0.133.0")
    added = {c.subject for c in up.changes if c.kind in ("added", "optional added", "required added")}
    removed = {c.subject for c in down.changes if c.kind == "removed"}
    assert added == removed and len(added) > 100
    assert all(c.breaking for c in down.changes if c.kind == "removed" and not c.experimental)
    # 0.133.0 has no experimental dump: what the pinned one has of the experimental API goes, never breaking
    assert any(c.experimental for c in down.changes) and not any(c.breaking for c in down.changes if c.experimental)
    # what was removed going up comes back, compatibly
    assert changes_of(down, "AppServerClient.thread_rollback") == [("added", False)]
    assert ("value added", False) in changes_of(down, "AskForApproval")
    assert len(down.breaking) > len(up.breaking)


def test_report_formats() -> None:
    report = diff("0.133.0", PINNED)
    markdown = report.to_markdown()
    counts = (
        f"{len(report.breaking)} breaking, {len(report.compatible)} compatible, {len(report.experimental)} experimental"
    )
    assert f"\n{counts}\n" in markdown and report.experimental
    assert "## Breaking" in markdown and "`AppServerClient.thread_rollback`" in markdown
    # Experimental changes have their own section, after the other two, and are never breaking
    experimental = markdown.index("\n## Experimental (")
    assert (
        experimental > markdown.index("\n## Compatible (")
        and "`AppServerClient.thread_search`" in markdown[experimental:]
    )
    assert not any(c.breaking for c in report.experimental)
    data = report.to_json()
    assert data["breaking"] == len(report.breaking) and data["old"] == "0.133.0" and data["new"] == PINNED
    assert data["experimental"] == len(report.experimental)
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("fail_flag, expected_rc", [((), 0), (("--fail-on-breaking",), 1)])
def test_cli_between_schema_dirs(fail_flag: tuple[str, ...], expected_rc: int) -> None:
    proc = run_generator("api-diff", HISTORY / "0.144.4" / "app-server", "schemas/app-server", "--json", *fail_flag)
    assert proc.returncode == expected_rc, proc.stderr
    data = json.loads(proc.stdout)
    assert data["breaking"] == len(diff("0.144.4", PINNED).breaking) > 0


def test_cli_no_breaking_change_exits_zero_even_with_fail_flag() -> None:
    proc = run_generator("api-diff", "schemas/app-server", "schemas/app-server", "--fail-on-breaking")
    assert proc.returncode == 0, proc.stderr
    assert "0 breaking, 0 compatible" in proc.stdout
