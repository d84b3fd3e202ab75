"""Unit tests of the hand-written runtime: _errors, _config, _transport, _rpc, _retry,
_requester's awaiting and _session's routing.

Everything runs against ``tests/support/fake_stdio_server.py`` except one
test marked ``real``, which needs the real codex binary (``$CODEX_BIN`` or
the ``openai-codex-cli-bin`` package) and is skipped without it.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import os
import pickle
import signal
import stat
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
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
    InternalRpcError,
    InvalidParamsError,
    InvalidRequestError,
    JsonRpcError,
    MethodNotFoundError,
    ParamsValidationError,
    ParseError,
    ResponseValidationError,
    RetryLimitExceededError,
    ServerBusyError,
    TransportClosedError,
    TurnFailedError,
    error_from_response,
    is_retryable_error,
)
from codex_app_server._requester import AsyncRequester
from codex_app_server._retry import async_retry_on_overload, backoff_delay, retry_on_overload
from codex_app_server._routing import Router
from codex_app_server._rpc import AbandonHandler, RpcConnection, ServerRequestContext
from codex_app_server._transports import StdioTransport

FAKE_SERVER = Path(__file__).parent / "support" / "fake_stdio_server.py"
BUSY = {"code": -32001, "message": "Server overloaded; retry later."}
POSIX = os.name == "posix"


# --------------------------------------------------------------------------
# helpers


class Inbox:
    """Collects notifications (from the reader thread) for assertions."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, object]]] = []
        self._cond = threading.Condition()

    def __call__(self, method: str, params: dict[str, object]) -> None:
        with self._cond:
            self.items.append((method, params))
            self._cond.notify_all()

    def wait_for(self, method: str, timeout: float = 5.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m, params in self.items:
                    if m == method:
                        return params
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {method} notification; got {[m for m, _ in self.items]}")
                self._cond.wait(remaining)


def _tomllib() -> types.ModuleType:
    try:
        return importlib.import_module("tomllib")
    except ImportError:  # Python 3.10
        return pytest.importorskip("tomli")  # type: ignore[no-any-return]


def fake_argv(script: Mapping[str, object]) -> list[str]:
    return [sys.executable, str(FAKE_SERVER), "--script-json", json.dumps(script)]


@pytest.fixture
def connect() -> Iterator[Callable[..., tuple[RpcConnection, StdioTransport]]]:
    opened: list[RpcConnection] = []

    def _connect(
        script: Mapping[str, object] | None = None,
        *,
        on_notification: Callable[[str, dict[str, object]], None] | None = None,
        on_server_request: Callable[[ServerRequestContext], None] | None = None,
        on_abandoned: AbandonHandler | None = None,
        request_timeout: float | None = 10.0,
        stderr_buffer_lines: int = 50,
    ) -> tuple[RpcConnection, StdioTransport]:
        transport = StdioTransport(fake_argv(script or {}), stderr_buffer_lines=stderr_buffer_lines)
        conn = RpcConnection(
            transport,
            on_notification=on_notification,
            on_server_request=on_server_request,
            on_abandoned=on_abandoned,
            request_timeout=request_timeout,
        )
        conn.start()
        opened.append(conn)
        return conn, transport

    yield _connect
    for conn in opened:
        conn.close(timeout=1.0)


def make_executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


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
        "/home/u/repo.x": {"trust_level": "trusted"},
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
    assert params == {
        "clientInfo": {"name": "codex_app_server", "title": "T", "version": __version__},
        "capabilities": {"experimentalApi": True},
    }


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


# --------------------------------------------------------------------------
# _errors


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (-32700, ParseError),
        (-32600, InvalidRequestError),
        (-32601, MethodNotFoundError),
        (-32602, InvalidParamsError),
        (-32603, InternalRpcError),
        (-32001, ServerBusyError),
        (-32000, JsonRpcError),
        (42, JsonRpcError),
    ],
)
def test_error_subclass_by_code(code: int, cls: type[JsonRpcError]) -> None:
    err = error_from_response("thread/start", {"code": code, "message": "m", "data": {"x": 1}})
    assert type(err) is cls
    assert (err.code, err.message, err.data, err.method) == (code, "m", {"x": 1}, "thread/start")
    assert "thread/start" in str(err) and str(code) in str(err)


def test_plain_overload_error_without_data_is_server_busy() -> None:
    err = error_from_response("turn/start", dict(BUSY))
    assert type(err) is ServerBusyError and err.data is None
    assert err.message == "Server overloaded; retry later."
    assert is_retryable_error(err)


@pytest.mark.parametrize(
    "data",
    [
        {"codexErrorInfo": "serverOverloaded"},
        {"codex_error_info": "server_overloaded"},
        {"codexErrorInfo": {"serverOverloaded": {}}},
        "serverOverloaded",
    ],
)
def test_overload_in_data_means_server_busy_whatever_the_code(data: object) -> None:
    err = error_from_response("m", {"code": -32603, "message": "boom", "data": data})
    assert isinstance(err, ServerBusyError) and err.code == -32603
    assert is_retryable_error(err)


def test_retry_limit_and_malformed_errors() -> None:
    err = error_from_response("m", {"code": -32001, "message": "retry limit reached; too many failed attempts"})
    assert type(err) is RetryLimitExceededError and isinstance(err, ServerBusyError)
    assert type(error_from_response("m", "not an object")) is InternalRpcError
    assert type(error_from_response("m", {"message": "no code"})) is InternalRpcError
    assert type(error_from_response("m", {"code": True, "message": "bool code"})) is InternalRpcError


def test_is_retryable_error() -> None:
    assert not is_retryable_error(InvalidParamsError(-32602, "bad"))
    assert is_retryable_error(JsonRpcError(-32000, "The server is OVERLOADED"))
    assert not is_retryable_error(ValueError("overloaded"))
    assert not is_retryable_error(TransportClosedError("gone"))


def test_error_messages_and_pickling() -> None:
    closed = TransportClosedError("codex app-server exited", returncode=-9, stderr_tail="line1\nfatal: oops")
    assert "fatal: oops" in str(closed) and "-9" in str(closed) and closed.returncode == -9
    long_tail = TransportClosedError("gone", stderr_tail="\n".join(f"l{i}" for i in range(100)))
    assert "l99" in str(long_tail) and "l79" not in str(long_tail) and "80 earlier lines" in str(long_tail)
    assert long_tail.stderr_tail.startswith("l0\n")
    for original in (closed, BinaryNotFoundError(["a: no", "b: no"]), TurnFailedError({"id": "t"}, {"message": "x"})):
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is type(original) and str(copy) == str(original)
    assert pickle.loads(pickle.dumps(closed)).stderr_tail == closed.stderr_tail
    err = error_from_response("thread/start", dict(BUSY))
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is ServerBusyError and again.method == "thread/start" and str(again) == str(err)
    validation = ResponseValidationError("model/list", {"bad": 1}, "missing data")
    assert "model/list" in str(validation) and validation.raw == {"bad": 1}
    params_error = ParamsValidationError("thread/start", "cwd: not a string")
    assert isinstance(params_error, ValueError) and "thread/start" in str(params_error)
    failed = TurnFailedError({"id": "t"}, {"message": "provider said no"})
    assert "provider said no" in str(failed) and failed.turn == {"id": "t"}


# --------------------------------------------------------------------------
# _retry


def _flaky(
    failures: int, error: Callable[[], BaseException] = lambda: ServerBusyError(-32001, "busy")
) -> tuple[Callable[[], str], list[BaseException]]:
    raised: list[BaseException] = []

    def op() -> str:
        if len(raised) < failures:
            raised.append(error())
            raise raised[-1]
        return "ok"

    return op, raised


def test_retry_backs_off_exponentially_then_succeeds() -> None:
    op, raised = _flaky(2)
    sleeps: list[float] = []
    assert retry_on_overload(op, sleep=sleeps.append, rand=lambda: 0.5) == "ok"
    assert len(raised) == 2 and sleeps == [0.25, 0.5]


def test_retry_gives_up_with_the_last_error_and_caps_the_delay() -> None:
    op, raised = _flaky(100)
    sleeps: list[float] = []
    with pytest.raises(ServerBusyError) as info:
        retry_on_overload(
            op, max_attempts=4, initial_delay_s=1.0, max_delay_s=2.0, sleep=sleeps.append, rand=lambda: 0.5
        )
    assert len(raised) == 4 and info.value is raised[-1]
    assert sleeps == [1.0, 2.0, 2.0]


def test_retry_jitter_stays_in_bounds() -> None:
    for retry_index, base in [(0, 0.25), (1, 0.5), (2, 1.0), (5, 2.0)]:
        low = backoff_delay(retry_index, rand=lambda: 0.0)
        high = backoff_delay(retry_index, rand=lambda: 1.0)
        assert low == pytest.approx(base * 0.8) and high == pytest.approx(base * 1.2)


def test_retry_does_not_retry_other_errors_and_validates_arguments() -> None:
    op, raised = _flaky(5, lambda: InvalidParamsError(-32602, "bad"))
    sleeps: list[float] = []
    with pytest.raises(InvalidParamsError):
        retry_on_overload(op, sleep=sleeps.append)
    assert len(raised) == 1 and sleeps == []
    with pytest.raises(ValueError):
        retry_on_overload(lambda: 1, max_attempts=0)
    with pytest.raises(ValueError):
        asyncio.run(async_retry_on_overload(_async_ok, max_attempts=0))
    assert retry_on_overload(lambda: 1, max_attempts=1) == 1


async def _async_ok() -> str:
    return "ok"


def test_async_retry() -> None:
    raised: list[BaseException] = []
    slept: list[float] = []

    async def op() -> str:
        await asyncio.sleep(0)
        if len(raised) < 2:
            raised.append(ServerBusyError(-32001, "busy"))
            raise raised[-1]
        return "done"

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    async def main() -> tuple[str, str]:
        a = await retry_on_overload(op, sleep=fake_sleep, rand=lambda: 0.5)
        raised.clear()
        b = await async_retry_on_overload(lambda: op(), sleep=fake_sleep, rand=lambda: 0.5)
        return a, b

    assert asyncio.run(main()) == ("done", "done")
    assert slept == [0.25, 0.5, 0.25, 0.5]

    async def always_busy() -> str:
        raise ServerBusyError(-32001, "busy")

    with pytest.raises(ServerBusyError):
        asyncio.run(async_retry_on_overload(always_busy, max_attempts=2, sleep=fake_sleep))


# --------------------------------------------------------------------------
# _rpc + _transport against the fake server


def test_request_response_and_params_omission(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    assert conn.call("thread/list", {"limit": 3}) == {
        "method": "thread/list",
        "params": {"limit": 3},
        "hasParams": True,
    }
    assert conn.call("account/logout") == {"method": "account/logout", "params": None, "hasParams": False}
    futures = [conn.request("echo", {"n": i}) for i in range(20)]
    assert [f.result(5)["params"]["n"] for f in futures] == list(range(20))  # type: ignore[index]


def test_initialize_handshake(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    inbox = Inbox()
    conn, _ = connect(on_notification=inbox)
    result = conn.initialize({"name": "t", "title": None, "version": "1"}, {"experimentalApi": False})
    assert result["userAgent"] == "fake_stdio_server/0.0.0"
    assert inbox.wait_for("fake/clientNotification") == {"method": "initialized"}


def test_error_responses_raise_the_subclass(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect(
        {
            "methods": {
                "busy": [{"error": BUSY}],
                "bad": [{"error": {"code": -32602, "message": "invalid params", "data": {"field": "x"}}}],
            }
        }
    )
    with pytest.raises(ServerBusyError) as busy:
        conn.call("busy")
    assert busy.value.method == "busy" and busy.value.data is None
    with pytest.raises(InvalidParamsError) as bad:
        conn.call("bad", {})
    assert bad.value.data == {"field": "x"} and "bad" in str(bad.value)


def test_retry_over_a_real_connection(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect(
        {"methods": {"flaky": {"sequence": [[{"error": BUSY}], [{"error": BUSY}], [{"result": {"ok": True}}]]}}}
    )
    sleeps: list[float] = []
    assert retry_on_overload(lambda: conn.call("flaky"), sleep=sleeps.append) == {"ok": True}
    assert len(sleeps) == 2


def test_unknown_response_id_is_dropped_with_a_warning(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], caplog: pytest.LogCaptureFixture
) -> None:
    conn, _ = connect(
        {
            "methods": {
                "x": [{"send": {"id": 999, "result": {}}}, {"send": {"id": "abc", "result": {}}}, {"result": {"ok": 1}}]
            }
        }
    )
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        assert conn.call("x") == {"ok": 1}
    messages = [r.getMessage() for r in caplog.records]
    assert any("unknown id 999" in m for m in messages) and any("unknown id 'abc'" in m for m in messages)
    assert conn.call("echo")["method"] == "echo"  # type: ignore[index]


def test_malformed_lines_are_skipped_and_traffic_continues(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()
    junk = [
        {"raw": "{not json"},
        {"raw": '{"id": 99, "resu'},  # an id nobody waits for (a pending one fails its call: tests/hostile)
        {"raw": "[1, 2, 3]"},
        {"raw": "\udcff\udcfe"},
        {"raw": '"just a string"'},
        {"raw": '{"method": 5}'},
        {"raw": '{"something": "else"}'},
        {"raw": ""},
        {"send": {"method": "after/junk"}},
        {"result": {"ok": True}},
    ]
    conn, _ = connect({"methods": {"junk": junk}}, on_notification=inbox)
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        assert conn.call("junk") == {"ok": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 7, warnings  # the blank line is skipped silently
    assert any("{not json" in w for w in warnings)
    assert inbox.wait_for("after/junk") == {}  # missing params -> {}
    assert conn.call("again", {"a": 1})["params"] == {"a": 1}  # type: ignore[index]


def test_server_request_answered_later_from_another_thread(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    inbox = Inbox()
    held: list[ServerRequestContext] = []
    reader_threads: list[str] = []

    def on_request(ctx: ServerRequestContext) -> None:
        reader_threads.append(threading.current_thread().name)
        held.append(ctx)  # answer later, from the test thread

    script = {
        "methods": {
            "trigger": [
                {"request": "item/commandExecution/requestApproval", "params": {"command": "ls"}, "id": 0},
                {"result": {}},
            ]
        }
    }
    conn, _ = connect(script, on_notification=inbox, on_server_request=on_request)
    conn.call("trigger")
    assert len(held) == 1
    ctx = held[0]
    assert (ctx.id, ctx.method, ctx.params) == (0, "item/commandExecution/requestApproval", {"command": "ls"})
    # The reader is not blocked while the answer is pending.
    assert conn.call("ping")["method"] == "ping"  # type: ignore[index]
    answer = threading.Thread(target=ctx.respond, args=({"decision": "accept"},))
    answer.start()
    answer.join()
    assert inbox.wait_for("fake/clientResponse") == {"id": 0, "result": {"decision": "accept"}}
    with pytest.raises(RuntimeError, match="already answered"):
        ctx.respond_error(-32603, "late")
    assert reader_threads[0].startswith("codex-app-server-stdout")


def test_server_request_handler_exception_becomes_an_error_reply(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    inbox = Inbox()

    def on_request(ctx: ServerRequestContext) -> None:
        raise ValueError("boom")

    script = {"on_start": [{"request": "item/fileChange/requestApproval", "params": {}, "id": 7}]}
    conn, _ = connect(script, on_notification=inbox, on_server_request=on_request)
    reply = inbox.wait_for("fake/clientResponse")
    assert reply["id"] == 7
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == -32603 and "boom" in error["message"]
    assert conn.call("still/works")["method"] == "still/works"  # type: ignore[index]


def test_server_request_without_handler_gets_method_not_found(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    inbox = Inbox()
    connect({"on_start": [{"request": "some/request", "id": "s-1"}]}, on_notification=inbox)
    reply = inbox.wait_for("fake/clientResponse")
    assert reply["id"] == "s-1" and reply["error"]["code"] == -32601  # type: ignore[index]


def test_callback_exceptions_do_not_kill_the_reader(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    seen: list[str] = []

    def on_notification(method: str, params: dict[str, object]) -> None:
        seen.append(method)
        raise RuntimeError("handler bug")

    conn, _ = connect({"on_start": [{"notify": "a"}, {"notify": "b"}]}, on_notification=on_notification)
    assert conn.call("x")["method"] == "x"  # type: ignore[index]
    assert seen == ["a", "b"]


def test_process_killed_mid_request_fails_fast_with_stderr_tail(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    closes: list[TransportClosedError] = []
    conn, transport = connect(
        {"methods": {"slow": [{"stderr": "thread 'main' panicked: out of cheese"}, {"kill": True}]}}
    )
    conn._on_close = closes.append  # observe the close callback
    pending = conn.request("other", None)  # answered before the kill
    pending.result(5)
    start = time.monotonic()
    with pytest.raises(TransportClosedError) as info:
        conn.call("slow", timeout=None)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0
    err = info.value
    assert "out of cheese" in str(err) and "out of cheese" in err.stderr_tail
    assert "slow" in str(err)
    if POSIX:
        assert err.returncode == -9
    assert transport.process is not None and transport.process.poll() is not None
    assert len(closes) == 1
    # Later requests fail at once too.
    with pytest.raises(TransportClosedError):
        conn.call("after", timeout=0.5)
    with pytest.raises(TransportClosedError):
        conn.notify("after")


def test_process_exit_fails_all_pending_requests(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect({"methods": {"hang": [], "die": [{"stderr": "bye"}, {"exit": 3}]}})
    hanging = [conn.request("hang") for _ in range(5)]
    with pytest.raises(TransportClosedError) as info:
        conn.call("die")
    assert info.value.returncode == 3
    for future in hanging:
        exc = future.exception(1.0)
        assert isinstance(exc, TransportClosedError) and "bye" in str(exc)


def test_close_fails_pending_and_leaves_no_child(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, transport = connect({"methods": {"hang": []}})
    future = conn.request("hang")
    proc = transport.process
    assert proc is not None and transport.is_alive
    conn.close(timeout=2.0)
    exc = future.exception(1.0)
    assert isinstance(exc, TransportClosedError) and "closed by client" in str(exc)
    assert proc.poll() == 0  # exited by itself on stdin EOF, and reaped
    assert not transport.is_alive
    conn.close()  # idempotent
    with pytest.raises(TransportClosedError):
        conn.call("x")
    with pytest.raises(TransportClosedError):
        transport.send(b"{}\n")


def test_close_from_a_callback_on_the_reader_thread(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    done = threading.Event()
    holder: list[RpcConnection] = []

    def on_notification(method: str, params: dict[str, object]) -> None:
        holder[0].close(timeout=1.0)
        done.set()

    conn, transport = connect(
        {"methods": {"bye": [{"notify": "closing"}, {"result": {}}]}}, on_notification=on_notification
    )
    holder.append(conn)
    with pytest.raises(TransportClosedError, match="closed by client"):
        conn.call("bye")
    assert done.wait(5)
    assert transport.process is not None and transport.process.poll() is not None


def test_close_escalates_to_kill_for_a_stubborn_child(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    conn, transport = connect({"exit_on_eof": False, "ignore_sigterm": True})
    conn.call("ready")
    proc = transport.process
    assert proc is not None
    start = time.monotonic()
    conn.close(timeout=0.2)
    assert time.monotonic() - start < 3.0
    assert proc.poll() is not None
    if POSIX:
        assert proc.returncode == -9


@pytest.mark.skipif(not POSIX, reason="process groups are POSIX")
def test_child_runs_in_its_own_session(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    _, transport = connect()
    assert transport.pid is not None
    assert os.getsid(transport.pid) == transport.pid != os.getsid(0)


def test_forgotten_transport_is_stopped_when_collected() -> None:
    transport = StdioTransport(fake_argv({}))
    transport.start(lambda line: None, lambda exc: None)
    proc = transport.process
    assert proc is not None and proc.poll() is None
    del transport
    gc.collect()
    assert proc.poll() is not None


def test_huge_lines_in_both_directions(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect({"methods": {"big": [{"big_result": 12_000_000}]}})
    result = conn.call("big")
    assert isinstance(result, dict) and result["len"] == 12_000_000
    data = result["data"]
    assert isinstance(data, str) and len(data) == 12_000_000 and data == "x" * 12_000_000
    payload = "é" * 6_000_000  # 12 MB of UTF-8 up
    echoed = conn.call("echo", {"payload": payload})
    assert echoed["params"]["payload"] == payload  # type: ignore[index]


def test_notification_flood(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    count = 100_000
    seqs: list[object] = []

    def on_notification(method: str, params: dict[str, object]) -> None:
        seqs.append(params["seq"])

    script = {
        "methods": {
            "flood": [
                {
                    "notify": "item/agentMessage/delta",
                    "params": {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "x"},
                    "count": count,
                },
                {"result": {}},
            ]
        }
    }
    conn, _ = connect(script, on_notification=on_notification)
    start = time.monotonic()
    conn.call("flood", timeout=60)
    elapsed = time.monotonic() - start
    # Everything before the response on the stream was dispatched before it.
    assert seqs == list(range(count))
    print(f"\n{count} notifications in {elapsed:.2f}s ({count / elapsed:,.0f}/s incl. server)")


def test_concurrent_callers_get_their_own_answers(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    failures: list[str] = []

    def worker(n: int) -> None:
        for i in range(50):
            result = conn.call("echo", {"n": n, "i": i})
            if result["params"] != {"n": n, "i": i}:  # type: ignore[index]
                failures.append(f"{n}/{i}: {result}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_timeout_then_late_answer_is_dropped_quietly(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], caplog: pytest.LogCaptureFixture
) -> None:
    conn, _ = connect({"methods": {"slow": [{"sleep": 0.5}, {"result": "late"}], "never": []}})
    with pytest.raises(TimeoutError, match="never"):
        conn.call("never", timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        with pytest.raises(TimeoutError):
            conn.call("slow", timeout=0.1)
        assert conn.call("ping")["method"] == "ping"  # type: ignore[index]  # after the late answer
    assert not [r for r in caplog.records if "unknown id" in r.getMessage()]
    conn2, _ = connect({"methods": {"never": []}}, request_timeout=0.1)
    with pytest.raises(TimeoutError):
        conn2.call("never")


def test_stderr_tail_is_bounded(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, transport = connect(
        {"on_start": [{"stderr": f"\x1b[2mline {i}\x1b[0m"} for i in range(10)]}, stderr_buffer_lines=3
    )
    conn.call("sync")
    deadline = time.monotonic() + 5
    while "line 9" not in transport.stderr_tail() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert transport.stderr_tail() == "line 7\nline 8\nline 9"  # ANSI colours stripped


def test_unserializable_params_raise_locally(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    with pytest.raises(TypeError):
        conn.request("x", {"bad": object()})
    with pytest.raises(ValueError):
        conn.request("x", {"nan": float("nan")})
    assert conn.call("ok")["method"] == "ok"  # type: ignore[index]


def test_start_failure_is_a_codex_error(tmp_path: Path) -> None:
    transport = StdioTransport([str(tmp_path / "missing-binary")])
    with pytest.raises(TransportClosedError, match="could not start"):
        transport.start(lambda line: None, lambda exc: None)


def test_request_future_type(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    future = conn.request("x")
    assert isinstance(future, Future) and future.result(5)["method"] == "x"  # type: ignore[index]


# --------------------------------------------------------------------------
# abandoned requests: the caller stopped waiting (Ctrl-C, cancelled task, timeout)

# "slow" is answered only when the client sends the notification fake/answer;
# fake/received tells the test the request reached the server.
ANSWER_ON_CUE = {
    "methods": {"slow": [{"notify": "fake/received"}]},
    "on_notification": {"fake/answer": [{"send": {"id": 1, "result": {"turn": {"id": "turn-1"}}}}]},
}


class Abandoned:
    """An ``on_abandoned`` handler that records what it is handed, and wants the answers (returns True)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, Future[object]]] = []

    def __call__(self, method: str, params: object, future: Future[object]) -> bool:
        self.calls.append((method, params, future))
        return True


def connect_on_cue(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], abandoned: Abandoned
) -> tuple[RpcConnection, threading.Event]:
    received = threading.Event()

    def on_notification(method: str, params: dict[str, object]) -> None:
        if method == "fake/received":
            received.set()

    conn, _ = connect(ANSWER_ON_CUE, on_notification=on_notification, on_abandoned=abandoned)
    return conn, received


@pytest.mark.skipif(not POSIX, reason="delivers SIGINT with pthread_kill")
def test_ctrl_c_while_waiting_hands_the_request_over_and_its_late_answer_still_comes(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    abandoned = Abandoned()
    conn, received = connect_on_cue(connect, abandoned)
    main = threading.main_thread().ident
    assert main is not None

    def ctrl_c_once_received() -> None:
        if received.wait(5):
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=ctrl_c_once_received, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        conn.call("slow", {"threadId": "thread-1"})

    ((method, params, future),) = abandoned.calls
    assert (method, params) == ("slow", {"threadId": "thread-1"})
    assert not future.done()
    conn.notify("fake/answer")
    assert future.result(5) == {"turn": {"id": "turn-1"}}


@pytest.mark.parametrize("abort", ["cancel", "timeout"])
def test_an_abandoned_awaited_request_is_handed_over_uncancelled(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], abort: str
) -> None:
    abandoned = Abandoned()
    conn, received = connect_on_cue(connect, abandoned)

    async def rpc() -> RpcConnection:
        return conn

    async def main() -> None:
        requester = AsyncRequester(rpc, request_timeout=0.05 if abort == "timeout" else None)
        task = asyncio.create_task(requester._request("slow", None, dict, {}))
        await asyncio.get_running_loop().run_in_executor(None, received.wait, 5)
        if abort == "timeout":
            with pytest.raises(TimeoutError, match="slow"):
                await task
        else:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    ((method, _, future),) = abandoned.calls
    assert method == "slow" and not future.cancelled()  # asyncio.wrap_future would have cancelled it
    conn.notify("fake/answer")
    assert future.result(5) == {"turn": {"id": "turn-1"}}


def test_a_timed_out_call_hands_the_request_over(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    abandoned = Abandoned()
    conn, _ = connect({"methods": {"slow": [{"sleep": 0.3}, {"result": "late"}]}}, on_abandoned=abandoned)
    with pytest.raises(TimeoutError):
        conn.call("slow", timeout=0.05)
    ((_, _, future),) = abandoned.calls
    assert future.result(5) == "late"


def test_abandoning_an_answered_request_hands_it_over_a_failed_one_not(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    abandoned = Abandoned()
    conn, _ = connect({"methods": {"bad": [{"error": {"code": -32600, "message": "no"}}]}}, on_abandoned=abandoned)
    answered = conn.request("x")
    answered.result(5)
    conn.abandon("x", None, answered)  # e.g. Ctrl-C right after the answer came
    assert [future for _, _, future in abandoned.calls] == [answered]
    with pytest.raises(InvalidRequestError):
        conn.call("bad")  # the error answer reaches its caller: nothing was missed
    failed = conn.request("bad")
    with pytest.raises(InvalidRequestError):
        failed.result(5)
    conn.abandon("bad", None, failed)
    assert len(abandoned.calls) == 1


# --------------------------------------------------------------------------
# _session.Router: turns interrupted for callers that left


def test_an_interrupted_turn_is_interrupted_again_when_it_starts_and_only_then() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("thread-1")
    watch.bind("turn-1")
    resent: list[str] = []
    watch.mark_interrupting(lambda: resent.append("turn-1"))

    router.dispatch("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-0"}})
    assert resent == []  # another turn's start
    router.dispatch("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-1"}})
    router.dispatch("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-1"}})
    assert resent == ["turn-1"] and router.held("thread-1")
    router.dispatch("turn/completed", {"threadId": "thread-1", "turn": {"id": "turn-1"}})
    assert not router.held("thread-1")

    late = router.watch("thread-1")
    late.bind("turn-2")
    router.dispatch("turn/completed", {"threadId": "thread-1", "turn": {"id": "turn-2"}})
    late.mark_interrupting(lambda: resent.append("turn-2"))
    router.dispatch("turn/started", {"threadId": "thread-1", "turn": {"id": "turn-2"}})
    assert resent == ["turn-1"] and not router.held("thread-1")  # completed: nothing to interrupt or wait for


def test_settle_waits_for_interrupted_turns_and_abandoned_starts_of_the_thread() -> None:
    router = Router(concurrent_turns=False)
    router.settle("thread-1", 0)  # nothing held: returns at once
    watch = router.watch("thread-1")
    watch.bind("turn-1")
    watch.mark_interrupting(lambda: None)
    request = object()
    router.hold("thread-1", request)
    assert router.held("thread-1") and not router.held("thread-2")

    completed = {"threadId": "thread-1", "turn": {"id": "turn-1"}}
    threading.Timer(0.05, router.dispatch, ("turn/completed", completed)).start()
    threading.Timer(0.1, router.release_hold, ("thread-1", request)).start()
    started = time.monotonic()
    router.settle("thread-1", 5)
    assert time.monotonic() - started < 4 and not router.held("thread-1")


def test_settle_gives_up_on_a_turn_that_does_not_end_once() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("thread-1")
    watch.bind("turn-1")
    watch.mark_interrupting(lambda: None)
    router.hold("thread-1", object())
    router.settle("thread-1", 0.05)
    assert not router.held("thread-1")  # the next turn does not wait for them again


# --------------------------------------------------------------------------
# the real binary (optional)


@pytest.mark.real
def test_real_app_server_handshake_and_close(tmp_path: Path) -> None:
    try:
        binary = resolve_codex_binary(AppServerConfig())
    except BinaryNotFoundError:
        pytest.skip("no codex binary ($CODEX_BIN or openai-codex-cli-bin)")
    from tests.support.codex_env import isolated_env

    config = AppServerConfig(
        codex_bin=binary,
        inherit_env=False,
        env=isolated_env(tmp_path),
        config_overrides={"features.plugins": False},
        extra_args=("--strict-config",),
        cwd=str(tmp_path),
    )
    transport = StdioTransport(build_argv(config, binary), build_env(config, binary), config.cwd)
    conn = RpcConnection(transport, request_timeout=20)
    conn.start()
    try:
        with pytest.raises(InvalidRequestError, match="Not initialized"):
            conn.call("configRequirements/read")
        params = initialize_params(config)
        result = conn.initialize(params["clientInfo"], params["capabilities"])  # type: ignore[arg-type]
        assert "codexHome" in result
        assert isinstance(conn.call("configRequirements/read"), dict)  # no params member at all
        with pytest.raises(JsonRpcError):
            conn.call("no/such/method", {})
    finally:
        start = time.monotonic()
        conn.close(timeout=5)
        assert time.monotonic() - start < 5
    assert transport.process is not None and transport.process.poll() is not None
