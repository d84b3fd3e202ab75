"""The process configuration (_config): TOML rendering of overrides, argv, env, binary resolution, initialize params."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest
from codex_app_server._config import (
    AppServerConfig,
    build_argv,
    build_env,
    initialize_params,
    resolve_codex_binary,
    toml_value,
)
from codex_app_server._errors import (
    BinaryNotFoundError,
    CodexError,
)
from codex_app_server._wire import model_to_wire

from .support import _tomllib, make_executable

# --------------------------------------------------------------------------
# _config: TOML rendering and argv


NASTY_STRINGS = [
    'a" -c x=1',
    "a' -c x=1",
    "line1\nline2\r\n-c model=evil",
    "tab\there",
    "back\\slash\\",
    'quote " and \\" escaped',
    '"""triple"""',
    "unicode é 漢字 🎉 \u2028 \u00a0",
    "\x00\x01\x1b[31m\x1f\x7f",
    "",
    "--dangerously-bypass-approvals-and-sandbox",
    "$(rm -rf ~) `id` ; | &",
]


@pytest.mark.parametrize("text", NASTY_STRINGS)
def test_toml_string_round_trips_and_stays_on_one_line(text: str) -> None:
    tomllib = _tomllib()
    rendered = toml_value(text)
    assert "\n" not in rendered and "\r" not in rendered and "\x00" not in rendered
    assert rendered.startswith('"') and rendered.endswith('"')
    assert tomllib.loads(f"v = {rendered}")["v"] == text


def test_toml_values_of_every_kind_round_trip() -> None:
    tomllib = _tomllib()
    value = {
        "s": "x",
        "t": True,
        "f": False,
        "i": -(2**63),
        "big": 2**63 - 1,
        "fl": 1.5,
        "tiny": 1e-300,
        "huge": 1e300,
        "neg": -0.25,
        "list": [1, "two", [3.0], {"k": "v"}],
        "empty_list": [],
        "empty_table": {},
        "nested": {"a": {"b": {"c": 1}}},
        "projects/repo.x": {"trust_level": "trusted"},  # a key that needs quoting
        'weird "key"\n': 1,
        "unicodé": "ok",
    }
    rendered = toml_value(value)
    assert "\n" not in rendered
    assert tomllib.loads(f"v = {rendered}")["v"] == value
    special = tomllib.loads(
        f"a = {toml_value(float('inf'))}\nb = {toml_value(float('-inf'))}\nc = {toml_value(float('nan'))}"
    )
    assert special["a"] == float("inf") and special["b"] == float("-inf") and special["c"] != special["c"]
    assert toml_value(True) == "true" and toml_value(7) == "7" and toml_value((1, 2)) == "[1, 2]"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, TypeError),
        (object(), TypeError),
        (b"bytes", TypeError),
        (2**63, ValueError),
        ("\ud800", ValueError),
        ({1: "x"}, TypeError),
    ],
)
def test_toml_value_rejects_what_toml_cannot_say(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        toml_value(value)


def test_build_argv_keeps_each_override_in_one_argument() -> None:
    config = AppServerConfig(
        config_overrides={
            "model": 'a" -c x=1',
            "features.plugins": False,
            "model_providers.mock.base_url": "http://127.0.0.1:1/v1",
        },
        extra_args=("--strict-config",),
    )
    argv = build_argv(config, "/opt/codex")
    assert argv == [
        "/opt/codex",
        "-c",
        'model="a\\" -c x=1"',
        "-c",
        "features.plugins=false",
        "-c",
        'model_providers.mock.base_url="http://127.0.0.1:1/v1"',
        "--strict-config",
        "app-server",
        "--listen",
        "stdio://",
    ]


@pytest.mark.parametrize(
    "key",
    [
        "a=b",
        "a b",
        "-c",
        "--flag",
        "",
        "a..b",
        ".a",
        "a.",
        '"quoted"',
        "a.-x",
        "a\nb",
        "a\x00",
        "ключ",
        "model providers",
    ],
)
def test_override_keys_that_could_inject_are_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="invalid config override key"):
        AppServerConfig(config_overrides={key: 1})


def test_override_key_and_value_types_are_checked_at_construction() -> None:
    with pytest.raises(TypeError):
        AppServerConfig(config_overrides={5: 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        AppServerConfig(config_overrides={"model": None})
    with pytest.raises(TypeError):
        AppServerConfig(extra_args="--strict-config")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AppServerConfig(env={"A=B": "x"})
    with pytest.raises(ValueError):
        AppServerConfig(request_timeout=0)
    AppServerConfig(config_overrides={"model_providers.my-provider_2.name": "ok", "_x": 1})


def test_build_env_inherits_merges_and_removes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_UNIT_INHERITED", "1")
    monkeypatch.setenv("RT_UNIT_SECRET", "s3cret")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = build_env(AppServerConfig(env={"RT_UNIT_EXTRA": "x", "RT_UNIT_SECRET": None}))
    assert env["RT_UNIT_INHERITED"] == "1" and env["RT_UNIT_EXTRA"] == "x"
    assert "RT_UNIT_SECRET" not in env

    minimal = build_env(AppServerConfig(inherit_env=False, env={"CODEX_HOME": "/h"}))
    assert "RT_UNIT_INHERITED" not in minimal and "RT_UNIT_SECRET" not in minimal
    assert minimal["PATH"] == "/usr/bin" and minimal["CODEX_HOME"] == "/h"


def test_build_env_puts_bundled_helpers_first_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package_dir = tmp_path / "codex_cli_bin"
    binary = make_executable(package_dir / "bin" / "codex")
    helpers = package_dir / "codex-path"
    helpers.mkdir()
    fake = types.ModuleType("codex_cli_bin")
    fake.bundled_package_dir = lambda: package_dir  # type: ignore[attr-defined]
    fake.bundled_codex_path = lambda: Path(binary)  # type: ignore[attr-defined]
    fake.bundled_path_dir = lambda: helpers  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "codex_cli_bin", fake)
    monkeypatch.setenv("PATH", "/usr/bin")
    env = build_env(AppServerConfig(), binary)
    assert env["PATH"] == f"{helpers}{os.pathsep}/usr/bin"
    assert build_env(AppServerConfig(), "/usr/bin/codex")["PATH"] == "/usr/bin"


def test_initialize_params_default_version() -> None:
    from codex_app_server._version import __version__

    params = initialize_params(AppServerConfig(client_title="T", experimental_api=True))
    assert model_to_wire(params) == {
        "clientInfo": {"name": "codex_app_server", "title": "T", "version": __version__},
        "capabilities": {"experimentalApi": True},
    }


def test_capabilities_are_sent_with_experimental_api_in_initialize() -> None:
    from codex_app_server.generated.v2_all import InitializeCapabilities

    by_mapping = AppServerConfig(capabilities={"opt_out_notification_methods": ["thread/started"]})
    by_model = AppServerConfig(
        experimental_api=True,
        capabilities=InitializeCapabilities(opt_out_notification_methods=["item/agentMessage/delta"]),
    )
    by_wire_name = AppServerConfig(capabilities={"optOutNotificationMethods": [], "experimentalApi": True})
    assert model_to_wire(initialize_params(by_mapping))["capabilities"] == {
        "experimentalApi": False,
        "optOutNotificationMethods": ["thread/started"],
    }
    assert model_to_wire(initialize_params(by_model))["capabilities"] == {
        "experimentalApi": True,
        "optOutNotificationMethods": ["item/agentMessage/delta"],
    }
    assert model_to_wire(initialize_params(by_wire_name))["capabilities"] == {
        "experimentalApi": True,  # either place opts in
        "optOutNotificationMethods": [],
    }
    assert isinstance(by_mapping.capabilities, InitializeCapabilities)  # checked and kept as the model


@pytest.mark.parametrize(
    ("capabilities", "error", "message"),
    [
        ({"opt_out": ["thread/started"]}, ValueError, "unknown field(s) opt_out; known: experimental_api"),
        ({"opt_out_notification_methods": "thread/started"}, ValueError, "opt_out_notification_methods='thread/"),
        ({"request_attestation": "maybe"}, ValueError, "request_attestation='maybe'"),
        (
            {"opt_out_notification_methods": ["item/agentMessage/deltas"]},
            ValueError,
            "unknown notification 'item/agentMessage/deltas'; did you mean 'item/agentMessage/delta'",
        ),
        ({"opt_out_notification_methods": ["turn/completed"]}, ValueError, "the SDK needs it"),
        ({"opt_out_notification_methods": ["account/login/completed"]}, ValueError, "a login's wait()"),
        (["thread/started"], TypeError, "must be an InitializeCapabilities or a mapping, got list"),
    ],
)
def test_bad_capabilities_are_refused_when_the_config_is_made(
    capabilities: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        AppServerConfig(capabilities=capabilities)  # type: ignore[arg-type]
    assert str(caught.value).startswith("AppServerConfig.capabilities")
    assert message in str(caught.value)


# --------------------------------------------------------------------------
# _config: binary resolution


@pytest.fixture
def no_codex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No CODEX_BIN, no codex_cli_bin, an empty PATH dir; returns that dir."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.delenv("CODEX_BIN", raising=False)
    monkeypatch.setitem(sys.modules, "codex_cli_bin", None)  # import raises ImportError
    monkeypatch.setenv("PATH", str(empty))
    return empty


def _fake_bundle(monkeypatch: pytest.MonkeyPatch, binary: str) -> None:
    fake = types.ModuleType("codex_cli_bin")
    fake.bundled_codex_path = lambda: Path(binary)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "codex_cli_bin", fake)


def test_resolution_order(no_codex: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = make_executable(tmp_path / "explicit" / "codex")
    from_env = make_executable(tmp_path / "env" / "codex")
    bundled = make_executable(tmp_path / "bundle" / "codex")
    on_path = make_executable(no_codex / "codex")

    assert resolve_codex_binary(AppServerConfig()) == on_path
    _fake_bundle(monkeypatch, bundled)
    assert resolve_codex_binary(AppServerConfig()) == bundled
    monkeypatch.setenv("CODEX_BIN", from_env)
    assert resolve_codex_binary(AppServerConfig()) == from_env
    assert resolve_codex_binary(AppServerConfig(codex_bin=Path(explicit))) == explicit
    # A bare name is looked up on PATH.
    assert resolve_codex_binary(AppServerConfig(codex_bin="codex")) == on_path


def test_explicit_or_env_binary_that_is_missing_is_an_error(
    no_codex: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_executable(no_codex / "codex")  # would be found, but must not be used
    with pytest.raises(BinaryNotFoundError, match="no such file") as info:
        resolve_codex_binary(AppServerConfig(codex_bin=tmp_path / "nope" / "codex"))
    assert "codex_bin" in str(info.value)
    not_exec = tmp_path / "plain"
    not_exec.write_text("")
    monkeypatch.setenv("CODEX_BIN", str(not_exec))
    with pytest.raises(BinaryNotFoundError, match="not executable"):
        resolve_codex_binary(AppServerConfig())


def test_not_found_lists_every_source_and_the_install_hint(no_codex: Path) -> None:
    with pytest.raises(BinaryNotFoundError) as info:
        resolve_codex_binary(AppServerConfig())
    err = info.value
    assert len(err.tried) == 4
    message = str(err)
    for needle in ("codex_bin", "CODEX_BIN", "codex_cli_bin", "PATH", "pip install 'codex-app-server[bin]'"):
        assert needle in message
    assert isinstance(err, CodexError)


def test_codex_binary_is_public_and_is_what_the_sdk_launches(
    no_codex: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codex_app_server

    bundled = make_executable(tmp_path / "bundle" / "codex")
    _fake_bundle(monkeypatch, bundled)
    assert codex_app_server.codex_binary() == bundled
    explicit = make_executable(tmp_path / "explicit" / "codex")
    assert codex_app_server.codex_binary(AppServerConfig(codex_bin=explicit)) == explicit
    with pytest.raises(BinaryNotFoundError):
        codex_app_server.codex_binary(AppServerConfig(codex_bin=tmp_path / "nope"))


def test_server_command_is_the_launch_argv_with_another_listen_url(
    no_codex: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = make_executable(tmp_path / "bin" / "codex")
    config = AppServerConfig(
        codex_bin=binary, config_overrides={"model": "m", "features.plugins": False}, extra_args=("--strict-config",)
    )
    assert config.server_command() == build_argv(config, binary)
    assert config.server_command(listen="ws://127.0.0.1:0") == [
        binary,
        "-c",
        'model="m"',
        "-c",
        "features.plugins=false",
        "--strict-config",
        "app-server",
        "--listen",
        "ws://127.0.0.1:0",
    ]
    for bad in ("", "--ws-auth"):
        with pytest.raises(ValueError, match="listen"):
            config.server_command(listen=bad)
