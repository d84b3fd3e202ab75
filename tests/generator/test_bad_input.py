"""Bad input (issue 3): one clear line, exit status 2, nothing written.

Each case breaks one input of an otherwise valid schema dir and runs
``python -m generator generate`` (and ``check``) over an output dir that
holds a previous good generation. Expected: exit 2; stderr is exactly
``error: FILE#/json/pointer: message`` plus at most a hint line; no
traceback; the output dir byte-for-byte unchanged.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.api_reference import client_runtime_names
from generator.load import V2_BUNDLE
from tests.generator.support import (
    GENERATED,
    parse_cli_error,
    run_generator,
    tree_digest,
    with_scaffold,
    write_schema_dir,
)

GOOD = {
    "Foo": {"type": "object", "properties": {"fooBar": {"type": "string"}, "ref": {"$ref": "#/definitions/Bar"}}},
    "Bar": {"type": "string", "enum": ["a", "b"]},
}


@dataclass(frozen=True)
class Bad:
    name: str
    file: str  # the reported file ends with this
    pointer: str
    message: str  # a fragment of the message
    definitions: dict[str, object] | None = None
    manifest: str = ""
    raw_v2: bytes | None = None
    tweak: Callable[[Path], None] | None = None  # edits the schema dir after locking


# A method whose params are a tagged union (log in by key OR on the web).
UNION_PARAMS = {
    **GOOD,
    "ClientRequest": {
        "oneOf": [
            {
                "title": "LoginRequest",
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "method": {"type": "string", "enum": ["login"]},
                    "params": {"$ref": "#/definitions/LoginParams"},
                },
                "required": ["id", "method", "params"],
            }
        ]
    },
    "LoginParams": {
        "oneOf": [
            {
                "type": "object",
                "title": "KeyLoginParams",
                "properties": {"type": {"type": "string", "enum": ["key"]}, "key": {"type": "string"}},
                "required": ["type", "key"],
            },
            {
                "type": "object",
                "title": "WebLoginParams",
                "properties": {"type": {"type": "string", "enum": ["web"]}},
                "required": ["type"],
            },
        ]
    },
    "LoginResponse": {"type": "object", "properties": {}},
}
LOGIN_WRAPPER = '[[wrappers]]\nowner = "Codex"\nname = "login"\nmethod = "login"\n'


def _drop(name: str) -> Callable[[Path], None]:
    def tweak(schema_dir: Path) -> None:
        (schema_dir.parent / name).unlink()

    return tweak


def _missing_dir(schema_dir: Path) -> None:
    shutil.rmtree(schema_dir)


CASES = [
    Bad("malformed-json", V2_BUNDLE, "", "not valid JSON (line 1, column 17)", raw_v2=b'{"definitions": }'),
    Bad(
        "unresolvable-ref",
        V2_BUNDLE,
        "/definitions/Foo/properties/ref",
        "unresolvable $ref '#/definitions/Nowhere'",
        definitions={**GOOD, "Foo": {"type": "object", "properties": {"ref": {"$ref": "#/definitions/Nowhere"}}}},
    ),
    Bad(
        "unsupported-not",
        V2_BUNDLE,
        "/definitions/Foo/properties/x/not",
        "unsupported JSON Schema keyword 'not'",
        definitions={**GOOD, "Foo": {"type": "object", "properties": {"x": {"not": {"type": "string"}}}}},
    ),
    Bad(
        "property-collision",
        V2_BUNDLE,
        "/definitions/Foo/properties/foo_bar",
        "field of Foo name 'foo_bar' for 'foo_bar' collides with 'fooBar'",
        definitions={**GOOD, "Foo": {"type": "object", "properties": {"fooBar": {}, "foo_bar": {}}}},
    ),
    Bad(
        "definition-collision",
        V2_BUNDLE,
        "/definitions/foo-bar",
        "class name 'FooBar' for 'foo-bar' collides with 'FooBar'",
        definitions={**GOOD, "FooBar": {"type": "object"}, "foo-bar": {"type": "object"}},
    ),
    Bad(
        "manifest-schema-violation",
        "methods.toml",
        "/names/types/Foo",
        "invalid manifest: 'lowercase' does not match",
        manifest='[names.types]\nFoo = "lowercase"\n',
    ),
    Bad(
        "manifest-unknown-table",
        "methods.toml",
        "",
        "invalid manifest: Additional properties are not allowed ('bogus' was unexpected)",
        manifest="bogus = 1\n",
    ),
    Bad("manifest-toml-syntax", "methods.toml", "", "not valid TOML", manifest="[responses\nx = \n"),
    Bad(
        "manifest-unknown-method",
        "methods.toml",
        "/responses/nope~1gone",
        "manifest entry for method 'nope/gone', which the schema does not have",
        manifest='[responses]\n"nope/gone" = "PingResponse"\n',
    ),
    Bad(
        "manifest-unknown-wrapper-method",
        "methods.toml",
        "/wrappers/0/method",
        "calls 'nope/gone', which the schema does not have",
        manifest='[[wrappers]]\nowner = "Codex"\nname = "gone"\nmethod = "nope/gone"\n',
    ),
    Bad(
        "manifest-live-turn-not-on-a-turn",
        "methods.toml",
        "/wrappers/0/kind",
        "kind 'live_turn' is for TurnHandle only",
        manifest='[[wrappers]]\nowner = "Codex"\nname = "ping"\nmethod = "ping"\nkind = "live_turn"\n',
    ),
    Bad(
        "manifest-pages-of-a-method-without-pages",
        "methods.toml",
        "/wrappers/0/kind",
        "'ping' does not page by cursor",
        manifest='[[wrappers]]\nowner = "Codex"\nname = "pings"\nmethod = "ping"\nkind = "pages"\n',
    ),
    Bad(
        "manifest-login-without-its-completion",
        "methods.toml",
        "/wrappers/0/kind",
        "waits for 'account/login/completed' carrying 'loginId', which the schema does not have",
        manifest='[[wrappers]]\nowner = "Codex"\nname = "ping"\nmethod = "ping"\nkind = "login"\n',
    ),
    Bad(
        "manifest-variant-of-plain-params",
        "methods.toml",
        "/wrappers/0/variant",
        "'ping' has no params variant 'key' (its params are not a tagged union)",
        manifest='[[wrappers]]\nowner = "Codex"\nname = "ping"\nmethod = "ping"\nvariant = "key"\n',
    ),
    Bad(
        "manifest-union-params-without-variant",
        "methods.toml",
        "/wrappers/0/method",
        "the params of 'login' are a union (LoginParams)",
        definitions=UNION_PARAMS,
        manifest=LOGIN_WRAPPER,
    ),
    Bad(
        "manifest-unknown-variant",
        "methods.toml",
        "/wrappers/0/variant",
        "'login' has no params variant 'sso' (its tags are ['key', 'web'])",
        definitions=UNION_PARAMS,
        manifest=LOGIN_WRAPPER + 'variant = "sso"\n',
    ),
    Bad(
        "manifest-nan",
        "methods.toml",
        "/server_requests/ping/default/x",
        "nan and inf are not JSON values",
        manifest="[server_requests.ping]\ndefault = { x = nan }\n",
    ),
    Bad("missing-manifest", "methods.toml", "", "method manifest is missing", tweak=_drop("methods.toml")),
    Bad("missing-lock", "schema.lock", "", "schema lock file is missing", tweak=_drop("schema.lock")),
    Bad("missing-schema-dir", "app-server", "", "schema dir does not exist", tweak=_missing_dir),
]


@pytest.fixture(scope="module")
def previous_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good generation, the state every failed run must leave untouched."""
    root = tmp_path_factory.mktemp("previous")
    schema_dir = write_schema_dir(root, GOOD)
    result = run_generator("generate", "--schema-dir", schema_dir, "--output-dir", root / "output")
    assert result.returncode == 0, result.stderr
    return root / "output"


@pytest.mark.parametrize("bad", CASES, ids=lambda b: b.name)
def test_bad_input_is_one_clear_line_and_writes_nothing(bad: Bad, previous_output: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    shutil.copytree(previous_output, output)
    schema_dir = write_schema_dir(tmp_path, bad.definitions or GOOD, manifest=bad.manifest, raw_v2=bad.raw_v2)
    if bad.tweak is not None:
        bad.tweak(schema_dir)
    before = tree_digest(output)
    for command in ("generate", "check"):
        result = run_generator(command, "--schema-dir", schema_dir, "--output-dir", output)
        assert result.returncode == 2, f"{command}: exit {result.returncode}\n{result.stdout}{result.stderr}"
        error = parse_cli_error(result.stderr)
        assert error.file.endswith(bad.file), result.stderr
        assert error.pointer == bad.pointer, result.stderr
        assert bad.message in error.message, result.stderr
        assert result.stdout == ""
    assert tree_digest(output) == before


def test_an_optional_wrapper_is_left_out_where_the_schema_lacks_its_method(tmp_path: Path) -> None:
    """``optional = true`` (a method older releases lack): generating from such a release leaves the wrapper
    out instead of stopping, and a schema that has the method gets it."""
    manifest = (
        '[[wrappers]]\nowner = "Codex"\nname = "gone"\nmethod = "nope/gone"\noptional = true\n\n'
        '[[wrappers]]\nowner = "Codex"\nname = "ping_now"\nmethod = "ping"\noptional = true\n'
    )
    schema_dir = write_schema_dir(tmp_path, GOOD, manifest=manifest)
    result = run_generator("generate", "--schema-dir", schema_dir, "--output-dir", tmp_path / "output")
    assert result.returncode == 0, result.stderr
    api = (tmp_path / "output" / "src" / "codex_app_server" / "generated" / "api.py").read_text()
    assert "def ping_now(" in api and "def gone(" not in api


def _with_method(rpc: str) -> dict[str, object]:
    """The scaffold's schema with one more client request, ``rpc`` (params and response by convention)."""
    scaffold = with_scaffold(GOOD)
    requests = scaffold["ClientRequest"]["oneOf"]  # type: ignore[index]
    variant = {
        "title": "CloseRequest",
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "method": {"type": "string", "enum": [rpc]},
            "params": {"$ref": "#/definitions/CloseParams"},
        },
        "required": ["id", "method", "params"],
    }
    return {
        **scaffold,
        "ClientRequest": {"oneOf": [*requests, variant]},
        "CloseParams": {"type": "object", "properties": {}},
        "CloseResponse": {"type": "object", "properties": {}},
    }


def test_a_method_named_like_a_hand_written_client_member_is_refused_until_renamed(tmp_path: Path) -> None:
    """A new protocol method ``close`` would generate ``AppServerClient.close`` over the runtime's own."""
    schema_dir = write_schema_dir(tmp_path / "clash", _with_method("close"))
    result = run_generator("generate", "--schema-dir", schema_dir, "--output-dir", tmp_path / "clash" / "output")
    assert result.returncode == 2, result.stderr
    error = parse_cli_error(result.stderr)
    assert error.file.endswith(V2_BUNDLE) and error.pointer == "/definitions/ClientRequest/oneOf/1", result.stderr
    assert "method name 'close' for 'close' collides with 'the hand-written SyncRequester.close'" in error.message
    assert "output/src/codex_app_server/_requester.py" in error.message
    assert error.hint == 'add `"close" = "new_name"` under [method_names] in schemas/methods.toml'

    renamed = write_schema_dir(
        tmp_path / "renamed", _with_method("close"), manifest='[method_names]\nclose = "close_it"\n'
    )
    output = tmp_path / "renamed" / "output"
    result = run_generator("generate", "--schema-dir", renamed, "--output-dir", output)
    assert result.returncode == 0, result.stderr
    client = (output / GENERATED / "client.py").read_text(encoding="utf-8")
    assert "def close_it(" in client and "def close(" not in client


def test_the_reserved_client_names_cover_the_hand_written_bases() -> None:
    """Read off the runtime's source (never imported by the generator); checked here against the classes."""
    from codex_app_server._requester import AsyncRequester, SyncRequester

    defined = {name for cls in (SyncRequester, AsyncRequester) for name in dir(cls) if not name.startswith("_")}
    reserved = client_runtime_names()
    assert defined <= set(reserved) and {"request", "notify", "close", "server_version"} <= set(reserved)
    assert reserved["start"][0] == "AsyncRequester.start"
