"""How the ``codex app-server`` process is found, launched and introduced.

:class:`AppServerConfig` is an immutable description of one app-server
process; :func:`codex_binary`, :meth:`AppServerConfig.server_command` and
:func:`build_env` turn it into what :class:`subprocess.Popen` needs, and
:func:`initialize_params` into the ``initialize`` handshake params (generated models).

``-c`` overrides are rendered as TOML literals by :func:`toml_value`, and
their keys must be dotted bare keys. The argv is passed to the OS without a
shell, so no key or value can ever become another argument.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ._errors import BinaryNotFoundError, CodexTypeError, CodexValueError
from ._param_checks import directory_problem, summarize
from ._version import __version__

# Named through v2_all, which imports a model on first use: the annotations
# below resolve at run time (get_type_hints) without importing it here.
from .generated import methods, v2_all

if TYPE_CHECKING:
    from .generated.v2_all import InitializeCapabilities, InitializeParams

__all__ = [
    "MINIMAL_ENV_VARS",
    "AppServerConfig",
    "build_argv",
    "build_env",
    "check_cwd",
    "checked_capabilities",
    "codex_binary",
    "initialize_capabilities",
    "initialize_params",
    "resolve_codex_binary",
    "toml_key",
    "toml_value",
]

#: What the child inherits from ``os.environ`` when ``inherit_env=False``:
#: only what a process needs to run and to find its home and temp dirs.
#: Credentials (``OPENAI_API_KEY`` …), ``CODEX_HOME`` and proxy settings are
#: *not* among them; pass them in ``AppServerConfig.env`` when wanted.
MINIMAL_ENV_VARS: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TMPDIR",
    "TEMP",
    "TMP",
    # Windows
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "PROGRAMDATA",
)

_CODEX_BIN_ENV = "CODEX_BIN"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
# A dotted override key: bare segments that never start with "-", so the
# "key=value" argument can never look like a command-line flag.
_OVERRIDE_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*\Z")
_TOML_INT_MIN = -(2**63)
_TOML_INT_MAX = 2**63 - 1
_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


@dataclass(frozen=True)
class AppServerConfig:
    """How to launch and greet one ``codex app-server --listen stdio://``.

    Attributes:
        codex_bin: The codex executable (path, or a name looked up on PATH).
            ``None`` resolves it; see :func:`codex_binary`.
        extra_args: Top-level codex arguments placed after the ``-c``
            overrides and before ``app-server``, e.g. ``("--strict-config",)``
            (turns an unknown ``-c`` key into a startup error) or
            ``("--enable", "feature")``.
        config_overrides: ``-c key=value`` overrides, in insertion order. Keys
            are dotted bare keys (``model_providers.mock.base_url``); values
            are str, bool, int, float, lists and nested mappings (rendered as
            TOML inline tables; use a nested mapping for keys that are not
            bare, e.g. ``{"projects": {"/path/x": {...}}}``).
        env: Variables set on top of the inherited environment; a value of
            ``None`` removes that variable.
        inherit_env: ``True`` (default): the child inherits all of
            ``os.environ``. ``False``: only :data:`MINIMAL_ENV_VARS`.
        cwd: Working directory of the app-server process (must exist;
            checked when the config is made and again at launch). Threads
            started without ``cwd`` work here.
        client_name / client_title / client_version: ``clientInfo`` sent in
            ``initialize`` (version defaults to this package's version).
        experimental_api: Opt into experimental methods and fields
            (``InitializeCapabilities.experimental_api``; either place opts in).
        capabilities: What else ``initialize`` declares: a generated
            ``v2_all.InitializeCapabilities`` or a mapping of its field names,
            e.g. ``{"opt_out_notification_methods": ["item/agentMessage/delta"]}``
            (this connection then never receives those notifications).
            Checked when the config is made: unknown fields, values of the
            wrong type and unknown notification methods raise ``ValueError``,
            as does opting out of a notification the SDK itself waits for
            (``turn/started``, ``turn/completed``, ``account/login/completed``).
        request_timeout: Default seconds to wait for a response; ``None``
            waits forever (requests still fail at once when the process dies).
        startup_timeout: Seconds allowed for launch and ``initialize``.
        shutdown_timeout: Seconds ``close()`` waits at each stage (stdin
            closed, then SIGTERM, then SIGKILL; on a connection: for the
            server's close frame, then for the TCP close). After a close
            frame from the server, the server has this long to end the
            connection before the client does.
        concurrent_turns: Allow more than one turn consumer per client.
        stderr_buffer_lines: How many trailing stderr lines are kept for
            error messages.
        turn_idle_timeout: Seconds a turn's ``stream()``/``run()`` waits for
            the turn's next event before it gives up: the stream ends with
            :class:`TimeoutError` (naming the turn) and the turn is
            interrupted. Time spent answering a server request (an approval
            waiting for your handler) does not count. The default, one hour,
            is far beyond any healthy pause (codex reports progress while a
            model thinks or a command runs); ``None`` waits forever.
        turn_retry_timeout: Seconds a turn may keep retrying (codex sends
            ``error`` notifications with ``will_retry``, e.g. "Reconnecting...
            2/5" while the model provider cannot be reached, each logged as a
            warning) before the SDK interrupts it and raises
            :class:`CodexTimeoutError` with codex's last message. Retrying
            ends with the turn's next other event. The default, 300 s, is well
            under ``turn_idle_timeout`` (the events keep coming, so the idle
            timeout would never fire); ``None`` lets codex retry as long as
            it wants.
        turn_buffer_limit: Events a turn being consumed may buffer ahead of a
            slow consumer; at that mark the SDK stops reading from the server
            (backpressure: the pipe fills and codex waits) until the consumer
            catches up, so memory stays bounded. Reading goes on while a
            request awaits its answer (e.g. ``steer()`` from inside the loop)
            or another turn's consumer waits for events.
        write_timeout: Seconds a write to a running app-server (a
            connection: websocket, unix socket, command pipe) may go without
            the server taking a byte; then the server counts as gone (it
            stopped reading) and the connection is dropped with a
            :class:`TransportClosedError` saying so.
    """

    codex_bin: str | os.PathLike[str] | None = None
    extra_args: tuple[str, ...] = ()
    config_overrides: Mapping[str, object] = field(default_factory=dict)
    env: Mapping[str, str | None] | None = None
    inherit_env: bool = True
    cwd: str | os.PathLike[str] | None = None
    client_name: str = "codex_app_server"
    client_title: str | None = None
    client_version: str | None = None
    experimental_api: bool = False
    capabilities: v2_all.InitializeCapabilities | Mapping[str, object] | None = None
    request_timeout: float | None = None
    startup_timeout: float = 30.0
    shutdown_timeout: float = 2.0
    concurrent_turns: bool = False
    stderr_buffer_lines: int = 200
    turn_idle_timeout: float | None = 3600.0
    turn_retry_timeout: float | None = 300.0
    turn_buffer_limit: int = 4096
    write_timeout: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.extra_args, str) or not all(isinstance(arg, str) for arg in self.extra_args):
            raise CodexTypeError("extra_args must be a sequence of str")
        object.__setattr__(self, "extra_args", tuple(self.extra_args))
        for name in ("startup_timeout", "shutdown_timeout"):
            if getattr(self, name) < 0:
                raise CodexValueError(f"{name} must be >= 0")
        if self.write_timeout <= 0:
            raise CodexValueError("write_timeout must be > 0")
        if self.request_timeout is not None and self.request_timeout <= 0:
            raise CodexValueError("request_timeout must be > 0 or None")
        if self.turn_idle_timeout is not None and self.turn_idle_timeout <= 0:
            raise CodexValueError("turn_idle_timeout must be > 0 or None")
        if self.turn_retry_timeout is not None and self.turn_retry_timeout <= 0:
            raise CodexValueError("turn_retry_timeout must be > 0 or None")
        if self.turn_buffer_limit < 1:
            raise CodexValueError("turn_buffer_limit must be >= 1")
        if self.stderr_buffer_lines < 0:
            raise CodexValueError("stderr_buffer_lines must be >= 0")
        # Fail at construction, not at launch, on a bad key, value or variable.
        _override_args(self.config_overrides)
        if self.env is not None:
            _check_env(self.env)
        check_cwd(self)
        if self.capabilities is not None:
            object.__setattr__(self, "capabilities", checked_capabilities(self.capabilities))

    def server_command(self, listen: str = "stdio://") -> list[str]:
        """The exact command line of an app-server with this config, listening on ``listen``.

        ``[codex, -c key=value ..., *extra_args, "app-server", "--listen", listen]``,
        with the codex of :func:`codex_binary`: what the SDK runs itself
        (``listen="stdio://"``), or, to start a server by hand that clients
        reach with ``Codex.connect``, ``"ws://127.0.0.1:0"`` (append
        ``--ws-auth ...`` flags) or ``"unix://PATH"``. Raises
        :class:`BinaryNotFoundError` when no codex is found.
        """
        return build_argv(self, codex_binary(self), listen=listen)


def check_cwd(config: AppServerConfig) -> None:
    """Raise :class:`ValueError` naming ``AppServerConfig.cwd`` unless it is an existing directory.

    Checked at construction and again at launch: the OS reports a missing
    working directory exactly like a missing executable, which misleads.
    """
    if config.cwd is None:
        return
    problem = directory_problem(os.fspath(config.cwd))
    if problem:
        raise CodexValueError(f"AppServerConfig.cwd={os.fspath(config.cwd)!r}: {problem}")


def toml_key(key: str) -> str:
    """A TOML key: bare when possible, else a quoted basic string."""
    if not isinstance(key, str):
        raise CodexTypeError(f"TOML keys must be str, got {type(key).__name__}")
    return key if _BARE_KEY.match(key) else _toml_string(key)


def toml_value(obj: object) -> str:
    """Render ``obj`` as a TOML value literal (one line).

    str -> basic string (quotes, backslashes and control characters
    escaped), bool, int (64-bit), float (incl. ``inf``/``nan``), list/tuple
    -> array, mapping -> inline table. ``None`` and other types raise
    :class:`TypeError` (TOML has no null).
    """
    if isinstance(obj, str):
        return _toml_string(obj)
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        if not _TOML_INT_MIN <= obj <= _TOML_INT_MAX:
            raise CodexValueError(f"integer {obj} does not fit in TOML's 64-bit range")
        return str(obj)
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return repr(obj)
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in obj) + "]"
    if isinstance(obj, Mapping):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in obj.items())
        return "{" + items + "}" if items else "{}"
    if obj is None:
        raise CodexTypeError("TOML has no null; leave the key out instead of passing None")
    raise CodexTypeError(f"cannot render {type(obj).__name__} as a TOML value")


def _toml_string(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CodexValueError(f"string is not valid Unicode (lone surrogate): {text!r}") from exc
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, text) + '"'


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _TOML_ESCAPES.get(char) or f"\\u{ord(char):04X}"


def _check_override_key(key: object) -> str:
    if not isinstance(key, str):
        raise CodexTypeError(f"config override keys must be str, got {key!r}")
    if not all(_OVERRIDE_KEY_SEGMENT.match(seg) for seg in key.split(".")):
        raise CodexValueError(
            f"invalid config override key {key!r}: use dotted bare keys "
            "(letters, digits, '_' and '-', not starting with '-'), e.g. "
            "'model_providers.mock.base_url'. codex splits keys on '.' and "
            "does not understand quoted keys; for other key names pass a "
            "nested mapping as the value of the parent key."
        )
    return key


def _override_args(overrides: Mapping[str, object]) -> list[str]:
    argv: list[str] = []
    for key, value in overrides.items():
        argv += ["-c", f"{_check_override_key(key)}={toml_value(value)}"]
    return argv


def _check_env(env: Mapping[str, str | None]) -> None:
    for key, value in env.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise CodexValueError(f"invalid environment variable name {key!r}")
        if value is not None and (not isinstance(value, str) or "\0" in value):
            raise CodexValueError(f"environment variable {key} must be a str without NUL")


def build_argv(config: AppServerConfig, binary: str, *, listen: str = "stdio://") -> list[str]:
    """``[binary, -c k=v ..., *extra_args, "app-server", "--listen", listen]``."""
    if not isinstance(listen, str) or not listen or listen.startswith("-"):
        raise CodexValueError(f"listen must be a URL such as 'stdio://' or 'ws://127.0.0.1:0', got {listen!r}")
    return [
        binary,
        *_override_args(config.config_overrides),
        *config.extra_args,
        "app-server",
        "--listen",
        listen,
    ]


def build_env(config: AppServerConfig, binary: str | None = None) -> dict[str, str]:
    """The environment of the child process.

    Starts from all of ``os.environ`` (``inherit_env=True``) or from only
    :data:`MINIMAL_ENV_VARS`, then applies ``config.env`` (``None`` values
    delete). When ``binary`` is the executable bundled by ``codex_cli_bin``,
    that package's helper directory (``rg``) is put first on ``PATH``, as the
    official launcher does.
    """
    if config.inherit_env:
        env = dict(os.environ)
    else:
        env = {k: os.environ[k] for k in MINIMAL_ENV_VARS if k in os.environ}
    for key, value in (config.env or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    helper_dir = _bundled_path_dir(binary) if binary else None
    if helper_dir:
        path = env.get("PATH", "")
        if helper_dir not in path.split(os.pathsep):
            env["PATH"] = helper_dir + (os.pathsep + path if path else "")
    return env


def initialize_params(config: AppServerConfig) -> InitializeParams:
    """The ``initialize`` params for ``config``: who the client is and what it can do.

    Built with the generated models, so a schema change to the handshake
    shows up here in ``mypy``. Only what is set here is sent.
    """
    version = config.client_version
    if version is None:
        version = __version__
    client_info = v2_all.ClientInfo(name=config.client_name, title=config.client_title, version=version)
    return v2_all.InitializeParams(client_info=client_info, capabilities=initialize_capabilities(config))


def initialize_capabilities(config: AppServerConfig) -> InitializeCapabilities:
    """The capabilities ``config`` declares in ``initialize``: ``capabilities`` plus ``experimental_api``."""
    given = config.capabilities
    fields: dict[str, object] = {}
    if isinstance(given, v2_all.InitializeCapabilities):  # always so once the config is made (__post_init__)
        fields = {name: getattr(given, name) for name in given.model_fields_set}
    fields["experimental_api"] = config.experimental_api or bool(fields.get("experimental_api"))
    return v2_all.InitializeCapabilities.model_validate(fields)


def _needed_notifications() -> Mapping[str, str]:
    """Notifications the SDK itself waits for: opting out of one would leave it waiting.

    Read when a config is checked, never at import: a schema without them still imports the SDK.
    """
    return {
        methods.TURN_STARTED: "interrupt() and steer() wait for it",
        methods.TURN_COMPLETED: "every turn's stream ends with it",
        methods.ACCOUNT_LOGIN_COMPLETED: "a login's wait() waits for it",
    }


def checked_capabilities(value: object) -> InitializeCapabilities:
    """``AppServerConfig.capabilities`` as the generated model; ``ValueError`` naming what is wrong.

    A mapping takes the model's field names (or wire names); unlike what the
    SDK reads from a server, unknown keys are refused: a typo would
    otherwise be sent and ignored.
    """
    from pydantic import ValidationError

    model = v2_all.InitializeCapabilities
    where = "AppServerConfig.capabilities"
    if isinstance(value, model):
        fields = {name: getattr(value, name) for name in value.model_fields_set}
        extra = sorted(value.model_extra or {})
    elif isinstance(value, Mapping):
        known = {name for name in model.model_fields} | {f.alias for f in model.model_fields.values() if f.alias}
        fields = dict(value)
        extra = sorted(str(key) for key in fields if key not in known)
    else:
        raise CodexTypeError(f"{where} must be an InitializeCapabilities or a mapping, got {type(value).__name__}")
    if extra:
        raise CodexValueError(
            f"{where}: unknown field(s) {', '.join(extra)}; known: {', '.join(sorted(model.model_fields))}"
        )
    try:
        capabilities = model.model_validate(fields)
    except ValidationError as exc:
        raise CodexValueError(f"{where}: {summarize(exc, model)}") from None
    _check_opt_outs(capabilities.opt_out_notification_methods or [], where)
    return capabilities


def _check_opt_outs(opted_out: list[str], where: str) -> None:
    import difflib

    from .generated.notifications import NOTIFICATION_EVENTS

    needed = _needed_notifications()
    for method in opted_out:
        if method in needed:
            raise CodexValueError(f"{where}: cannot opt out of {method!r}: the SDK needs it ({needed[method]})")
        if method not in NOTIFICATION_EVENTS:
            close = difflib.get_close_matches(method, list(NOTIFICATION_EVENTS), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise CodexValueError(f"{where}: opt_out_notification_methods: unknown notification {method!r}{hint}")


def codex_binary(config: AppServerConfig | None = None) -> str:
    """The absolute path of the codex executable the SDK would launch for ``config``.

    The same search as every ``Codex()`` (see :func:`resolve_codex_binary`):
    use it to run codex yourself, e.g. ``codex app-server daemon stop`` or a
    server started by hand (:meth:`AppServerConfig.server_command`). Raises
    :class:`BinaryNotFoundError` naming every place it looked.
    """
    return resolve_codex_binary(config)


def resolve_codex_binary(config: AppServerConfig | None = None) -> str:
    """Find the codex executable; returns an absolute path.

    Order: ``config.codex_bin``, then ``$CODEX_BIN``, then the binary of the
    ``codex_cli_bin`` package (``pip install 'codex-app-server[bin]'``), then
    ``codex`` on ``PATH``. An explicit ``codex_bin`` or ``CODEX_BIN`` that
    does not point at an executable is an error rather than skipped, so a
    typo never silently runs some other codex.
    """
    config = config or AppServerConfig()
    tried: list[str] = []
    search_path = (config.env or {}).get("PATH") or os.environ.get("PATH")

    if config.codex_bin is not None:
        explicit = os.fspath(config.codex_bin)
        found, why = _check_candidate(explicit, search_path)
        if found:
            return found
        raise BinaryNotFoundError([f"AppServerConfig.codex_bin={explicit!r}: {why}"])
    tried.append("AppServerConfig.codex_bin: not set")

    from_env = os.environ.get(_CODEX_BIN_ENV)
    if from_env:
        found, why = _check_candidate(from_env, search_path)
        if found:
            return found
        tried.append(f"${_CODEX_BIN_ENV}={from_env!r}: {why}")
        raise BinaryNotFoundError(tried)
    tried.append(f"${_CODEX_BIN_ENV}: not set")

    bundled, why = _bundled_binary()
    if bundled:
        return bundled
    tried.append(f"codex_cli_bin package: {why}")

    found = shutil.which("codex", path=search_path)
    if found:
        return os.path.abspath(found)
    tried.append("PATH: no 'codex' executable found")
    raise BinaryNotFoundError(tried)


def _check_candidate(candidate: str, search_path: str | None) -> tuple[str | None, str]:
    expanded = os.path.expanduser(candidate)
    has_dir = os.sep in expanded or bool(os.altsep and os.altsep in expanded)
    if not has_dir:
        found = shutil.which(expanded, path=search_path)
        return (os.path.abspath(found), "") if found else (None, "not found on PATH")
    if not os.path.isfile(expanded):
        return None, "no such file"
    if not os.access(expanded, os.X_OK):
        return None, "not executable"
    return os.path.abspath(expanded), ""


def _codex_cli_bin() -> ModuleType | None:
    """The optional ``codex_cli_bin`` package (``codex-app-server[bin]``)."""
    try:
        import codex_cli_bin  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    return codex_cli_bin  # type: ignore[no-any-return, unused-ignore]


def _bundled_binary() -> tuple[str | None, str]:
    package = _codex_cli_bin()
    if package is None:
        return None, "not installed"
    try:
        path = os.fspath(package.bundled_codex_path())
    except (OSError, AttributeError) as exc:  # FileNotFoundError: broken install
        return None, f"installed but unusable ({exc})"
    if not os.access(path, os.X_OK):
        return None, f"{path} is not executable"
    return os.path.abspath(path), ""


def _bundled_path_dir(binary: str) -> str | None:
    package = _codex_cli_bin()
    if package is None:
        return None
    try:
        package_dir = Path(package.bundled_package_dir()).resolve()
        if package_dir not in Path(binary).resolve().parents:
            return None
        helper = package.bundled_path_dir()
    except (OSError, AttributeError):
        return None
    return os.fspath(helper) if helper is not None else None
