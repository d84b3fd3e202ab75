"""The API diff's classification rules, one small hand-made IR per rule.

Each case states what a user would notice: "a field I must now pass" is
breaking, "a field I may now get as None" is breaking for readers, and so on.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import generator.api_diff as api_diff
from generator import ir
from generator.api_diff import BOTH, INPUT, OUTPUT, RULES, diff_apis, is_breaking, relation

STR, INT = ir.Builtin("str"), ir.Builtin("int")


def field(name: str, t: ir.TypeExpr = STR, required: bool = True) -> ir.Field:
    return ir.Field(name, name, t, required)


def model(name: str, *fields: ir.Field) -> ir.Model:
    return ir.Model(name, tuple(fields), None, f"/definitions/{name}")


def make_api(*definitions: ir.Definition, methods: tuple[ir.Method, ...] = (), **extra: object) -> ir.Api:
    """An API whose ``ping`` method takes PingParams and returns PingResponse (roles input / output)."""
    defs = {d.name: d for d in (model("PingParams"), model("PingResponse"), *definitions)}
    params = defs["PingParams"]
    assert isinstance(params, ir.Model)
    parameters = tuple(
        ir.Parameter(f.py_name, f.py_name, f.wire_name, f.type, f.required, None, f.experimental) for f in params.fields
    )
    ping = ir.Method("ping", "ping", "PingParams", "PingResponse", parameters, None)
    surface: dict[str, object] = {"notifications": (), "server_requests": (), **extra}
    return ir.Api("1.0.0", "hash", tuple(defs.values()), (ping, *methods), **surface)  # type: ignore[arg-type]


def kinds(old: ir.Api, new: ir.Api, subject: str) -> list[tuple[str, bool]]:
    return [(c.kind, c.breaking) for c in diff_apis(old, new).changes if c.subject == subject]


def test_every_rule_is_documented_in_the_module_docstring() -> None:
    doc = api_diff.rules.__doc__ or ""
    for kind in RULES:
        assert f"\n{kind} " in doc, kind


@pytest.mark.parametrize(
    "kind, role, breaking",
    [
        ("required added", INPUT, True),
        ("required added", OUTPUT, False),
        ("became optional", OUTPUT, True),
        ("became optional", INPUT, False),
        ("type widened", INPUT, False),
        ("type widened", BOTH, True),
        ("value added", BOTH, False),
        ("removed", OUTPUT, True),
    ],
)
def test_breaking_depends_on_kind_and_role(kind: str, role: int, breaking: bool) -> None:
    assert is_breaking(kind, role) is breaking


def test_field_becoming_required_breaks_params_but_not_responses() -> None:
    old = make_api(model("PingParams", field("a", required=False)), model("PingResponse", field("b", required=False)))
    new = make_api(model("PingParams", field("a")), model("PingResponse", field("b")))
    assert kinds(old, new, "PingParams.a") == [("became required", True)]
    assert kinds(old, new, "PingResponse.b") == [("became required", False)]
    # ... and the client keyword that comes from the params field
    assert kinds(old, new, "AppServerClient.ping(a=)") == [("became required", True)]


def test_field_becoming_optional_breaks_readers_only() -> None:
    old = make_api(model("PingParams", field("a")), model("PingResponse", field("b")))
    new = make_api(
        model("PingParams", field("a", ir.Nullable(STR), False)),
        model("PingResponse", field("b", ir.Nullable(STR), False)),
    )
    # the nullability that comes with it is part of the same change, not a second one
    assert kinds(old, new, "PingParams.a") == [("became optional", False)]
    assert kinds(old, new, "PingResponse.b") == [("became optional", True)]


def test_new_fields_and_keywords() -> None:
    old = make_api(model("PingParams"), model("PingResponse"))
    new = make_api(
        model("PingParams", field("must"), field("may", required=False)),
        model("PingResponse", field("got"), field("maybe", required=False)),
    )
    assert kinds(old, new, "AppServerClient.ping(must=)") == [("required added", True)]
    assert kinds(old, new, "AppServerClient.ping(may=)") == [("optional added", False)]
    assert kinds(old, new, "PingResponse.got") == [("required added", False)]
    assert kinds(old, new, "PingResponse.maybe") == [("optional added", False)]


def test_removed_field_and_keyword_are_breaking() -> None:
    old = make_api(model("PingParams", field("a")), model("PingResponse", field("b")))
    new = make_api(model("PingParams"), model("PingResponse"))
    assert kinds(old, new, "PingParams.a") == [("removed", True)]
    assert kinds(old, new, "PingResponse.b") == [("removed", True)]
    assert kinds(old, new, "AppServerClient.ping(a=)") == [("removed", True)]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (ir.Builtin("UInt32"), ir.Builtin("Int64"), "type widened"),
        (ir.Builtin("Int64"), ir.Builtin("UInt32"), "type narrowed"),
        (ir.Builtin("UInt32"), INT, "type widened"),
        (ir.Constrained(STR, (("min_length", 1),)), STR, "type widened"),
        (STR, ir.Nullable(STR), "type widened"),
        (ir.LiteralOf(("a",)), STR, "type widened"),
        (ir.ListOf(ir.Builtin("UInt8")), ir.ListOf(ir.Builtin("UInt16")), "type widened"),
        (ir.UnionOf((STR, INT)), STR, "type narrowed"),
        (STR, INT, "type changed"),
        (ir.Named("A"), ir.Named("B"), "type changed"),
        (ir.UnionOf((STR, INT)), ir.UnionOf((INT, STR)), "same"),
    ],
)
def test_type_relations(old: ir.TypeExpr, new: ir.TypeExpr, expected: str) -> None:
    assert relation(old, new) == expected


def test_widening_is_compatible_for_params_and_breaking_for_responses() -> None:
    old = make_api(
        model("PingParams", field("n", ir.Builtin("UInt32"))), model("PingResponse", field("n", ir.Builtin("UInt32")))
    )
    new = make_api(
        model("PingParams", field("n", ir.Builtin("Int64"))), model("PingResponse", field("n", ir.Builtin("Int64")))
    )
    assert kinds(old, new, "PingParams.n") == [("type widened", False)]
    assert kinds(old, new, "PingResponse.n") == [("type widened", True)]


def test_alias_renamed_to_an_equal_alias_is_no_change() -> None:
    """``AbsolutePathBuf`` -> ``LegacyAppPathString``: both are ``str`` to the user."""
    path_a, path_b = ir.Alias("PathA", STR, None, "/a"), ir.Alias("PathB", STR, None, "/b")
    old = make_api(path_a, model("PingParams", field("cwd", ir.Named("PathA"))))
    new = make_api(path_a, path_b, model("PingParams", field("cwd", ir.Named("PathB"))))
    assert kinds(old, new, "PingParams.cwd") == []
    assert kinds(old, new, "PathB") == [("added", False)]


def test_literal_values_one_by_one_and_by_role() -> None:
    policy_old = ir.Alias("Policy", ir.UnionOf((ir.LiteralOf(("a", "b")), ir.Named("Custom"))), None, "/p")
    policy_new = ir.Alias("Policy", ir.UnionOf((ir.LiteralOf(("a", "c")), ir.Named("Custom"))), None, "/p")
    custom = model("Custom")
    old = make_api(policy_old, custom, model("PingParams", field("policy", ir.Named("Policy"))))
    new = make_api(policy_new, custom, model("PingParams", field("policy", ir.Named("Policy"))))
    assert sorted(kinds(old, new, "Policy")) == [("value added", False), ("value removed", True)]
    # the same change to a type only the server sends is compatible
    old_out = make_api(policy_old, custom, model("PingResponse", field("policy", ir.Named("Policy"))))
    new_out = make_api(policy_new, custom, model("PingResponse", field("policy", ir.Named("Policy"))))
    assert sorted(kinds(old_out, new_out, "Policy")) == [("value added", False), ("value removed", False)]


def test_enum_member_removed_is_always_breaking() -> None:
    def enum(*values: str) -> ir.Enum:
        return ir.Enum("Status", tuple(ir.EnumMember(v, v) for v in values), None, "/s")

    old = make_api(enum("ok", "gone"), model("PingResponse", field("status", ir.Named("Status"))))
    new = make_api(enum("ok", "new"), model("PingResponse", field("status", ir.Named("Status"))))
    assert kinds(old, new, "Status.gone") == [("member removed", True)]  # Status.gone no longer exists
    assert kinds(old, new, "Status.new") == [("value added", False)]


def test_enum_member_renamed_is_breaking() -> None:
    """Same wire value, another attribute name (a naming rule changed): ``Status.o_auth`` is gone."""
    old = make_api(
        ir.Enum("Status", (ir.EnumMember("o_auth", "oAuth"),), None, "/s"),
        model("PingResponse", field("status", ir.Named("Status"))),
    )
    new = make_api(
        ir.Enum("Status", (ir.EnumMember("oauth", "oAuth"),), None, "/s"),
        model("PingResponse", field("status", ir.Named("Status"))),
    )
    assert kinds(old, new, "Status.oauth") == [("member renamed", True)]


def test_tagged_union_variants() -> None:
    def items(*names: str) -> ir.Alias:
        return ir.Alias("Item", ir.UnionOf(tuple(ir.Named(n) for n in names), "type"), None, "/i")

    old = make_api(
        items("A", "B"), model("A"), model("B"), model("C"), model("PingResponse", field("item", ir.Named("Item")))
    )
    new = make_api(
        items("A", "C"), model("A"), model("B"), model("C"), model("PingResponse", field("item", ir.Named("Item")))
    )
    assert sorted(kinds(old, new, "Item")) == [("variant added", False), ("variant removed", False)]


def test_definition_kind_change_is_breaking() -> None:
    old = make_api(model("Spec", field("name")))
    new = make_api(ir.Alias("Spec", ir.UnionOf((ir.Named("FnSpec"),), "type"), None, "/s"), model("FnSpec"))
    assert kinds(old, new, "Spec") == [("kind changed", True)]
    assert kinds(old, new, "FnSpec") == [("added", False)]


def test_methods_notifications_server_requests() -> None:
    extra_method = ir.Method("thread/rollback", "thread_rollback", None, "PingResponse", (), None)
    note = ir.Notification("turn/done", "TurnDoneEvent", None, None)
    request = ir.ServerRequest("item/approve", "ItemApprove", "item_approve", None, None, None)
    old = make_api(methods=(extra_method,), notifications=(note,), server_requests=(request,))
    new = make_api(notifications=(), server_requests=())
    assert kinds(old, new, "AppServerClient.thread_rollback") == [("removed", True)]
    assert kinds(old, new, "TurnDoneEvent") == [("removed", True)]
    assert kinds(old, new, "ServerRequestHandler.item_approve") == [("removed", True)]
    assert kinds(new, old, "AppServerClient.thread_rollback") == [("added", False)]
    assert kinds(new, old, "TurnDoneEvent") == [("added", False)]
    assert kinds(new, old, "ServerRequestHandler.item_approve") == [("added", False)]


def _wrapper(
    positional: tuple[ir.Parameter, ...], keywords: tuple[ir.Parameter, ...], **kw: object
) -> ir.WrapperMethod:
    return ir.WrapperMethod("Thread", "run", "ping", "run", (), positional, keywords, "PingResponse", None, **kw)  # type: ignore[arg-type]


def test_wrapper_keywords_positionals_and_overrides() -> None:
    text = ir.Parameter("text", "text", "text", STR, True, None)
    effort = ir.Parameter("effort", "effort", "effort", STR, False, None)
    limit = ir.Parameter("limit", "limit", "limit", ir.Builtin("UInt32"), False, None)
    old = make_api(wrappers=(_wrapper((text,), (effort,)),))
    new = make_api(wrappers=(_wrapper((), (effort, limit, text)),))
    changes = diff_apis(old, new).changes
    assert [(c.kind, c.breaking) for c in changes if c.subject == "Thread.run"] == [("positional changed", True)]
    assert kinds(old, new, "Thread.run(limit=)") == [("optional added", False)]
    assert kinds(old, new, "Thread.run(text=)") == [("required added", True)]
    # a manifest type override is what the user sees; changing it is a type change
    overridden = make_api(wrappers=(_wrapper((text,), (effort,), overrides=(("effort", (("type", "bool"),)),)),))
    assert kinds(old, overridden, "Thread.run(effort=)") == [("type changed", True)]


def test_summary_line_counts() -> None:
    old = make_api(model("PingParams", field("a")), model("PingResponse"))
    new = make_api(model("PingParams"), model("PingResponse", field("b", required=False)))
    report = diff_apis(old, new)
    assert report.summary_line() == "2 breaking, 1 compatible"  # field a + keyword a removed; b added
    assert report.to_markdown().splitlines()[2] == "2 breaking, 1 compatible"


# ---------------------------------------------------------------- the experimental API


def experimental_field(name: str, required: bool = False) -> ir.Field:
    return ir.Field(name, name, STR, required, experimental=True)


def test_experimental_changes_have_their_own_section_and_never_break() -> None:
    search = ir.Method("thread/search", "thread_search", None, "PingResponse", (), None, experimental=True)
    old = make_api(model("PingParams", experimental_field("gone")), model("PingResponse"), methods=(search,))
    new = make_api(
        model("PingParams", experimental_field("must", required=True)),
        model("PingResponse", experimental_field("got")),
        replace(model("Extra"), experimental=True),
    )
    report = diff_apis(old, new)
    assert {(c.subject, c.kind) for c in report.experimental} == {
        ("AppServerClient.thread_search", "removed"),
        ("PingParams.gone", "removed"),
        ("AppServerClient.ping(gone=)", "removed"),
        ("PingParams.must", "required added"),
        ("AppServerClient.ping(must=)", "required added"),
        ("PingResponse.got", "optional added"),
        ("Extra", "added"),
    }
    assert report.breaking == () and report.compatible == ()
    assert "0 breaking, 0 compatible, 7 experimental" in report.to_markdown()
    assert "## Experimental (7)" in report.to_markdown() and report.to_json()["experimental"] == 7


def test_moving_between_stable_and_experimental_is_not_experimental() -> None:
    stable = make_api(model("PingParams", field("a", required=False)))
    moved = make_api(model("PingParams", experimental_field("a")))
    assert kinds(stable, moved, "PingParams.a") == [("became experimental", True)]
    assert kinds(stable, moved, "AppServerClient.ping(a=)") == [("became experimental", True)]
    assert kinds(moved, stable, "PingParams.a") == [("became stable", False)]
    assert not any(c.experimental for c in diff_apis(stable, moved).changes)
