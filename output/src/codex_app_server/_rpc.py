"""A thread-safe JSON-RPC 2.0 client over a :class:`~._transports.Transport`.

codex speaks JSON-RPC without the ``"jsonrpc"`` member, one message per
line. Messages are told apart by which members they carry:

* ``{"id", "result" | "error"}``: a response to one of our requests;
* ``{"method", "params"?}``: a notification;
* ``{"id", "method", "params"?}``: a request from the server (approvals...).

Callbacks run on the transport's reader thread, in arrival order. The
notifications callback gets them in runs (those between two other
messages of one read of the wire) and may block on purpose (backpressure:
see :mod:`._routing`); the others must not (answer server requests later
through the context if needed).
Neither params nor results are ever logged: they can hold credentials.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, Final, TypeGuard

from pydantic_core import from_json

from ._errors import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    CodexRuntimeError,
    CodexTimeoutError,
    ResponseValidationError,
    TransportClosedError,
    error_from_response,
)
from ._transports import Transport

__all__ = [
    "AbandonHandler",
    "JsonObject",
    "NotificationMessage",
    "RawNotification",
    "NotificationsHandler",
    "RequestId",
    "RpcConnection",
    "ServerRequestContext",
    "ServerRequestCallback",
]

logger = logging.getLogger("codex_app_server")

JsonObject = dict[str, object]
RequestId = int | str
# A notification as parsed, whole: the reader makes its "params" a JsonObject ({} when absent or not an
# object), so a consumer validates the message as it came (no new dict per notification) and reads
# ``message["params"]`` (Any: typed JsonObject by this rule).
NotificationMessage = dict[str, Any]
RawNotification = tuple[str, NotificationMessage]  # (method, message)
NotificationsHandler = Callable[[list[RawNotification]], None]
# The callback the session gives the connection (not the public ServerRequestHandler class).
ServerRequestCallback = Callable[["ServerRequestContext"], None]
CloseCallback = Callable[[TransportClosedError], None]
# Returns True when it wants the answer (the request then stays pending).
AbandonHandler = Callable[[str, Mapping[str, object] | None, Future[object]], "bool | None"]

# The id of a response line too broken to parse: a pending call still learns why it failed.
_RESPONSE_ID = re.compile(rb'"id"\s*:\s*(\d{1,18})\s*[,}]')
_METHOD_KEY = re.compile(rb'"method"\s*:')
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_PREVIEW_CHARS = 200
# pydantic-core caches the strings it parses in a process-wide table (16,384
# entries, never emptied): with values cached, every turn's ids and timestamps
# stayed there (~225 bytes a turn, tests/soak/test_memory.py). Keys repeat on
# every line and are worth caching; values are mostly unique per turn.
_CACHED_STRINGS: Final = "keys"


def _encode_line(message: JsonObject) -> bytes:
    return _encode(message).encode("utf-8") + b"\n"


class ServerRequestContext:
    """A request the server sent us; answer it exactly once.

    ``respond`` / ``respond_error`` may be called from any thread, at any
    later time; a second answer raises :class:`RuntimeError`.
    """

    __slots__ = ("id", "method", "params", "_connection", "_lock", "_answered")

    def __init__(
        self,
        connection: RpcConnection,
        request_id: RequestId,
        method: str,
        params: JsonObject,
    ) -> None:
        self.id: RequestId = request_id
        self.method: str = method
        self.params: JsonObject = params
        self._connection = connection
        self._lock = threading.Lock()
        self._answered = False

    @property
    def answered(self) -> bool:
        return self._answered

    def respond(self, result: object) -> None:
        """Send ``result`` as the successful answer."""
        self._answer({"id": self.id, "result": result})

    def respond_error(self, code: int, message: str, data: object | None = None) -> None:
        """Send a JSON-RPC error as the answer."""
        error: JsonObject = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self._answer({"id": self.id, "error": error})

    def respond_error_soon(self, code: int, message: str) -> None:
        """Answer with a JSON-RPC error sent by the connection's sender thread: for threads that must never
        wait for the server (the reader; an event loop). Raises RuntimeError if already answered."""
        self._answer({"id": self.id, "error": {"code": code, "message": message}}, soon=True)

    def respond_soon(self, result: object) -> None:
        """:meth:`respond`, sent by the connection's sender thread (see :meth:`respond_error_soon`)."""
        self._answer({"id": self.id, "result": result}, soon=True)

    def _answer(self, message: JsonObject, *, soon: bool = False) -> None:
        line = _encode_line(message)  # a bad result raises here, still unanswered
        with self._lock:
            if self._answered:
                raise CodexRuntimeError(f"server request {self.method!r} (id {self.id!r}) was already answered")
            self._answered = True
        if soon:
            self._connection._send_line_soon(line)
        else:
            self._connection._send_line(line)

    def __repr__(self) -> str:
        return f"ServerRequestContext(id={self.id!r}, method={self.method!r})"


class RpcConnection:
    """JSON-RPC client: requests with integer ids from 1, futures, callbacks.

    Args:
        transport: An unstarted transport; :meth:`start` starts it.
        on_notifications: Called with a list of ``(method, message)``, one
            per notification, in order: the whole message, its ``params``
            made ``{}`` when absent or not an object.
        on_server_request: Called with a :class:`ServerRequestContext` for
            every server request. Without a handler the server gets -32601;
            if the handler raises before answering, -32603.
        on_close: Called once with the :class:`TransportClosedError` when the
            connection ends (process exit or :meth:`close`).
        on_abandoned: Called with ``(method, params, future)`` when a caller
            stops waiting for a request (see :meth:`abandon`); ``future``
            still gets the answer, or already has it.
        request_timeout: Default seconds :meth:`call` waits; ``None`` waits
            forever. Pending requests fail at once when the process dies.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        on_notifications: NotificationsHandler | None = None,
        on_server_request: ServerRequestCallback | None = None,
        on_close: CloseCallback | None = None,
        on_abandoned: AbandonHandler | None = None,
        request_timeout: float | None = None,
    ) -> None:
        self._transport = transport
        self._on_notifications = on_notifications
        self._on_server_request = on_server_request
        self._on_close = on_close
        self._on_abandoned = on_abandoned
        self._request_timeout = request_timeout
        self._lock = threading.Lock()
        self._next_id = 0
        self._pending: dict[int, tuple[Future[object], str]] = {}
        self._closed_error: TransportClosedError | None = None
        self._started = False
        # Sends made for threads that must not wait for the server (an event loop, the reader): one
        # thread, in order, started on first use and ended with the connection.
        self._sender: ThreadPoolExecutor | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Start the transport and the reader."""
        with self._lock:
            if self._started:
                raise CodexRuntimeError("RpcConnection.start() may be called only once")
            self._started = True
        self._transport.start(self._make_messages_handler(), self._on_transport_closed)

    def close(self, timeout: float = 2.0) -> None:
        """Fail pending requests ("closed by client") and stop the transport.

        Idempotent; waits up to ``timeout`` seconds per shutdown stage.
        """
        self._shut(TransportClosedError("closed by client"))
        self._transport.close(timeout)

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    @property
    def closed_error(self) -> TransportClosedError | None:
        """Why the connection ended, once it has."""
        return self._closed_error

    def stderr_tail(self) -> str:
        return self._transport.stderr_tail()

    def has_pending(self) -> bool:
        """True while a request of ours awaits its answer."""
        return bool(self._pending)

    def pending_count(self) -> int:
        """Requests awaiting their answer (a call that timed out without an interested handler is not one)."""
        return len(self._pending)

    # -- outgoing ------------------------------------------------------------

    def request(self, method: str, params: Mapping[str, object] | None = None) -> Future[object]:
        """Send a request; the future gets the ``result`` or the error.

        ``params=None`` leaves the member out (codex treats a missing and a
        null ``params`` alike). The future fails with a
        :class:`~._errors.JsonRpcError` subclass for an error response and
        with :class:`TransportClosedError` when the connection ends first.
        Unserializable params raise here (TypeError / ValueError).
        """
        future: Future[object] = Future()
        self._send_request(future, method, params, None)
        return future

    def request_soon(
        self, method: str, params: Mapping[str, object] | None = None, timeout: float | None = None
    ) -> Future[object]:
        """:meth:`request` without waiting for the server to take it: the connection's sender thread sends it.

        For threads that must never wait on the wire: an event loop, the
        reader. The request counts as sent at once (an abort may expect its
        answer); ``timeout`` bounds the sending, from now: the future fails
        with TimeoutError when the server did not take the request in time.
        """
        future: Future[object] = Future()
        registered = self._register(future, method, params)
        if registered is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._in_background(self._transmit, future, method, *registered, deadline, timeout)
        return future

    def _register(
        self, future: Future[object], method: str, params: Mapping[str, object] | None
    ) -> tuple[int, bytes] | None:
        """Register ``future`` under a new request id and encode the request; None (``future`` failed) if closed.

        Once registered the request counts as sent: an abort from then on
        (see :meth:`call`) must expect its answer. One that ends it before
        leaves ``future`` cancelled: there will be no answer.
        """
        with self._lock:
            closed = self._closed_error
            if closed is None:
                self._next_id += 1
                request_id = self._next_id
                self._pending[request_id] = (future, method)
        if closed is not None:
            future.set_exception(_closed_for(closed, method))
            return None
        message: JsonObject = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params if isinstance(params, dict) else dict(params)
        try:
            line = _encode_line(message)
        except BaseException:
            with self._lock:
                self._pending.pop(request_id, None)
            future.cancel()  # never sent
            raise
        return request_id, line

    def _send_request(
        self, future: Future[object], method: str, params: Mapping[str, object] | None, timeout: float | None
    ) -> None:
        """Register ``future`` and send its request within ``timeout`` seconds (see :meth:`request`)."""
        registered = self._register(future, method, params)
        if registered is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._transmit(future, method, *registered, deadline, timeout)

    def _transmit(
        self,
        future: Future[object],
        method: str,
        request_id: int,
        line: bytes,
        deadline: float | None,
        timeout: float | None,
    ) -> None:
        """Send a registered request by ``deadline``; a failure to send is the answer ``future`` gets."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("-> request %s id=%d", method, request_id)
        try:
            if deadline is None:
                self._transport.send(line)
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CodexTimeoutError("not sent in time")
                self._transport.send(line, left)
        except (TransportClosedError, TimeoutError) as exc:
            with self._lock:
                entry = self._pending.pop(request_id, None)
            if entry is not None:
                if isinstance(exc, TransportClosedError):
                    _fail(future, _closed_for(exc, method))  # name the call, as for every other waiter
                else:
                    _fail(future, CodexTimeoutError(f"no response to {method!r} within {timeout} s: {exc}"))

    def call(
        self,
        method: str,
        params: Mapping[str, object] | None = None,
        timeout: float | None = None,
    ) -> object:
        """Send a request and wait for its result.

        ``timeout=None`` uses the connection's ``request_timeout``, which
        bounds sending the request and waiting for its answer together. Raises
        the :class:`~._errors.JsonRpcError` subclass of an error response,
        :class:`TransportClosedError` if the connection ends first, and
        :class:`TimeoutError` when no answer comes in time. A wait left
        early (timeout, Ctrl-C) :meth:`abandons <abandon>` the request.
        """
        future: Future[object] = Future()
        wait = self._request_timeout if timeout is None else timeout
        try:
            # Sending is inside the try: a Ctrl-C that lands just after the
            # request went out (before the wait began) abandons it all the same,
            # so a turn/start it sent is still interrupted once answered.
            deadline = None if wait is None else time.monotonic() + wait
            self._send_request(future, method, params, wait)
            return future.result(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        except FutureTimeoutError:
            if future.done():  # answered in the meantime (or the sending timed out: that error)
                return future.result()
            self.abandon(method, params, future)
            raise CodexTimeoutError(f"no response to {method!r} within {wait} s") from None
        except BaseException:  # KeyboardInterrupt, or the error answer itself (then a no-op)
            self.abandon(method, params, future)
            raise

    def _drop(self, future: Future[object]) -> None:
        """Forget a request whose answer nobody will read (a late answer is dropped): nothing stays behind."""
        with self._lock:
            for request_id, (pending, _) in self._pending.items():
                if pending is future:
                    del self._pending[request_id]
                    break
        future.cancel()

    def abandon(self, method: str, params: Mapping[str, object] | None, future: Future[object]) -> None:
        """The caller stopped waiting for ``future``, its request ``method`` with ``params``.

        Ctrl-C, a cancelled task or a timeout took the caller away, but the
        answer still comes and resolves ``future``, unread. The
        ``on_abandoned`` handler is handed the request now, on this thread,
        to act on that answer (the turn an abandoned ``turn/start`` starts
        must be interrupted); not for a request that failed: its error was
        the answer. Never raises: the caller is on its way out already.
        Unless the handler returns True (it wants the answer), the request
        leaves the pending table now: timed-out calls leave nothing behind.
        """
        handler = self._on_abandoned
        if future.cancelled() or (future.done() and future.exception() is not None):
            return
        wanted = False
        if handler is not None:
            try:
                wanted = handler(method, params, future) is True
            except Exception:
                logger.exception("abandoned-request handler failed for %s", method)
        if not wanted and not future.done():
            self._drop(future)

    def notify(self, method: str, params: Mapping[str, object] | None = None) -> None:
        """Send a notification. Raises :class:`TransportClosedError` if closed."""
        message: JsonObject = {"method": method}
        if params is not None:
            message["params"] = params if isinstance(params, dict) else dict(params)
        self._send_line(_encode_line(message))

    def _send_line(self, line: bytes) -> None:
        closed = self._closed_error
        if closed is not None:
            raise _closed_for(closed, None)
        self._transport.send(line)

    def _send_line_soon(self, line: bytes) -> None:
        """:meth:`_send_line` on the sender thread; a failure is logged (the connection reports its end)."""
        closed = self._closed_error
        if closed is not None:
            raise _closed_for(closed, None)
        self._in_background(self._send_line_quietly, line)

    def _send_line_quietly(self, line: bytes) -> None:
        try:
            self._transport.send(line)
        except (TransportClosedError, TimeoutError) as exc:
            logger.debug("could not send an answer: %s", exc)

    def _in_background(self, send: Callable[..., None], *args: object) -> None:
        """Run ``send(*args)`` on the sender thread (in the order asked)."""
        with self._lock:
            sender = self._sender
            if sender is None and self._closed_error is None:
                sender = self._sender = ThreadPoolExecutor(1, thread_name_prefix="codex-sender")
        try:
            if sender is None:
                raise RuntimeError("closed")
            sender.submit(send, *args)
        except RuntimeError:  # closed meanwhile: the send fails at once, as it would on the sender
            send(*args)

    # -- incoming (reader thread) ---------------------------------------------

    def _make_messages_handler(self) -> Callable[[list[bytes]], None]:
        # The hot path (a run of notifications) is one parse, two lookups and
        # an append per message, then one callback for the run; everything
        # else goes through _dispatch_other, after the notifications before it.
        #
        # Parsing: pydantic-core's parser takes a third of json.loads's time on
        # codex's lines (the reader's main cost in a delta flood, tests/bench).
        # What it rejects (lone surrogate escapes, nesting deeper than 200)
        # goes to json.loads, so a line always means what json.loads says and
        # only a line both reject is malformed. Inlined: a call per line shows.
        fast_loads = from_json
        loads = json.loads
        on_notifications = self._on_notifications
        dispatch_other = self._dispatch_other
        bad_line = self._bad_line
        log_exception = logger.exception

        def deliver(run: list[RawNotification]) -> None:
            if on_notifications is not None:
                try:
                    on_notifications(run)
                except Exception:
                    log_exception("notification handler failed for %s", ", ".join(sorted({m for m, _ in run})))

        def on_messages(lines: list[bytes]) -> None:
            run: list[RawNotification] = []
            for line in lines:
                try:
                    message = fast_loads(line, cache_strings=_CACHED_STRINGS)
                except ValueError as fast_error:
                    if not line.strip():  # an empty line: nothing to say, nothing to parse again
                        continue
                    try:
                        message = loads(line)
                    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
                        bad_line(line, f"not valid JSON: {error or fast_error}")
                        continue
                if type(message) is dict and "id" not in message:
                    method = message.get("method")
                    if type(method) is str:
                        if type(message.get("params")) is not dict:
                            message["params"] = {}
                        run.append((method, message))
                        continue
                if run:  # what came before this message is handled before it
                    deliver(run)
                    run = []
                dispatch_other(message, line)
            if run:
                deliver(run)

        return on_messages

    def _dispatch_other(self, message: object, line: bytes) -> None:
        if not isinstance(message, dict):
            self._bad_line(line, "not a JSON object")
            return
        method = message.get("method")
        request_id = message.get("id")
        if method is not None:
            if not isinstance(method, str) or not _is_request_id(request_id):
                self._bad_line(line, "invalid method or id")
                return
            params = message.get("params")
            self._handle_server_request(
                ServerRequestContext(self, request_id, method, params if isinstance(params, dict) else {})
            )
            return
        if not _is_request_id(request_id):
            if "error" in message:
                # e.g. {"id": null, "error": ...}: the server could not read a
                # request of ours well enough to know its id.
                logger.warning(
                    "codex_app_server: error response without a usable id: %s",
                    _preview(line),
                )
            else:
                self._bad_line(line, "neither a request, a notification nor a response")
            return
        entry = None
        if type(request_id) is int:  # our ids are ints; other ids are unknown
            with self._lock:
                entry = self._pending.pop(request_id, None)
        if entry is None:
            if type(request_id) is int and 0 < request_id <= self._next_id:  # one we gave up on (timeout)
                logger.debug("dropped the late response to request id %r", request_id)
            else:
                logger.warning("codex_app_server: dropped a response with unknown id %r", request_id)
            return
        future, req_method = entry
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("<- response %s id=%r", req_method, request_id)
        if "error" in message:
            _fail(future, error_from_response(req_method, message["error"]))
        elif "result" in message:
            try:
                future.set_result(message["result"])
            except InvalidStateError:  # cancelled, e.g. call() timed out
                pass
        else:
            _fail(
                future,
                ResponseValidationError(req_method, message, "neither result nor error"),
            )

    def _handle_server_request(self, ctx: ServerRequestContext) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("<- server request %s id=%r", ctx.method, ctx.id)
        handler = self._on_server_request
        if handler is None:
            self._answer_quietly(ctx, METHOD_NOT_FOUND, f"client does not handle {ctx.method!r}")
            return
        try:
            handler(ctx)
        except Exception as exc:
            logger.exception("server request handler failed for %s", ctx.method)
            if not ctx.answered:
                self._answer_quietly(
                    ctx,
                    INTERNAL_ERROR,
                    f"client failed handling {ctx.method!r}: {type(exc).__name__}: {exc}",
                )

    @staticmethod
    def _answer_quietly(ctx: ServerRequestContext, code: int, message: str) -> None:
        try:  # on the reader thread: it must not wait for the server to read the answer
            ctx.respond_error_soon(code, message)
        except (TransportClosedError, RuntimeError) as exc:
            logger.debug("could not answer %s: %s", ctx.method, exc)

    def _bad_line(self, line: bytes, why: str) -> None:
        """Log a line that cannot be read; if it names a pending call's id, fail that call with the reason."""
        if not line.strip():
            return
        entry = None
        match = None if _METHOD_KEY.search(line) else _RESPONSE_ID.search(line)
        if match is not None:
            with self._lock:
                entry = self._pending.pop(int(match.group(1)), None)
        if entry is not None:
            future, method = entry
            _fail(
                future,
                ResponseValidationError(method, line[:_PREVIEW_CHARS], f"the response line is unreadable ({why})"),
            )
            return
        logger.warning(
            "codex_app_server: skipped a malformed line from the server (%s, %d bytes): %s",
            why,
            len(line),
            _preview(line),
        )

    def _on_transport_closed(self, reason: BaseException | None) -> None:
        if isinstance(reason, TransportClosedError):
            error = reason
        else:
            error = TransportClosedError(
                f"codex app-server connection lost: {reason}" if reason else "codex app-server connection closed",
                stderr_tail=self._transport.stderr_tail(),
            )
            error.__cause__ = reason
        self._shut(error)

    def _shut(self, error: TransportClosedError) -> None:
        """Mark closed (first reason wins), report once, then fail pending.

        Reported first: a caller woken by its failed request must find the
        connection's owner knowing it is lost (a reconnecting session then
        makes its next call wait for the new connection).
        """
        with self._lock:
            first = self._closed_error
            report = first is None
            if first is None:
                self._closed_error = error
            else:
                error = first
            pending, self._pending = self._pending, {}
            sender = self._sender
        if sender is not None:  # what it still holds fails at once; its thread then ends
            sender.shutdown(wait=False)
        if report and self._on_close is not None:
            try:
                self._on_close(error)
            except Exception:
                logger.exception("close handler failed")
        for future, method in pending.values():
            _fail(future, _closed_for(error, method))


def _is_request_id(value: object) -> TypeGuard[RequestId]:
    return type(value) is int or type(value) is str


def _fail(future: Future[object], exc: BaseException) -> None:
    try:
        future.set_exception(exc)
    except InvalidStateError:  # cancelled meanwhile
        pass


def _closed_for(error: TransportClosedError, method: str | None) -> TransportClosedError:
    """A fresh error per waiter (raising one instance everywhere would pile
    up tracebacks), naming what was waiting."""
    reason = error.reason
    if method is not None:
        reason = f"{reason} (while waiting for {method!r})"
    fresh = TransportClosedError(reason, returncode=error.returncode, stderr_tail=error.stderr_tail)
    fresh.__cause__ = error.__cause__
    return fresh


def _preview(line: bytes) -> str:
    text = repr(line[:_PREVIEW_CHARS])
    return text + ("..." if len(line) > _PREVIEW_CHARS else "")
