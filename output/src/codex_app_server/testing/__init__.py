"""Test your codex application offline: a fake model provider and a config that uses it.

The real ``codex app-server`` runs; only the model is fake. A
:class:`FakeProvider` is a Responses-API server on 127.0.0.1 (standard library
only, an ephemeral port) that answers each model request with the next
scripted reply, and :func:`offline_config` gives an :class:`AppServerConfig`
whose codex talks to it, with a private ``CODEX_HOME`` and ``HOME``, no API
key, no retries and nothing contacted beyond loopback::

    from codex_app_server import Codex
    from codex_app_server.testing import FakeProvider, Text, offline_config

    def test_my_app(tmp_path):
        with FakeProvider([Text("Hi!")]) as provider:
            with Codex(offline_config(provider, home=tmp_path)) as codex:
                result = codex.thread_start().run("Say hi")
        assert result.final_response == "Hi!"
        assert provider.requests[0]["model"] == "mock-model"

Replies: :class:`Text` (streamed in deltas), :class:`FunctionCall` (a call
of any tool with any arguments: by default codex's shell tool, which on a
thread started with ``approval_policy="untrusted"`` asks for approval; or a
Python function of ``thread_start(tools=...)``), :class:`HttpError` (e.g. 500 or 429), :class:`Failed`
(``response.failed``), :class:`Delay`, :class:`Hang` and :class:`Raw`. When
the queue is empty the provider answers ``default`` (a short text).
Concurrent turns ask in no fixed order: ``FakeProvider(respond=f)`` answers
each request with ``f(request)`` (a :class:`ModelRequest`: its ``prompt``,
``tool_outputs``, ``body``), e.g. ``respond=reply_by_prompt({"weather":
Text("Sunny")})``; ``None`` from ``f`` falls back to the queue.
:func:`websocket_server` runs an offline ``--listen ws://`` server with a
capability token for code that connects to a running server, and the pytest
plugin (``pytest_plugin``, loaded by pytest through the package's entry point)
gives the fixtures ``fake_provider``, ``offline_codex_config``,
``offline_codex``, ``offline_async_codex`` and ``offline_websocket_server``. This
module is imported only when you import it: ``import codex_app_server`` never
loads it.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from typing_extensions import TypedDict, Unpack  # pydantic's own dependency; typing has them from 3.11/3.12

from .._config import AppServerConfig
from .._errors import CodexTypeError
from ..generated import v2_all
from ._provider import (
    DEFAULT_TEXT,
    Delay,
    Failed,
    FakeProvider,
    FunctionCall,
    Hang,
    HttpError,
    Raw,
    RequestRecord,
    Script,
    Text,
    Usage,
    final_text,
)
from ._requests import ModelRequest, Responder, reply_by_prompt
from ._server import WebSocketServer, websocket_server

__all__ = [
    "DEFAULT_TEXT",
    "ConfigFields",
    "MOCK_API_KEY_ENV",
    "Delay",
    "FakeProvider",
    "Failed",
    "FunctionCall",
    "Hang",
    "HttpError",
    "ModelRequest",
    "Raw",
    "RequestRecord",
    "Responder",
    "Script",
    "Text",
    "Usage",
    "WebSocketServer",
    "final_text",
    "isolated_env",
    "offline_config",
    "provider_overrides",
    "reply_by_prompt",
    "websocket_server",
]

#: The variable holding the (fake) API key codex sends to the provider; codex
#: fails every turn when a provider's ``env_key`` variable is missing.
MOCK_API_KEY_ENV = "CODEX_MOCK_API_KEY"
_MOCK_API_KEY = "sk-mock"
_PROVIDER_ID = "mock"


def provider_overrides(
    base_url: str,
    *,
    model: str = "mock-model",
    approval_policy: str = "never",
    sandbox_mode: str = "read-only",
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The ``-c`` overrides that point codex at the provider at ``base_url``.

    Args:
        base_url: The provider's ``/v1`` URL (:attr:`FakeProvider.base_url`).
        model: The model name codex sends (any name works with a fake provider).
        approval_policy: codex's default ``approval_policy`` (codex 0.163
            refuses ``"untrusted"`` here: pass it to ``thread_start``).
        sandbox_mode: codex's ``sandbox_mode``.
        extra: More overrides, applied last.

    Besides the provider, it turns plugins off (else codex contacts plugin
    endpoints on the internet) and request/stream retries off (else an HTTP
    500 costs ~24 s of backoff).
    """
    overrides: dict[str, object] = {
        "model": model,
        "model_provider": _PROVIDER_ID,
        f"model_providers.{_PROVIDER_ID}.name": _PROVIDER_ID,
        f"model_providers.{_PROVIDER_ID}.base_url": base_url,
        f"model_providers.{_PROVIDER_ID}.wire_api": "responses",
        f"model_providers.{_PROVIDER_ID}.env_key": MOCK_API_KEY_ENV,
        f"model_providers.{_PROVIDER_ID}.request_max_retries": 0,
        f"model_providers.{_PROVIDER_ID}.stream_max_retries": 0,
        "approval_policy": approval_policy,
        "sandbox_mode": sandbox_mode,
        "features.plugins": False,
    }
    if extra:
        overrides.update(extra)
    return overrides


def isolated_env(home: str | os.PathLike[str]) -> dict[str, str]:
    """A minimal environment whose ``CODEX_HOME`` and ``HOME`` live under ``home``.

    Creates ``home/codex-home`` and ``home/home``. Keeps ``PATH``, locale
    and ``TMPDIR``; leaves out everything else (notably ``OPENAI_API_KEY``
    and proxy settings); sets the fake API key and ``NO_PROXY`` for loopback.
    """
    root = Path(home)
    codex_home = root / "codex-home"
    user_home = root / "home"
    codex_home.mkdir(parents=True, exist_ok=True)
    user_home.mkdir(parents=True, exist_ok=True)
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if key in os.environ}
    env["CODEX_HOME"] = str(codex_home)
    env["HOME"] = str(user_home)
    env[MOCK_API_KEY_ENV] = _MOCK_API_KEY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class ConfigFields(TypedDict, total=False):
    """The :class:`AppServerConfig` fields :func:`offline_config` passes through as given (see there)."""

    client_name: str
    client_title: str | None
    client_version: str | None
    experimental_api: bool
    capabilities: v2_all.InitializeCapabilities | Mapping[str, object] | None
    request_timeout: float | None
    startup_timeout: float
    shutdown_timeout: float
    concurrent_turns: bool
    stderr_buffer_lines: int
    turn_idle_timeout: float | None
    turn_retry_timeout: float | None
    turn_buffer_limit: int
    write_timeout: float


def offline_config(
    provider: FakeProvider,
    *,
    home: str | os.PathLike[str],
    model: str = "mock-model",
    approval_policy: str = "never",
    sandbox_mode: str = "read-only",
    config_overrides: Mapping[str, object] | None = None,
    codex_bin: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str | None] | None = None,
    inherit_env: bool = False,
    **fields: Unpack[ConfigFields],
) -> AppServerConfig:
    """An :class:`AppServerConfig` for a real codex whose turns answer from ``provider``.

    Args:
        provider: A started :class:`FakeProvider` (``with FakeProvider() as provider``).
        home: A directory for this codex alone (e.g. pytest's ``tmp_path``):
            its ``CODEX_HOME``, ``HOME`` and default working directory
            (``home/work``) are made inside, so threads and config of one
            test never leak into another or into your own ``~/.codex``.
        model: The model name codex sends to the provider.
        approval_policy: codex's default ``approval_policy``. To see
            command approvals pass ``approval_policy="untrusted"`` to
            ``thread_start`` (codex 0.163 refuses it as a default).
        sandbox_mode: codex's default ``sandbox_mode``.
        config_overrides: More ``-c`` overrides, applied last.
        codex_bin: The codex executable; ``None`` resolves it as usual
            (``$CODEX_BIN``, the ``[bin]`` extra, ``PATH``).
        cwd: The app-server's working directory (default ``home/work``).
        extra_args: More codex arguments, after ``--strict-config``.
        env: Variables set on top of :func:`isolated_env` (``None`` removes one).
        inherit_env: Also inherit this process's environment (under
            :func:`isolated_env`); by default the child gets nothing else.
        **fields: Any other :class:`AppServerConfig` field, as given, e.g.
            ``experimental_api=True`` (tools, experimental methods) or
            ``concurrent_turns=True``; see :class:`ConfigFields`. An unknown
            name raises :class:`CodexTypeError` naming it.

    codex runs with ``--strict-config``: a mistyped override fails at startup.
    """
    _check_fields(fields)
    root = Path(home)
    work = root / "work"
    if cwd is None:
        work.mkdir(parents=True, exist_ok=True)
    return AppServerConfig(
        codex_bin=codex_bin,
        extra_args=("--strict-config", *_strings("extra_args", extra_args)),
        config_overrides=provider_overrides(
            provider.base_url,
            model=model,
            approval_policy=approval_policy,
            sandbox_mode=sandbox_mode,
            extra=config_overrides,
        ),
        env={**isolated_env(root), **(env or {})},
        inherit_env=inherit_env,
        cwd=work if cwd is None else cwd,
        **fields,
    )


def _check_fields(fields: Mapping[str, object]) -> None:
    """Raise :class:`CodexTypeError` naming a keyword of :func:`offline_config` that is neither its parameter nor a config field."""
    for name in fields:
        if name not in ConfigFields.__optional_keys__:
            keywords = [*inspect.signature(offline_config).parameters][1:-1] + sorted(ConfigFields.__optional_keys__)
            close = difflib.get_close_matches(name, keywords, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CodexTypeError(
                f"offline_config() got an unexpected keyword argument {name!r}:"
                f" neither one of its parameters nor an AppServerConfig field{hint}"
            )


def _strings(name: str, values: Sequence[str]) -> tuple[str, ...]:
    """``values`` as a tuple, refusing a bare str (each character would become an argument)."""
    if isinstance(values, str):
        raise CodexTypeError(f"offline_config() {name} must be a sequence of str, not a str")
    return tuple(values)
