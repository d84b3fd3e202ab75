"""One client-side validation path: every bad argument gets one short line naming it and what it accepts."""

from __future__ import annotations

import pickle

import pytest
from codex_app_server import ParamsValidationError
from codex_app_server._requester import build_params
from codex_app_server.generated import v2_all


def rejected(**fields: object) -> str:
    with pytest.raises(ParamsValidationError) as refused:
        build_params("thread/start", v2_all.ThreadStartParams, fields)
    return str(refused.value)


def test_an_unknown_enum_string_is_refused_before_sending() -> None:
    assert rejected(sandbox="readonly") == (
        "invalid params for thread/start: sandbox='readonly': "
        "expected one of 'read-only', 'workspace-write', 'danger-full-access'"
    )


def test_a_union_with_an_enum_lists_the_allowed_strings_in_one_line() -> None:
    message = rejected(approval_policy="sometimes")
    assert message == (
        "invalid params for thread/start: approval_policy='sometimes': "
        "expected one of 'untrusted', 'on-request' or 'never' (or an object)"
    )
    assert "\n" not in message and "http" not in message


def test_an_object_for_a_union_names_what_is_wrong_inside_it() -> None:
    """Not "expected one of ... (or an object)" when an object was given: its missing fields."""
    assert rejected(approval_policy={"granular": {}}) == (
        "invalid params for thread/start: "
        "approval_policy.granular: missing required field(s) mcp_elicitations, rules, sandbox_approval"
    )
    message = rejected(approval_policy={"granular": {"mcp_elicitations": True, "rules": True, "sandbox_approval": 3}})
    assert "approval_policy.granular.sandbox_approval=3: Input should be a valid boolean" in message


def test_other_bad_values_and_missing_fields_name_the_parameter() -> None:
    assert rejected(ephemeral="x").endswith("ephemeral='x': Input should be a valid boolean, unable to interpret input")
    with pytest.raises(ParamsValidationError, match="turn/start: input: required"):
        build_params("turn/start", v2_all.TurnStartParams, {"thread_id": "t"})


def test_wire_strings_and_members_are_both_accepted() -> None:
    wire = build_params(
        "thread/start", v2_all.ThreadStartParams, {"sandbox": "read-only", "personality": v2_all.Personality.pragmatic}
    )
    assert wire == {"sandbox": "read-only", "personality": "pragmatic"}


def test_the_error_pickles_with_its_message() -> None:
    with pytest.raises(ParamsValidationError) as refused:
        build_params("thread/start", v2_all.ThreadStartParams, {"sandbox": "readonly"})
    copy = pickle.loads(pickle.dumps(refused.value))
    assert str(copy) == str(refused.value) and copy.method == "thread/start"
