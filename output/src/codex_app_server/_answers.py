"""Answering server requests: once, possibly later, possibly never (another client was faster).

Several clients can follow one thread on a running app-server. An approval
request then goes to every one of them with the same id; the first answer
wins and every client gets ``serverRequest/resolved {threadId, requestId}``.
:class:`PendingRequests` tracks the requests this client has not answered
yet: when one is resolved elsewhere, its async handler is cancelled, a sync
handler's late answer is dropped, and both are logged (INFO) and visible on
a :class:`DeferredAnswer` (``resolved_elsewhere``).

A handler may also answer later: it calls :func:`defer_answer` (with the
safe default and a timeout), hands the returned :class:`DeferredAnswer` to
whatever decides (a UI, a queue), and returns at once; its return value is
then ignored. ``answer.resolve(response)`` sends the answer from any thread;
the default goes out when nobody has within the timeout. This works the
same on every transport, stdio included.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from pydantic import ValidationError

from ._errors import CodexRuntimeError, CodexValueError
from ._rpc import RequestId, ServerRequestContext
from .generated import v2_all

__all__ = ["DeferredAnswer", "PendingRequest", "PendingRequests", "defer_answer"]

logger = logging.getLogger("codex_app_server")

R = TypeVar("R")

Send = Callable[[object], None]


class PendingRequest:
    """One server request this client has not answered yet."""

    def __init__(self, ctx: ServerRequestContext, send: Send, on_done: Callable[[PendingRequest], None]) -> None:
        self.ctx = ctx
        self._send = send  # validates and sends one answer (a result or an exception)
        self._on_done = on_done
        self._lock = threading.Lock()
        self.done: bool = False
        self.resolved_elsewhere: bool = False
        self.task: Future[object] | None = None  # an async handler's task
        self.deferred: DeferredAnswer[object] | None = None

    def answer(self, result: object) -> bool:
        """Send ``result`` (or an exception: an error answer) unless answered already; True when sent."""
        with self._lock:
            if self.done:
                if self.resolved_elsewhere:
                    logger.info(
                        "server request %s (id %r) was answered by another client; dropping this client's answer",
                        self.ctx.method,
                        self.ctx.id,
                    )
                return False
            self.done = True
        try:
            self._send(result)
        finally:
            self._on_done(self)
        return True

    def abandon(self) -> None:
        """The connection this request came on ended: a later answer is dropped."""
        with self._lock:
            self.done = True

    def resolve_elsewhere(self) -> bool:
        """Another client answered first: cancel what still works on it; True when this changed anything."""
        with self._lock:
            if self.done:
                return False
            self.done = self.resolved_elsewhere = True
        logger.info(
            "server request %s (id %r) was answered by another client; this client's handler is %s",
            self.ctx.method,
            self.ctx.id,
            "cancelled" if self.task is not None else "ignored",
        )
        if self.task is not None:
            self.task.cancel()
        if self.deferred is not None:
            self.deferred._finish()
        self._on_done(self)
        return True


class PendingRequests:
    """The unanswered server requests of one connection, by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[RequestId, PendingRequest] = {}

    def add(self, ctx: ServerRequestContext, send: Send) -> PendingRequest:
        pending = PendingRequest(ctx, send, self._forget)
        with self._lock:
            self._by_id[ctx.id] = pending
        return pending

    def __len__(self) -> int:
        return len(self._by_id)

    def _forget(self, pending: PendingRequest) -> None:
        with self._lock:
            if self._by_id.get(pending.ctx.id) is pending:
                del self._by_id[pending.ctx.id]

    def resolved(self, params: dict[str, object]) -> None:
        """``serverRequest/resolved``: the request was answered (by us, or by another client)."""
        try:  # strict: an id is exactly a str or an int, as ours are (never true for 1, nor 1.0)
            request_id = v2_all.ServerRequestResolvedNotification.model_validate(params, strict=True).request_id
        except ValidationError:  # not the notification this schema describes: nothing to resolve
            return
        with self._lock:
            pending = self._by_id.get(request_id)
        if pending is not None:
            pending.resolve_elsewhere()

    def close(self) -> None:
        """The connection ended: nothing can be answered any more; stop the timers.

        A handler or tool still running finishes, and its answer is dropped
        (nothing to send it on) instead of failing to be sent.
        """
        with self._lock:
            pending, self._by_id = list(self._by_id.values()), {}
        for request in pending:
            request.abandon()
            if request.deferred is not None:
                request.deferred._finish()


_current: contextvars.ContextVar[PendingRequest | None] = contextvars.ContextVar("codex_server_request", default=None)


def current_request() -> contextvars.ContextVar[PendingRequest | None]:
    """The context variable the session sets while a handler runs."""
    return _current


class DeferredAnswer(Generic[R]):
    """The answer to a server request, sent later by :meth:`resolve` or, after ``timeout`` s, ``default``.

    Attributes:
        default: The safe answer sent on timeout (e.g. a declined approval).
        timeout: Seconds before the default goes out; ``None`` waits forever.
    """

    def __init__(self, default: R, timeout: float | None) -> None:
        self.default = default
        self.timeout = timeout
        self._pending: PendingRequest | None = None
        self._finished = threading.Event()
        self._timer: threading.Timer | None = None

    def _attach(self, pending: PendingRequest) -> None:
        """Bind to the request being handled and start the timeout."""
        self._pending = pending
        if self.timeout is not None:
            self._timer = threading.Timer(self.timeout, self._time_out)
            self._timer.daemon = True
            self._timer.start()

    @property
    def _request(self) -> PendingRequest:
        pending = self._pending
        if pending is None:
            raise CodexRuntimeError("a DeferredAnswer is made by defer_answer() inside a server-request handler")
        return pending

    @property
    def method(self) -> str:
        """The JSON-RPC method of the request, e.g. ``item/commandExecution/requestApproval``."""
        return self._request.ctx.method

    @property
    def resolved_elsewhere(self) -> bool:
        """True when another client answered first (this answer will never be sent)."""
        return self._request.resolved_elsewhere

    @property
    def done(self) -> bool:
        """Answered: by :meth:`resolve`, by the timeout's default, or by another client."""
        return self._request.done

    def resolve(self, answer: R) -> bool:
        """Send ``answer`` now; False (nothing sent) when the request was answered already."""
        sent = self._request.answer(answer)
        self._finish()
        return sent

    def wait(self, timeout: float | None = None) -> bool:
        """Block until answered (by anyone); False on timeout."""
        return self._finished.wait(timeout)

    def _time_out(self) -> None:
        if self._request.answer(self.default):
            logger.info(
                "server request %s (id %r): no answer within %s s; sent the default",
                self._request.ctx.method,
                self._request.ctx.id,
                self.timeout,
            )
        self._finish()

    def _finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._finished.set()

    def __repr__(self) -> str:
        state = "resolved elsewhere" if self.resolved_elsewhere else ("done" if self.done else "pending")
        return f"DeferredAnswer({self.method!r}, {state})"


def defer_answer(default: R, *, timeout: float | None = 300.0) -> DeferredAnswer[R]:
    """Inside a server-request handler: answer later instead of by returning.

    Returns a :class:`DeferredAnswer`; the handler's own return value is then
    ignored (``return answer.default`` keeps type checkers content). The
    request is answered by ``answer.resolve(response)`` from any thread, or
    with ``default`` after ``timeout`` seconds, whichever comes first; when
    another client answers first, neither is sent. Called outside a handler
    it raises RuntimeError.
    """
    pending = _current.get()
    if pending is None:
        raise CodexRuntimeError("defer_answer() can only be called inside a server-request handler")
    if pending.deferred is not None:
        raise CodexRuntimeError("defer_answer() was already called for this request")
    if timeout is not None and timeout <= 0:
        raise CodexValueError("timeout must be > 0 seconds or None")
    answer: DeferredAnswer[R] = DeferredAnswer(default, timeout)
    pending.deferred = answer  # type: ignore[assignment]
    answer._attach(pending)
    return answer
