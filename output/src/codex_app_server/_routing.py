"""Turn routing: which turn each thread notification belongs to, buffered for its consumer.

Every notification the generated :data:`~.generated.notifications.NOTIFICATION_ROUTES`
table places on a thread is appended to the :class:`TurnWatch` objects
registered for that thread (a watch is registered *before* ``turn/start``
is sent, so nothing is missed) and filtered by turn id. Where a
notification carries its thread and turn id comes from that generated
table, not from hand-written key names. The reader thread only appends raw
dicts; typed decoding happens in the consumer, off the reader's hot path.

A turn whose caller left (Ctrl-C, a cancelled task or a timeout) is
interrupted (:class:`~._turns.Interrupts`), and the thread's next turn waits for it to end
(:meth:`Router.settle`).

Backpressure (bounded memory): a turn being consumed (``stream()``/``run()``)
buffers at most ``AppServerConfig.turn_buffer_limit`` events ahead of its
consumer (plus the batch the consumer holds). At that mark the reader thread
pauses inside the transport's callback, so the pipe fills and codex waits,
until the consumer takes the buffer. The reader keeps reading regardless
while a request of ours awaits its answer (``steer()`` from inside the loop,
any other call), while another consumer waits on an empty queue (another
thread's turn), or once the connection is closing: a slow consumer never
starves answers or other turns, and nothing deadlocks. A turn nobody
consumes yet (``turn()`` before ``stream()``) is buffered whole.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from pydantic import ValidationError

from ._errors import CodexRuntimeError, CodexTimeoutError
from ._rpc import NotificationMessage, RawNotification
from ._threads import wake_threadsafe
from .generated import methods, notifications
from .generated.notifications import NOTIFICATION_EVENTS, NOTIFICATION_ROUTE_DEFAULT, NOTIFICATION_ROUTES

if TYPE_CHECKING:
    import asyncio

    # pydantic's JsonValue costs 1-4 MB to import (pydantic.types): here it
    # is an annotation only, so importing the SDK does not pay for it.
    from pydantic import JsonValue

    from .generated.notifications import Notification

    RawParams = dict[str, JsonValue]

__all__ = [
    "Event",
    "Route",
    "Router",
    "TurnWatch",
    "decode_notification",
    "route_of",
]

logger = logging.getLogger("codex_app_server")


# How often a paused reader re-checks the conditions that nobody signals
# (a request went out, the connection is closing): its worst-case delay.
_PAUSE_POLL_S = 0.05

Route = tuple[str, str | None, str | None]  # (thread key, turn key, key inside the turn object)
# (method, the whole message, the turn it names or None), as buffered; see _rpc.RawNotification
Event = tuple[str, NotificationMessage, str | None]

# Every method: its route, or None for a known notification that names no
# thread. A method missing here (a newer server's) takes the default route.
_ROUTES: dict[str, Route | None] = {**dict.fromkeys(NOTIFICATION_EVENTS), **NOTIFICATION_ROUTES}


def route_of(method: str) -> Route | None:
    """Where ``method``'s params name the thread and turn; None if it names no thread."""
    return _ROUTES.get(method, NOTIFICATION_ROUTE_DEFAULT)


def decode_notification(method: str, message: NotificationMessage) -> Notification:
    """The typed event of a notification ``message`` as the reader buffered it (the consumer decodes); never raises.

    Validated here rather than on the reader: the reader buffers parsed
    dicts holding only strings and numbers, which the garbage collector does
    not track; buffered models would be tracked, and a flood of them made
    the collector cost more than validating (tests/bench, flood_floor).
    """
    validate = _validators.get(method)
    if validate is None:
        event_cls = NOTIFICATION_EVENTS.get(method)
        if event_cls is None:
            logger.debug("unknown notification method %s", method)
            return notifications.UnknownNotification(
                method=method, params=cast("RawParams", message["params"]), reason="unknown method"
            )
        # The validator itself rather than model_validate(): the same result
        # without its Python-level argument checks, ~0.5 µs of a delta's ~3.
        validate = _validators[method] = event_cls.__pydantic_validator__.validate_python
    try:
        event: Notification = validate(message)
        return event
    except ValidationError as exc:
        logger.debug("notification %s did not validate: %s", method, _where_invalid(exc))
        return notifications.UnknownNotification(
            method=method, params=cast("RawParams", message["params"]), reason=str(exc)
        )


# method -> its event's bound validate_python: one dict lookup per notification
# on the consumer's hot path (instead of the lazy table and the class).
_validators: dict[str, Callable[[object], Notification]] = {}


def _where_invalid(exc: ValidationError) -> str:
    """Where and how validation failed, without the input values: params may carry secrets."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in errors[:5])


class TurnWatch:
    """The notifications of one turn, buffered until consumed (sync or async)."""

    def __init__(self, router: Router, thread_id: str) -> None:
        self.router: Router = router
        self.thread_id: str = thread_id
        self.turn_id: str | None = None
        self.completed: bool = False  # turn/completed was received (set by the reader)
        self.interrupting: bool = False  # interrupted for a caller that left: Router.settle waits for it
        self.reserved: bool = False  # holds the consumer slot for a run() whose turn/start is in flight
        self.consuming: bool = False  # a stream() reads this watch: its buffer is bounded (backpressure)
        # Throughput (tests/bench flood): push() gets a run of events and
        # take() hands over the whole queue, so each side locks once per
        # batch, not per event; the lock is taken directly (a C context
        # manager, not Condition's Python one), and push() notifies a
        # sleeping consumer once, when the queue stops being empty.
        self._limit = router.buffer_limit  # backpressure mark, read per event
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sleepers = 0  # consumers blocked in get()
        self._queue: deque[Event] = deque()
        self._taken: deque[Event] = deque()  # the consumer's; no lock needed
        self._error: BaseException | None = None
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._on_started: Callable[[], None] | None = None
        # Set once the server reports the turn started, or ended, or the
        # connection failed: codex refuses turn/interrupt and turn/steer before.
        self.live: threading.Event = threading.Event()

    # -- reader side

    def push(self, events: list[Event]) -> bool:
        """Buffer notifications ``(method, params, turn id or None)`` in order; True when one completed the turn.

        Events of other turns are dropped, and so is whatever follows this
        turn's ``turn/completed``. Takes the lock once per run of events; at
        the backpressure mark it pauses the reader, then buffers the rest.
        """
        start, count = 0, len(events)
        while True:
            start, done, full = self._append(events, start)
            if full:
                self.router.pause_reader(self)
            if done or start >= count:
                return done

    def _append(self, events: list[Event], start: int) -> tuple[int, bool, bool]:
        """Buffer ``events[start:]`` up to the end, this turn's end or the mark; (where it stopped, done, full)."""
        on_started = waiter = None
        done = full = False
        index, count = start, len(events)
        # Method names are read when used, never at import: a schema without them still imports the SDK.
        completed, started = methods.TURN_COMPLETED, methods.TURN_STARTED
        with self._lock:  # under the lock: bind() may be setting turn_id right now
            mine = self.turn_id
            queue = self._queue
            was_empty = not queue
            limit = self._limit if self.consuming else sys.maxsize
            while index < count:
                event = events[index]
                index += 1
                method, _, other = event
                if other is not None and mine is not None and other != mine:
                    continue
                queue.append(event)
                if other is not None and other == mine and (method == completed or method == started):
                    self.live.set()
                    if method == completed:
                        done = self.completed = True
                        self._on_started = None
                        break
                    on_started, self._on_started = self._on_started, None
                if len(queue) >= limit:
                    full = True
                    break
            if queue:
                if was_empty and self._sleepers:  # a sleeping consumer waits for the first event only
                    self._cond.notify()
                waiter, self._waiter = self._waiter, None
        if waiter is not None:
            wake_threadsafe(*waiter)
        if on_started is not None:
            on_started()
        return index, done, full

    def buffered(self) -> int:
        """Events waiting for the consumer (not counting the batch it holds)."""
        return len(self._queue)

    def mark_interrupting(self, resend: Callable[[], None]) -> None:
        """An interrupt of this bound turn went out: hold the thread's next turn until this one completes.

        ``resend`` is called (on the reader thread) if this turn's
        ``turn/started`` is still to come (one already received does not
        count); never after ``turn/completed``.
        """
        with self._lock:
            if not self.completed:
                self.interrupting = True
                self._on_started = resend

    def fail(self, error: BaseException) -> None:
        with self._cond:
            self._error = error
            self._cond.notify_all()
            waiter, self._waiter = self._waiter, None
        self.live.set()  # nobody waits for a turn on a dead connection
        if waiter is not None:
            wake_threadsafe(*waiter)

    # -- consumer side

    def bind(self, turn_id: str) -> None:
        """Learn the turn id (from the turn/start response); drop other turns' events."""
        completed, started = methods.TURN_COMPLETED, methods.TURN_STARTED
        with self._cond:
            self.turn_id = turn_id
            kept = [event for event in self._queue if event[2] in (None, turn_id)]
            self._queue = deque(kept)
            if any(method == completed and other == turn_id for method, _, other in kept):
                self.completed = True
            if any(method in (started, completed) and other == turn_id for method, _, other in kept):
                self.live.set()  # read before the turn id was known
        if self.completed:
            self.router.forget(self)

    def get(self, timeout: float | None = None) -> Event:
        """The next notification ``(method, message, turn id)`` (for the turn's one consumer); see :meth:`take`."""
        return self.take(timeout).popleft()

    def take(self, timeout: float | None = None) -> deque[Event]:
        """The buffered events, at least one: the consumer pops them in order from this deque.

        What it leaves there is what the next ``take``/``get`` returns first.
        Raises the connection's error once the buffer is empty, and
        TimeoutError after ``timeout`` seconds without an event (not
        counting time while a server request of ours is being answered:
        the turn waits for us then, not the other way round).
        """
        if self._taken:
            return self._taken
        with self._lock:
            if not self._queue:
                self._sleep(timeout)
            self._taken, self._queue = self._queue, self._taken
        if self.router.paused:
            self.router.wake_reader()
        return self._taken

    def _sleep(self, timeout: float | None) -> None:
        """Wait (lock held) until the queue has an event; see :meth:`get`."""
        router = self.router
        deadline = None if timeout is None else time.monotonic() + timeout
        self._sleepers += 1
        router.waiting(1)
        try:
            while not self._queue:
                if self._error is not None:
                    raise self._error
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    if not router.answering():
                        raise self._timed_out(timeout)
                    deadline = time.monotonic() + (timeout or 0.0)
                    continue
                self._cond.wait(left)
        finally:
            self._sleepers -= 1
            router.waiting(-1)

    def _timed_out(self, timeout: float | None) -> CodexTimeoutError:
        return CodexTimeoutError(f"no event for turn {self.turn_id} of thread {self.thread_id} within {timeout} s")

    async def atake(self, timeout: float | None = None) -> deque[Event]:
        """:meth:`take` for a coroutine: waits without blocking the event loop."""
        if self._taken:
            return self._taken
        import asyncio

        loop = asyncio.get_running_loop()
        router = self.router
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._queue:
                    self._taken, self._queue = self._queue, self._taken
                    break
                if self._error is not None:
                    raise self._error
                future: asyncio.Future[None] = loop.create_future()
                self._waiter = (loop, future)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    if not router.answering():
                        self._drop_waiter(future)
                        raise self._timed_out(timeout)
                    deadline = time.monotonic() + (timeout or 0.0)
                    left = timeout or 0.0
                timer = loop.call_later(left, _resolve, future)
            router.waiting(1)
            try:
                await future
            finally:
                router.waiting(-1)
                if deadline is not None:
                    timer.cancel()
                self._drop_waiter(future)
        if router.paused:
            router.wake_reader()
        return self._taken

    def _drop_waiter(self, future: object) -> None:
        with self._lock:
            if self._waiter is not None and self._waiter[1] is future:
                self._waiter = None

    def cancel(self) -> None:
        """The turn never started (turn/start failed): stop buffering, give back a reserved consumer slot."""
        self.router.forget(self)
        self.router.release(self)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _never() -> bool:
    return False


class Router:
    """Routes thread notifications to turn watches, guards turn consumers, applies backpressure.

    Args:
        concurrent_turns: One consumer per thread (True) or per client.
        buffer_limit: Events a consumed turn buffers before the reader pauses.
        keep_reading: True while the reader must not pause (a request awaits
            its answer, the connection is closing); polled while paused.
        answering: True while a server request is being answered by us
            (idle timeouts do not count that time).
    """

    def __init__(
        self,
        concurrent_turns: bool,
        buffer_limit: int = 4096,
        keep_reading: Callable[[], bool] = _never,
        answering: Callable[[], bool] = _never,
    ) -> None:
        self.concurrent_turns = concurrent_turns
        self.buffer_limit = buffer_limit
        self.keep_reading = keep_reading
        self.answering = answering
        self.paused: bool = False  # the reader is paused in pause_reader (read without the lock: a hint)
        self._pressure = threading.Condition(threading.Lock())
        self._waiting = 0  # consumers waiting on an empty queue
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a watch went or a hold was released
        self._watches: dict[str, list[TurnWatch]] = {}
        self._consumers: dict[str, TurnWatch] = {}  # thread id -> active consumer
        self._holds: dict[str, set[object]] = {}  # thread id -> abandoned turn/starts, unanswered interrupts
        self._error: BaseException | None = None

    def dispatch(self, run: list[RawNotification]) -> None:
        """Reader-thread callback for a run of notifications ``(method, message)`` (see _rpc.RawNotification)."""
        watched = self._watches
        if not watched:
            return
        # Each watch gets its events in one push; a thread's watch list is
        # looked at once per run (a watch added meanwhile sees later runs).
        batches: dict[TurnWatch, list[Event]] = {}
        last: list[TurnWatch] | None = None
        targets: list[list[Event]] = []
        routes = _ROUTES
        default = NOTIFICATION_ROUTE_DEFAULT
        for method, message in run:
            route = routes.get(method, default)
            if route is None:
                continue
            thread_key, turn_key, inner = route
            params = message["params"]
            thread_id = params.get(thread_key)
            if type(thread_id) is not str:
                continue
            watches = watched.get(thread_id)
            if not watches:
                continue
            turn_id: str | None = None  # the turn it names: this runs for every event of a watched thread
            if turn_key is not None:
                value = params.get(turn_key)
                if inner is not None and type(value) is dict:
                    value = value.get(inner)
                if type(value) is str:
                    turn_id = value
            if watches is not last:
                last = watches
                targets = [batches.setdefault(watch, []) for watch in tuple(watches)]
            event = (method, message, turn_id)
            for target in targets:
                target.append(event)
        for watch, events in batches.items():
            if events and watch.push(events):
                self.forget(watch)

    # -- backpressure

    def pause_reader(self, watch: TurnWatch) -> None:
        """Reader thread: ``watch``'s consumer is behind; stop reading until it catches up (see the module doc)."""
        pressure = self._pressure
        limit = self.buffer_limit
        with pressure:
            self.paused = True
            try:
                while (
                    watch.consuming
                    and watch.buffered() >= limit
                    and not self._waiting
                    and self._error is None
                    and not self.keep_reading()
                ):
                    pressure.wait(_PAUSE_POLL_S)
            finally:
                self.paused = False

    def wake_reader(self) -> None:
        """A consumer took its buffer (or left): a paused reader re-checks at once."""
        with self._pressure:
            self._pressure.notify_all()

    def waiting(self, delta: int) -> None:
        """A consumer starts (+1) or stops (-1) waiting on an empty queue; a paused reader must then read."""
        with self._pressure:
            self._waiting += delta
            if delta > 0 and self.paused:
                self._pressure.notify_all()

    def watch(self, thread_id: str, *, consumer: bool = False) -> TurnWatch:
        """Buffer ``thread_id``'s turn events from now on.

        ``consumer=True`` also reserves the consumer slot, atomically with
        the check, before the caller sends ``turn/start``: of concurrent
        ``run()`` calls that cannot all consume, the refused ones raise
        RuntimeError here, before any turn starts on the server. The first
        :meth:`acquire` of the watch takes the reservation over;
        :meth:`TurnWatch.cancel` gives it back.
        """
        watch = TurnWatch(self, thread_id)
        with self._lock:
            if self._error is not None:
                raise self._error
            if consumer:
                self._check_free(thread_id)
                self._consumers[thread_id] = watch
                watch.reserved = True
            self._watches.setdefault(thread_id, []).append(watch)
        return watch

    def forget(self, watch: TurnWatch) -> None:
        with self._lock:
            self._forget(watch)

    def _forget(self, watch: TurnWatch) -> None:
        watches = self._watches.get(watch.thread_id)
        if watches and watch in watches:
            watches.remove(watch)
            if not watches:
                del self._watches[watch.thread_id]
            if watch.interrupting:
                self._changed.notify_all()

    # -- turns interrupted for callers that left

    def hold(self, thread_id: str, request: object) -> None:
        """Hold the thread's next turn until ``request`` is released (an abandoned turn/start, an interrupt not yet answered)."""
        with self._lock:
            self._holds.setdefault(thread_id, set()).add(request)

    def release_hold(self, thread_id: str, request: object) -> None:
        with self._lock:
            held = self._holds.get(thread_id)
            if held is not None:
                held.discard(request)
                if not held:
                    del self._holds[thread_id]
            self._changed.notify_all()

    def held(self, thread_id: str) -> bool:
        with self._lock:
            return self._held(thread_id)

    def settle(self, thread_id: str, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until the thread's turns interrupted for callers that left have ended.

        Until then a new ``turn/start`` would not start a turn: codex would
        steer the input into the dying turn, and it would end interrupted.
        After ``timeout`` the stragglers are given up on (and no longer
        watched), so no later turn waits for them again.
        """
        with self._lock:
            if self._changed.wait_for(lambda: not self._held(thread_id), timeout):
                return
            logger.debug("thread %s: interrupted turns still running after %s s; starting anyway", thread_id, timeout)
            self._holds.pop(thread_id, None)
            for watch in [w for w in self._watches.get(thread_id, ()) if w.interrupting]:
                self._forget(watch)

    def _held(self, thread_id: str) -> bool:
        if self._error is not None:
            return False  # the connection ended: so did every turn
        watches = self._watches.get(thread_id, ())
        return thread_id in self._holds or any(w.interrupting and not w.completed for w in watches)

    def acquire(self, watch: TurnWatch) -> None:
        """Register an active consumer; a second one raises RuntimeError.

        "Second" includes a second ``stream()`` of the same turn: two consumers
        would each see only part of the turn's events.
        """
        with self._lock:
            if watch.reserved and self._consumers.get(watch.thread_id) is watch:
                watch.reserved = False  # the run() that reserved the slot starts consuming
            else:
                self._check_free(watch.thread_id)
                self._consumers[watch.thread_id] = watch
            watch.consuming = True

    def _check_free(self, thread_id: str) -> None:
        if self.concurrent_turns:
            if thread_id in self._consumers:
                raise CodexRuntimeError(
                    f"thread {thread_id} already has an active turn consumer; "
                    "finish it before consuming another turn of the same thread"
                )
        elif self._consumers:
            raise CodexRuntimeError(
                "another turn consumer (run()/stream()) is active on this client; "
                "finish it first, or use AppServerConfig(concurrent_turns=True) for turns on different threads"
            )

    def release(self, watch: TurnWatch) -> None:
        with self._lock:
            watch.reserved = False
            watch.consuming = False
            if self._consumers.get(watch.thread_id) is watch:
                del self._consumers[watch.thread_id]
        if self.paused:
            self.wake_reader()

    def watching(self) -> bool:
        """True while some turn is being watched (started and not yet ended or left)."""
        with self._lock:
            return bool(self._watches)

    def close(self, error: BaseException) -> None:
        """The connection ended: every waiting consumer gets ``error``."""
        with self._lock:
            self._error = error
            watches = [w for ws in self._watches.values() for w in ws]
            self._watches.clear()
            self._changed.notify_all()
        self.wake_reader()
        for watch in watches:
            watch.fail(error)
