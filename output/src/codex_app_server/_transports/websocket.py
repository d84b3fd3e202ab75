"""A websocket client transport over any :class:`~.streams.ByteStream`.

The same code serves ``ws://``/``wss://`` (TCP, TLS), ``unix://`` (websocket
over the control socket) and a command pipe (``ssh host codex app-server
proxy``): the ``websockets`` library's sans-I/O :class:`ClientProtocol` does
the framing, this module the I/O. (Why not the library's own threaded or
asyncio client: README, "Connecting to a running app-server".)

* One JSON-RPC message per text frame (codex drops two joined by ``\\n``).
* No ``Origin`` header ever (codex answers 403 to one).
* Outgoing messages above the server's unfragmented limit (16 MiB, or what
  its ``x-codex-websocket-max-unfragmented-message-bytes`` says, never less
  than 64 KiB) are sent as fragments, made and written a few at a time;
  incoming messages have no size limit, as on stdio.
* Reads happen on one reader thread: each read (up to 128 KiB) is fed to
  the protocol whole, every frame it completed is taken at once, and the
  complete messages go to ``on_messages`` together, which may block
  (backpressure: the TCP window fills).
* Every write has a bound. A sender waits for the server to take its
  message until its own deadline (``send(timeout=)``: a request's
  ``request_timeout``), then raises TimeoutError, its message left queued
  whole (it goes out if the server reads again, before anything else);
  and at most ``write_timeout`` seconds without the server taking a
  byte: then the server stopped reading and the connection is dropped as
  lost. The reader never waits to write: the control frames
  the protocol answers with (pong, close) are sent as far as the server
  takes them at once, the rest by the next sender; pongs a server that
  does not read would not take are dropped past a small backlog (RFC 6455
  lets a pong answer only the latest ping).
* Closing: after a close frame (ours or the server's) the server has
  ``close_timeout`` seconds to end the TCP connection, then the client
  does. The reader closes the stream whenever it ends, so a lost
  connection never keeps its socket.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import cast

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidState, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from .._errors import AuthenticationError, CodexRuntimeError, CodexTimeoutError, TransportClosedError
from .base import CloseHandler, MessagesHandler
from .streams import ByteStream, WriteTimeout

__all__ = ["DEFAULT_FRAME_LIMIT", "WebSocketTransport"]

logger = logging.getLogger("codex_app_server")
# The protocol's own DEBUG log shows handshake headers and frame previews:
# the Authorization header and message contents must never reach a log.
_SILENT = logging.getLogger("codex_app_server.websocket-frames")
_SILENT.disabled = True

#: codex closes the connection on an unfragmented frame above this (16 MiB).
DEFAULT_FRAME_LIMIT = 16 * 1024 * 1024
#: A server advertising less than this gets fragments of this size: a limit of
#: a few bytes would make a message cost ~40 bytes of frame per byte.
MIN_FRAME_LIMIT = 64 * 1024
# Fragments made (and masked) at once before they are written: memory stays
# one batch whatever the message size.
_FRAGMENT_BATCH = 1 << 20
# Control frames queued for a server that does not read beyond this many
# bytes: further pongs are dropped.
_REPLY_BACKLOG = 64 * 1024
_FRAME_LIMIT_HEADER = "x-codex-websocket-max-unfragmented-message-bytes"
_MAX_REASON_CHARS = 300

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
_SEND_EOF = b""  # what ClientProtocol.data_to_send() says for "half-close now"


class WebSocketTransport:
    """Websocket client over the stream ``open_stream()`` connects.

    Args:
        open_stream: Connects and returns the byte stream; raises OSError.
        uri: The ``ws://`` URI of the handshake (host header and path).
        endpoint: How errors name the server (no credentials in it).
        headers: Called once per connection for extra handshake headers
            (``Authorization``: a JWT is minted fresh each time).
        auth_mode: Named in an :class:`AuthenticationError`.
        connect_timeout: Seconds for connecting plus the handshake.
        frame_limit: Outgoing messages above this many bytes are fragmented
            (the server's own header, when sent, takes precedence).
        write_timeout: Seconds a write may go without the server taking a
            byte before the connection counts as lost.
        close_timeout: Seconds the server has to close the TCP connection
            after a close frame (sent or received) before the client does.
    """

    def __init__(
        self,
        open_stream: Callable[[], ByteStream],
        uri: str,
        endpoint: str,
        *,
        headers: Callable[[], Sequence[tuple[str, str]]] = tuple,
        auth_mode: str = "none",
        connect_timeout: float = 30.0,
        frame_limit: int = DEFAULT_FRAME_LIMIT,
        write_timeout: float = 30.0,
        close_timeout: float = 2.0,
    ) -> None:
        self._open_stream = open_stream
        self._uri = parse_uri(uri)
        self.endpoint = endpoint
        self._headers = headers
        self._auth_mode = auth_mode
        self._connect_timeout = connect_timeout
        self._frame_limit = max(frame_limit, MIN_FRAME_LIMIT)
        self._write_timeout = write_timeout
        self._close_timeout = close_timeout
        self._proto_lock = threading.Lock()  # the protocol object, and queueing its bytes in order
        self._send_lock = threading.Lock()  # one message at a time: a fragmented one is not interleaved
        self._stream: ByteStream | None = None
        self._proto: ClientProtocol | None = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self._started = False
        self._eof_queued = False  # the protocol asked for a half-close once what is queued is sent
        self._failure: TransportClosedError | None = None  # why the client dropped the connection itself
        self._close_timer: threading.Timer | None = None

    def __repr__(self) -> str:
        return f"WebSocketTransport({self.endpoint!r})"

    # -- Transport interface -------------------------------------------------

    def start(self, on_messages: MessagesHandler, on_close: CloseHandler) -> None:
        if self._started:
            raise CodexRuntimeError("WebSocketTransport.start() may be called only once")
        self._started = True
        try:
            stream = self._open_stream()
        except OSError as exc:
            raise self._error(f"cannot connect: {exc}") from exc
        proto = ClientProtocol(self._uri, origin=None, max_size=None, logger=_SILENT)
        self._stream, self._proto = stream, proto
        # The handshake runs here, so a refused connection raises from start();
        # a timer closes the stream if the server never answers.
        timed_out = threading.Event()

        def give_up() -> None:
            timed_out.set()
            stream.close(0.0)

        timer = threading.Timer(self._connect_timeout, give_up)
        timer.name = f"codex-websocket-handshake-timer {self.endpoint}"
        timer.daemon = True
        timer.start()
        try:
            leftover = self._handshake(stream, proto, time.monotonic() + self._connect_timeout)
        except BaseException as exc:
            stream.close(0.0)
            if timed_out.is_set() and isinstance(exc, TransportClosedError):
                raise self._error(
                    f"the websocket handshake did not complete within {self._connect_timeout} s "
                    "(AppServerConfig.startup_timeout)"
                ) from exc
            raise
        finally:
            timer.cancel()
            timer.join()
        self._reader = threading.Thread(
            target=self._read_loop,
            args=(stream, proto, leftover, on_messages, on_close),
            name=f"codex-websocket-reader {self.endpoint}",
            daemon=True,
        )
        self._reader.start()

    def send(self, line: bytes, timeout: float | None = None) -> None:
        """Send one message within ``timeout`` seconds (raises TimeoutError), else see ``write_timeout``."""
        payload = memoryview(line)[:-1] if line.endswith(b"\n") else memoryview(line)  # no copy of a big message
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._send_lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            raise CodexTimeoutError(f"{self.endpoint}: the previous message was still being sent after {timeout} s")
        try:
            limit = self._frame_limit
            if len(payload) <= limit:
                self._queue_frames(lambda proto: proto.send_text(payload))
                sent = self._flush(deadline)
            else:
                # A batch of fragments at a time; once out of time, all the rest at once (queued, not
                # waited for): the message must stay whole on the wire, whatever comes after it.
                step = max(limit, _FRAGMENT_BATCH)
                sent, start = True, 0
                while start < len(payload):
                    end = min(start + step, len(payload)) if sent else len(payload)
                    make = functools.partial(
                        _fragments, batch=payload[start:end], offset=start, message=payload, limit=limit
                    )
                    self._queue_frames(make)
                    start = end
                    if sent:
                        sent = self._flush(deadline)
            if not sent:
                raise CodexTimeoutError(
                    f"{self.endpoint}: the server did not take the message within {timeout} s "
                    f"({self._stream.unsent() if self._stream is not None else 0} bytes wait to be sent)"
                )
        finally:
            self._send_lock.release()

    def close(self, timeout: float = 2.0) -> None:
        """Send a close frame, wait up to ``timeout`` s for the server's, then drop the stream."""
        with self._proto_lock:
            if self._closing:
                return
            self._closing = True
            proto, stream = self._proto, self._stream
            if proto is not None and stream is not None and proto.state is State.OPEN:
                proto.send_close(1000)
                self._queue(stream, proto.data_to_send())
        if proto is None or stream is None:
            return
        try:
            stream.flush(time.monotonic() + timeout, None)
        except (OSError, TimeoutError):
            pass  # the server does not read: it will not see our close frame either
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)
        stream.close(timeout)
        if reader is not None and reader is not threading.current_thread():
            reader.join(max(timeout, 0.25))

    def stderr_tail(self) -> str:
        return self._stream.stderr_tail() if self._stream is not None else ""

    @property
    def is_alive(self) -> bool:
        reader = self._reader
        return not self._closing and reader is not None and reader.is_alive()

    # -- internals -------------------------------------------------------------

    def _error(self, what: str) -> TransportClosedError:
        return TransportClosedError(f"{self.endpoint}: {what}", stderr_tail=self.stderr_tail())

    def _handshake(self, stream: ByteStream, proto: ClientProtocol, deadline: float) -> list[Frame]:
        request = proto.connect()
        for name, value in self._headers():
            request.headers[name] = value
        proto.send_request(request)
        try:
            self._queue(stream, proto.data_to_send())
            stream.flush(deadline, None)
            while True:
                data = stream.read()
                if not data:
                    proto.receive_eof()
                    raise self._error("the server closed the connection during the websocket handshake")
                proto.receive_data(data)
                events = proto.events_received()
                if events:
                    break
        except (OSError, WriteTimeout) as exc:
            raise self._error(f"websocket handshake failed: {exc}") from exc
        response, leftover = events[0], cast("list[Frame]", events[1:])  # after the response: frames only
        if proto.handshake_exc is not None:
            raise self._refused(proto.handshake_exc)
        if isinstance(response, Response):
            advertised = response.headers.get(_FRAME_LIMIT_HEADER)
            if advertised is not None and advertised.isdigit() and int(advertised) > 0:
                if int(advertised) < MIN_FRAME_LIMIT:
                    logger.warning(
                        "codex_app_server: %s advertises a frame limit of %s bytes; fragments of %d bytes are sent",
                        self.endpoint,
                        advertised,
                        MIN_FRAME_LIMIT,
                    )
                self._frame_limit = max(int(advertised), MIN_FRAME_LIMIT)
        return leftover

    def _refused(self, exc: Exception) -> TransportClosedError:
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            body = bytes(exc.response.body or b"").decode("utf-8", "replace").strip()[:_MAX_REASON_CHARS]
            reason = body or exc.response.reason_phrase
            if status == 401:
                return AuthenticationError(self.endpoint, self._auth_mode, reason)
            return self._error(f"the server refused the websocket handshake: HTTP {status} {reason}")
        return self._error(f"websocket handshake failed: {exc}")

    def _queue(self, stream: ByteStream, chunks: list[bytes]) -> None:
        """Queue what the protocol made, in order; the caller holds the protocol lock."""
        for chunk in chunks:
            if chunk is _SEND_EOF or not chunk:
                self._eof_queued = True
            else:
                stream.queue(chunk)

    def _queue_frames(self, make: Callable[[ClientProtocol], None]) -> None:
        """Make frames with the protocol (``make``) and queue them."""
        with self._proto_lock:
            proto, stream = self._proto, self._stream
            if proto is None or stream is None or self._closing or proto.state is not State.OPEN:
                raise self._closed_error("connection is closed")
            try:
                make(proto)
            except InvalidState as exc:  # the server's close frame came in the middle of a fragmented message
                raise self._error("connection is closed") from exc
            self._queue(stream, proto.data_to_send())

    def _flush(self, deadline: float | None) -> bool:
        """Send what is queued; False when ``deadline`` passed first (what is queued stays queued, whole frames:
        the server may still read it). No progress for ``write_timeout`` drops the connection."""
        stream = self._stream
        assert stream is not None
        try:
            stream.flush(deadline, self._write_timeout)
        except WriteTimeout as exc:
            if not exc.stalled:
                return False
            why = f"the server stopped reading: nothing was taken for {self._write_timeout} s"
            self._fail(f"{why} ({exc.unsent} bytes unsent); the connection is dropped")
            raise self._closed_error(why) from None
        except OSError as exc:
            raise self._closed_error(f"connection lost while sending: {exc}") from exc
        if self._eof_queued:
            stream.shutdown_write()
        return True

    def _closed_error(self, otherwise: str) -> TransportClosedError:
        """Why sending is impossible: the client's own reason for dropping the connection, if it did."""
        failure = self._failure
        if failure is not None:
            return TransportClosedError(failure.reason, stderr_tail=failure.stderr_tail)
        return self._error(otherwise)

    def _fail(self, why: str) -> TransportClosedError:
        """Drop the connection for ``why``: the reader ends and reports it."""
        failure = self._error(why)
        with self._proto_lock:
            if self._failure is None:
                self._failure = failure
            failure = self._failure
        if self._stream is not None:
            self._stream.close(0.0)
        return failure

    def _send_replies(self, stream: ByteStream, outgoing: list[bytes], closing: bool) -> None:
        """The reader's writes: control frames the protocol answered with, sent without ever waiting."""
        if not closing and stream.unsent() > _REPLY_BACKLOG and not self._send_lock.locked():
            return  # pongs to a server that does not read what it is sent: dropped
        with self._proto_lock:
            self._queue(stream, outgoing)
        if stream.try_flush() and self._eof_queued and not self._send_lock.locked():
            stream.shutdown_write()

    def _expect_close(self, stream: ByteStream) -> None:
        """A close frame went out or came in: the server has ``close_timeout`` s to end the TCP connection."""
        if self._close_timer is None:
            self._close_timer = threading.Timer(self._close_timeout, stream.close, args=(0.0,))
            self._close_timer.name = f"codex-websocket-close-timer {self.endpoint}"
            self._close_timer.daemon = True
            self._close_timer.start()

    def _read_loop(
        self,
        stream: ByteStream,
        proto: ClientProtocol,
        events: list[Frame],
        on_messages: MessagesHandler,
        on_close: CloseHandler,
    ) -> None:
        parts: list[bytes | bytearray | memoryview] = []  # the fragments of an unfinished message
        error: BaseException | None = None
        proto_lock = self._proto_lock
        finished = False
        try:
            while True:
                # Usually every frame is a whole text message: one pass takes them.
                messages = [bytes(event.data) for event in events if event.opcode is _TEXT and event.fin]
                if len(messages) != len(events) or parts:  # fragments, binary or control frames
                    messages = []
                    for event in events:
                        opcode = event.opcode
                        if opcode is _TEXT or opcode is _BINARY:
                            if event.fin:
                                messages.append(bytes(event.data))
                            else:
                                parts = [event.data]
                        elif opcode is _CONT:
                            parts.append(event.data)
                            if event.fin:
                                messages.append(b"".join(parts))
                                parts = []
                if messages:
                    try:
                        on_messages(messages)
                    except Exception:
                        logger.exception("codex_app_server: message handler failed; messages dropped")
                if finished:
                    break
                data = stream.read()
                with proto_lock:
                    if data:
                        proto.receive_data(data)
                        events = cast("list[Frame]", proto.events_received())
                    else:
                        proto.receive_eof()
                        events = []
                    outgoing = proto.data_to_send()
                    closing = proto.close_expected()
                if outgoing:
                    self._send_replies(stream, outgoing, closing)
                if closing:
                    self._expect_close(stream)
                # Delivered on the next pass: the frames read with the end of the stream.
                finished = not data or proto.state is State.CLOSED
        except (OSError, ValueError) as exc:
            error = exc
        finally:
            timer = self._close_timer
            if timer is not None:
                timer.cancel()
            stream.close(self._close_timeout)  # a lost connection keeps no socket
        if timer is not None and timer is not threading.current_thread():
            timer.join()
        on_close(self._closed_reason(proto, error))

    def _closed_reason(self, proto: ClientProtocol, error: BaseException | None) -> TransportClosedError:
        if self._failure is not None:
            closed = self._failure
        elif self._closing:
            closed = self._error("closed by client")
        else:
            code = proto.close_rcvd.code if proto.close_rcvd is not None else None
            why = proto.close_rcvd.reason if proto.close_rcvd is not None else ""
            detail = f" (close code {code}{': ' + why if why else ''})" if code is not None else ""
            if error is not None:
                detail += f": {error}"
            closed = self._error(f"connection lost{detail}")
        closed.__cause__ = error
        return closed


def _fragments(proto: ClientProtocol, *, batch: memoryview, offset: int, message: memoryview, limit: int) -> None:
    """Frame ``batch``, the part at ``offset`` of ``message``, as fragments of ``limit`` bytes."""
    total = len(message)
    for start in range(0, len(batch), limit):
        piece = batch[start : start + limit]
        at = offset + start
        if at == 0:
            proto.send_text(piece, fin=False)
        else:
            proto.send_continuation(piece, fin=at + len(piece) >= total)
