"""Python names from schema names (generator.naming), the one place they are made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import ir, naming, wrappers
from generator.load import load_inputs
from generator.pipeline import build_api
from tests.generator.support import REAL_SCHEMA_DIR

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("schema_name", "snake", "pascal"),
    [
        # An acronym written with one capital is one word, wherever it sits.
        ("account/gatewayOAuth/login", "account_gateway_oauth_login", "AccountGatewayOAuthLogin"),
        ("oAuth", "oauth", "OAuth"),
        ("OAuthToken", "oauth_token", "OAuthToken"),
        ("IPv4Address", "ipv4_address", "IPv4Address"),
        # Runs of capitals end where a capitalised word starts.
        ("JSONRPCError", "jsonrpc_error", "JSONRPCError"),
        ("URLPath", "url_path", "URLPath"),
        ("XMLHttpRequest", "xml_http_request", "XMLHttpRequest"),
        ("UInt32", "uint32", "UInt32"),
        # Ordinary camel case, digits and separators.
        ("threadId", "thread_id", "ThreadId"),
        ("defaultV1", "default_v1", "DefaultV1"),
        ("x509Cert", "x509_cert", "X509Cert"),
        ("on-request", "on_request", "OnRequest"),
        ("thread/goal/set", "thread_goal_set", "ThreadGoalSet"),
        # A lone letter at the end, or alone between separators, stays a word.
        ("versionA", "version_a", "VersionA"),
        ("a_b", "a_b", "AB"),
    ],
)
def test_words_keep_acronyms_whole(schema_name: str, snake: str, pascal: str) -> None:
    assert naming.snake_case(schema_name) == snake
    assert naming.pascal_case(schema_name) == pascal


def test_no_generated_name_of_the_real_schema_has_a_one_letter_word() -> None:
    """Every method, handler, field and enum member name: no ``o_auth``-like split anywhere."""
    api = build_api(load_inputs(REAL_SCHEMA_DIR))
    names = [(m.rpc_method, m.py_name) for m in api.methods]
    names += [(r.rpc_method, r.handler_name) for r in api.server_requests]
    for d in api.definitions:
        if isinstance(d, ir.Model):
            names += [(f.wire_name, f.py_name) for f in d.fields]
        elif isinstance(d, ir.Enum):
            names += [(m.value, m.py_name) for m in d.members]
    split = [(src, py) for src, py in names if any(len(w) == 1 and w.isalpha() for w in py.split("_"))]
    assert split == []
    by_rpc = {m.rpc_method: m.py_name for m in api.methods}
    assert by_rpc["account/gatewayOAuth/login"] == "account_gateway_oauth_login"


def test_the_generated_client_names_the_gateway_oauth_methods_without_splitting_oauth() -> None:
    from codex_app_server.generated.client import METHODS, AppServerClient, AsyncAppServerClient

    for rpc in ("account/gatewayOAuth/login", "account/gatewayOAuth/read", "account/gatewayOAuth/cancel"):
        name = METHODS[rpc]
        assert "oauth" in name and "o_auth" not in name
        assert callable(getattr(AppServerClient, name)) and callable(getattr(AsyncAppServerClient, name))


def test_hints_for_unnamed_parts_compose_in_naming() -> None:
    assert naming.field_type_hint("Thread", "gitInfo") == "ThreadGitInfo"
    assert naming.item_hint("ThreadTurns") == "ThreadTurnsItem"
    assert naming.tuple_item_hint("Pair", 1) == "PairItem1"
    assert naming.variant_hint("Shape", 2) == "ShapeVariant2"
    assert naming.variant_pattern_source("{Tag}Event", "turn/completed") == "TurnCompletedEvent"
    assert naming.tagged_variant_source("agentMessage", "ThreadItem") == "AgentMessageThreadItem"


@pytest.mark.parametrize(
    ("params", "response"),
    [("ThreadStartParams", "ThreadStartResponse"), ("Params", "Response"), ("ThreadStart", None), (None, None)],
)
def test_the_params_to_response_convention(params: str | None, response: str | None) -> None:
    assert naming.response_definition(params) == response


def test_flavours_name_both_classes() -> None:
    assert [f.name("Thread") for f in naming.FLAVOURS] == ["Thread", "AsyncThread"]
    assert [f.await_ for f in naming.FLAVOURS] == ["", "await "]


def test_the_manifest_schema_offers_exactly_the_wrapper_kinds_the_generator_knows() -> None:
    schema = json.loads((REPO / "schemas" / "methods.schema.json").read_text())
    offered = schema["definitions"]["wrapper"]["properties"]["kind"]["enum"]
    assert sorted(offered) == sorted(wrappers.KINDS)


def test_int_aliases_are_reserved_class_names_and_cover_every_int_format() -> None:
    for alias in ir.INT_ALIASES:
        assert naming.class_name(alias.name) == alias.name + "_"
    assert set(ir.INT_ALIAS_BY_FORMAT) >= {"int32", "int64", "uint32", "uint64", "int", "uint"}
