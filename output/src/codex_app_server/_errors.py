"""The single error hierarchy of ``codex_app_server``.

Every exception the SDK raises derives from :class:`CodexError`. Where
Python has a builtin for the kind of failure, the SDK's class has it as a
second base (:class:`CodexTimeoutError` is a ``TimeoutError``,
:class:`CodexValueError` a ``ValueError`` ...), so ``except TimeoutError``
and ``except CodexError`` both catch it.
JSON-RPC error responses become a :class:`JsonRpcError` subclass chosen by
the error code (see :func:`error_from_response`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ValidationError

# Named through v2_all, which imports a model on first use: these annotations
# resolve at run time (get_type_hints) without importing the models here.
from .generated import methods, v2_all

__all__ = [
    "AuthenticationError",
    "BinaryNotFoundError",
    "CodexError",
    "CodexRuntimeError",
    "CodexTimeoutError",
    "CodexTypeError",
    "CodexValueError",
    "InternalRpcError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JsonRpcError",
    "LoginError",
    "LoginRequiredError",
    "MethodNotFoundError",
    "MissingExtraError",
    "ParamsValidationError",
    "ParseError",
    "ResponseValidationError",
    "RetryLimitExceededError",
    "ServerBusyError",
    "TransportClosedError",
    "TurnFailedError",
    "error_cause",
    "error_from_response",
    "says_no_history_yet",
    "is_retryable_error",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_OVERLOADED = -32001

_TAIL_LINES_IN_MESSAGE = 20
_INSTALL_HINT = "pip install 'codex-app-server[bin]'"


class CodexError(Exception):
    """Base class of every error raised by ``codex_app_server``."""


class CodexValueError(CodexError, ValueError):
    """A value the SDK cannot use: a bad config field, URL, option or input (also a ``ValueError``)."""


class CodexTypeError(CodexError, TypeError):
    """An argument of the wrong type, e.g. ``run(123)`` (also a ``TypeError``)."""


class CodexTimeoutError(CodexError, TimeoutError):
    """Something did not happen in time: a response, a turn's next event, a login (also a ``TimeoutError``)."""


class CodexRuntimeError(CodexError, RuntimeError):
    """The SDK was used in a way it does not allow at this point, e.g. a second consumer of
    one turn or a client that is not started (also a ``RuntimeError``)."""


class TransportClosedError(CodexError):
    """The app-server process exited or its stdout closed.

    ``returncode`` is the exit status when known (negative: killed by that
    signal) and ``stderr_tail`` the last lines the process wrote to stderr.
    """

    def __init__(
        self,
        reason: str = "codex app-server connection closed",
        *,
        returncode: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        self.reason = reason
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        message = reason
        if returncode is not None:
            message += f" (exit status {returncode})"
        lines = stderr_tail.rstrip().splitlines()
        if lines:
            shown = lines[-_TAIL_LINES_IN_MESSAGE:]
            hidden = len(lines) - len(shown)
            more = f", {hidden} earlier lines in .stderr_tail" if hidden else ""
            message += f"\n--- codex stderr (last lines{more}) ---\n" + "\n".join(shown)
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_transport_closed, (self.reason, self.returncode, self.stderr_tail))


def _rebuild_transport_closed(reason: str, returncode: int | None, stderr_tail: str) -> TransportClosedError:
    return TransportClosedError(reason, returncode=returncode, stderr_tail=stderr_tail)


class AuthenticationError(TransportClosedError):
    """A running app-server refused this client's credentials (HTTP 401).

    ``endpoint`` names the server (never a credential), ``auth_mode`` how
    this client authenticated (``"none"``, ``"capability-token"`` or
    ``"signed-bearer-token"``) and ``server_reason`` what the server said,
    e.g. ``"expired websocket jwt"``.
    """

    def __init__(self, endpoint: str, auth_mode: str, server_reason: str) -> None:
        self.endpoint = endpoint
        self.auth_mode = auth_mode
        self.server_reason = server_reason
        super().__init__(f"{endpoint}: authentication failed (auth mode {auth_mode}): {server_reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.endpoint, self.auth_mode, self.server_reason))


class MissingExtraError(CodexError, ImportError):
    """A feature needs an optional dependency that is not installed; the message has the pip command."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        self.feature = feature
        self.extra = extra
        self.missing = missing
        super().__init__(
            f"{feature} needs the optional dependency {missing!r}: pip install 'codex-app-server[{extra}]'"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.feature, self.extra, self.missing))


class BinaryNotFoundError(CodexError):
    """No usable ``codex`` executable was found.

    ``tried`` lists every source that was consulted, in order, with the
    reason each one was rejected.
    """

    def __init__(self, tried: Iterable[str]) -> None:
        self.tried: tuple[str, ...] = tuple(tried)
        lines = "\n".join(f"  - {entry}" for entry in self.tried)
        super().__init__(
            "Could not find the codex executable. Tried, in order:\n"
            f"{lines}\n"
            f"Install the bundled binary with: {_INSTALL_HINT}\n"
            "or point AppServerConfig(codex_bin=...) or the CODEX_BIN environment "
            "variable at an existing codex executable."
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.tried,))


class JsonRpcError(CodexError):
    """The server answered a request with a JSON-RPC error object."""

    def __init__(
        self,
        code: int,
        message: str,
        data: object | None = None,
        method: str | None = None,
    ) -> None:
        self.code: int = code
        self.message: str = message
        self.data: object | None = data
        self.method: str | None = method
        text = f"{method}: " if method else ""
        text += f"{message} (JSON-RPC error {code})"
        if data is not None:
            text += f" data={_preview(data)}"
        hint = _explanation(method, code, message)
        if hint:
            text += f"; {hint}"
        super().__init__(text)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self.message, self.data, self.method))


class ParseError(JsonRpcError):
    """JSON-RPC -32700: the server could not parse what it received."""


class InvalidRequestError(JsonRpcError):
    """JSON-RPC -32600: invalid request.

    codex also uses this code for unknown methods, malformed params,
    "Not initialized" and "Already initialized".
    """


class MethodNotFoundError(JsonRpcError):
    """JSON-RPC -32601: the method is not supported."""


class InvalidParamsError(JsonRpcError):
    """JSON-RPC -32602: the params were rejected."""


class InternalRpcError(JsonRpcError):
    """JSON-RPC -32603: the server failed internally."""


class ServerBusyError(JsonRpcError):
    """JSON-RPC -32001 "Server overloaded; retry later." (transient)."""


class RetryLimitExceededError(ServerBusyError):
    """An overload error saying the server's own retry budget is exhausted."""


class ParamsValidationError(CodexValueError):
    """Arguments for ``method`` do not fit its params; nothing was sent.

    The message names each bad parameter and, for an enum, its allowed
    values. ``error`` is the underlying validation error (e.g. pydantic's)
    or the text of a client-side check.
    """

    def __init__(self, method: str, error: object, summary: str | None = None) -> None:
        self.method: str = method
        self.error: object = error
        self.summary: str = summary if summary is not None else str(error)
        super().__init__(f"invalid params for {method}: {self.summary}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.method, self.error, self.summary))


class ExperimentalApiError(CodexError):
    """``method`` (or the params given for it) is part of the experimental API, which
    this client did not opt into; nothing was sent.

    ``uses`` names what is experimental: empty when the method itself is,
    else the params (``keyword (wireName)``, or a JSON pointer for a nested
    one and for a key of raw ``request()`` params). Opt in with
    ``AppServerConfig(experimental_api=True)``.
    """

    def __init__(self, method: str, uses: tuple[str, ...] = ()) -> None:
        self.method: str = method
        self.uses: tuple[str, ...] = tuple(uses)
        if uses:
            what = f"{method}: {', '.join(uses)} {'is' if len(uses) == 1 else 'are'} experimental"
        else:
            what = f"{method} is an experimental method"
        super().__init__(
            f"{what}: it needs the experimental API, which this client did not opt into; "
            "pass AppServerConfig(experimental_api=True) (nothing was sent)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.method, self.uses))


class ResponseValidationError(CodexError):
    """A response or notification does not fit the expected model."""

    def __init__(self, method: str | None, raw: object, detail: str = "") -> None:
        self.method = method
        self.raw = raw
        self.detail = detail
        what = f"response to {method}" if method else "message"
        text = f"{what} does not match the expected shape"
        if detail:
            text += f": {detail}"
        super().__init__(f"{text}; got {_preview(raw)}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.method, self.raw, self.detail))


class TurnFailedError(CodexError):
    """A turn ended with status ``failed``; ``turn`` and ``error`` are kept.

    The message names the structured cause when codex gives one:
    ``codex_error_info`` (e.g. ``internalServerError``,
    ``responseTooManyFailedAttempts``) and ``http_status`` (the provider's
    HTTP status, when codex forwards it).
    """

    def __init__(self, turn: v2_all.Turn, error: v2_all.TurnError | None, message: str | None = None) -> None:
        self.turn: v2_all.Turn = turn
        self.error: v2_all.TurnError | None = error
        self.codex_error_info: str | None
        self.http_status: int | None
        self.codex_error_info, self.http_status = error_cause(error)
        if message is None:
            turn_error = _turn_error(error)
            detail = turn_error.message if turn_error is not None else None
            cause = ", ".join(
                part
                for part in (self.codex_error_info, f"HTTP {self.http_status}" if self.http_status else None)
                if part
            )
            turn_id = turn.get("id") if isinstance(turn, Mapping) else turn.id  # a Mapping: built by hand
            message = "turn failed" if turn_id is None else f"turn {turn_id} failed"
            message += f" ({cause})" if cause else ""
            message += f": {detail}" if detail else ""
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.turn, self.error, str(self)))


class LoginRequiredError(CodexError):
    """codex's model provider needs an OpenAI login and codex has none: raised before the first turn.

    Without a login codex would not fail the turn: it retries for minutes.
    The message says how to sign in.
    """

    def __init__(self) -> None:
        super().__init__(
            "codex is not signed in, and its model provider needs an OpenAI login (account/read: no account, "
            "requires_openai_auth): call codex.login_api_key(key) (or login_chatgpt()) before the first turn, "
            "or sign in once with `codex login` (the SDK's codex: codex_app_server.codex_binary()); "
            "or configure a model provider that needs no OpenAI login"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), ())


class LoginError(CodexError):
    """A login (``Codex.login_*()``) ended without success: ``wait()`` raises it.

    ``login_id`` names the login (None for an API key login), ``error`` is
    codex's reason, and ``cancelled`` is True when this client cancelled it.
    """

    def __init__(self, login_id: str | None, error: str | None, *, cancelled: bool = False) -> None:
        self.login_id: str | None = login_id
        self.error: str | None = error
        self.cancelled: bool = cancelled
        what = "login" if login_id is None else f"login {login_id}"
        message = f"{what} was cancelled" if cancelled else f"{what} failed"
        if error:
            message += f" (codex: {error})" if cancelled else f": {error}"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_login_error, (self.login_id, self.error, self.cancelled))


def _login_error(login_id: str | None, error: str | None, cancelled: bool) -> LoginError:
    return LoginError(login_id, error, cancelled=cancelled)


def _turn_error(value: object) -> v2_all.TurnError | None:
    """``value`` as the generated TurnError: the model itself, or JSON read through it.

    The JSON is an error built by hand or a JSON-RPC error's ``data``; neither
    needs a message of its own (None when it is not shaped like a turn error).
    """
    if value is None or isinstance(value, v2_all.TurnError):
        return value
    if not isinstance(value, Mapping):
        return None
    try:
        return v2_all.TurnError.model_validate({"message": "", **value})
    except ValidationError:
        return None


def error_cause(error: v2_all.TurnError | Mapping[str, object] | None) -> tuple[str | None, int | None]:
    """``(codex error info name, HTTP status)`` of a turn error, each None when unknown.

    The codex error info is a name (``"internalServerError"``) or a variant
    named by its one key, whose detail may carry the provider's HTTP status.
    """
    turn_error = _turn_error(error)
    info = _info_json(turn_error.codex_error_info) if turn_error is not None else None
    if isinstance(info, str):
        return info, None
    if isinstance(info, Mapping) and len(info) == 1:
        ((name, detail),) = info.items()
        return str(name), _http_status(detail)
    return None, None


def _info_json(info: v2_all.CodexErrorInfo | None) -> object:
    """A codex error info as its JSON: a name, or ``{name: detail}`` (a newer server's variant is kept so)."""
    return info.model_dump(mode="json", by_alias=True, exclude_none=True) if isinstance(info, BaseModel) else info


def _http_status(detail: object) -> int | None:
    """The HTTP status in a codex error info variant's detail, read as the generated variants read it.

    Every variant that forwards a status has the same detail (one optional
    status field); a variant this schema lacks is read the same way.
    """
    try:
        return v2_all.HttpConnectionFailedCodexErrorInfoHttpConnectionFailed.model_validate(detail).http_status_code
    except ValidationError:
        return None


# codex's answer to reading the turns of a thread that has no history yet (no turn started).
_NO_HISTORY_YET = "list_turns is not supported yet"


def says_no_history_yet(exc: BaseException) -> bool:
    """True for codex's answer to reading the turns of a thread whose first turn has not started."""
    return isinstance(exc, JsonRpcError) and exc.code == METHOD_NOT_FOUND and exc.message.startswith(_NO_HISTORY_YET)


#: codex answers whose text misleads, and what they mean (checked against codex 0.163.0):
#: (the method's constant in generated.methods, code, start of the message, explanation).
#: Methods are named by their constant, looked up when an error answer comes: an SDK
#: generated from a release without one of them (thread/attachment/add is newer than
#: 0.144.4) still imports and type-checks, and that entry never matches there.
_EXPLANATIONS: tuple[tuple[str, int, str, str], ...] = (
    (
        "THREAD_READ",
        METHOD_NOT_FOUND,
        _NO_HISTORY_YET,
        "codex answers this for a thread whose history does not exist yet (no turn has started on it): "
        "its turns are empty; read without include_turns, or after the first turn",
    ),
    (
        "THREAD_ATTACHMENT_ADD",
        INVALID_PARAMS,
        "thread not found",
        "codex stores a thread, and takes attachments for it, once its first turn started",
    ),
    (
        "THREAD_RESUME",
        INVALID_REQUEST,
        "no rollout found for thread id",
        "codex has no stored history of this thread: an ephemeral thread (thread_start(ephemeral=True)) is "
        "never stored, so it cannot be resumed; any other thread can be resumed once its first turn started",
    ),
)


def _explanation(method: str | None, code: int, message: str) -> str | None:
    known_methods = vars(methods)
    for constant, known_code, start, explanation in _EXPLANATIONS:
        if method == known_methods.get(constant) and code == known_code and message.startswith(start):
            return explanation
    return None


_BY_CODE: dict[int, type[JsonRpcError]] = {
    PARSE_ERROR: ParseError,
    INVALID_REQUEST: InvalidRequestError,
    METHOD_NOT_FOUND: MethodNotFoundError,
    INVALID_PARAMS: InvalidParamsError,
    INTERNAL_ERROR: InternalRpcError,
    SERVER_OVERLOADED: ServerBusyError,
}

_OVERLOAD_TOKENS = frozenset({"serveroverloaded", "server_overloaded"})


def _is_overload_token(value: object) -> bool:
    return isinstance(value, str) and value.lower() in _OVERLOAD_TOKENS


def _data_says_overloaded(data: object) -> bool:
    """True when a JSON-RPC error's ``data`` names the ``serverOverloaded`` codex error info.

    ``data`` is free-form in the schema: the info itself (``"serverOverloaded"``),
    or an object that holds it where a turn error does
    (``{"codexErrorInfo": "serverOverloaded"}``, ``{"codexErrorInfo":
    {"serverOverloaded": ...}}``); either spelling of the name.
    """
    if _is_overload_token(data):
        return True
    turn_error = _turn_error(data)
    info = _info_json(turn_error.codex_error_info) if turn_error is not None else None
    if isinstance(info, Mapping):
        return any(_is_overload_token(name) for name in info)
    return _is_overload_token(info)


def _says_retry_limit(message: str) -> bool:
    lowered = message.lower()
    return "retry limit" in lowered or "too many failed attempts" in lowered


def error_from_response(method: str | None, error_obj: object) -> JsonRpcError:
    """Build the :class:`JsonRpcError` subclass for a JSON-RPC ``error`` member.

    The class is chosen by ``code``; an error whose ``data`` carries the
    ``serverOverloaded`` codex error info is a :class:`ServerBusyError` whatever
    its code. A malformed error object (not an object, or no integer code)
    becomes an :class:`InternalRpcError` that keeps the raw value in ``data``.
    """
    if not isinstance(error_obj, Mapping):
        return InternalRpcError(INTERNAL_ERROR, "malformed JSON-RPC error object", error_obj, method)
    code = error_obj.get("code")
    raw_message = error_obj.get("message")
    message = raw_message if isinstance(raw_message, str) else str(raw_message or "")
    data = error_obj.get("data")
    if isinstance(code, bool) or not isinstance(code, int):
        return InternalRpcError(
            INTERNAL_ERROR,
            message or "malformed JSON-RPC error object",
            dict(error_obj),
            method,
        )
    cls = _BY_CODE.get(code, JsonRpcError)
    if cls is not ServerBusyError and _data_says_overloaded(data):
        cls = ServerBusyError
    if cls is ServerBusyError and _says_retry_limit(message):
        cls = RetryLimitExceededError
    return cls(code, message, data, method)


def is_retryable_error(exc: BaseException) -> bool:
    """True when ``exc`` is a transient overload that is worth retrying.

    That is every :class:`ServerBusyError` (JSON-RPC -32001), and any other
    :class:`JsonRpcError` whose message or data says the server is overloaded.
    """
    if isinstance(exc, ServerBusyError):
        return True
    if isinstance(exc, JsonRpcError):
        return "overloaded" in exc.message.lower() or _data_says_overloaded(exc.data)
    return False


def _preview(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
