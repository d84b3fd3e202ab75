"""A websocket client transport over any :class:`~.streams.ByteStream`.

The same code serves ``ws://``/``wss://`` (TCP, TLS), ``unix://`` (websocket
over the control socket) and a command pipe (``ssh host codex app-server
proxy``): the ``websockets`` library's sans-I/O :class:`ClientProtocol` does
the framing, this module the I/O.

* One JSON-RPC message per text frame (codex drops two joined by ``\\n``).
* No ``Origin`` header ever (codex answers 403 to one).
* Outgoing messages above the server's unfragmented limit (16 MiB, or what
  its ``x-codex-websocket-max-unfragmented-message-bytes`` says) are sent
  as fragments; incoming messages have no size limit, as on stdio.
* Reads happen on one reader thread: each read (up to 256 KiB) is fed to
  the protocol whole, every frame it completed is taken at once, and the
  complete messages go to ``on_messages`` together, which may block
  (backpressure: the TCP window fills).
  Control frames the protocol answers (pong, close) are written by whichever
  thread holds the write lock, so a reader never waits for a blocked writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import cast

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from .._errors import AuthenticationError, TransportClosedError
from .base import CloseHandler, MessagesHandler
from .streams import ByteStream

__all__ = ["DEFAULT_FRAME_LIMIT", "WebSocketTransport"]

logger = logging.getLogger("codex_app_server")
# The protocol's own DEBUG log shows handshake headers and frame previews:
# the Authorization header and message contents must never reach a log.
_SILENT = logging.getLogger("codex_app_server.websocket-frames")
_SILENT.disabled = True

#: codex closes the connection on an unfragmented frame above this (16 MiB).
DEFAULT_FRAME_LIMIT = 16 * 1024 * 1024
_FRAME_LIMIT_HEADER = "x-codex-websocket-max-unfragmented-message-bytes"
_MAX_REASON_CHARS = 300

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


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
    ) -> None:
        self._open_stream = open_stream
        self._uri = parse_uri(uri)
        self.endpoint = endpoint
        self._headers = headers
        self._auth_mode = auth_mode
        self._connect_timeout = connect_timeout
        self._frame_limit = frame_limit
        self._proto_lock = threading.Lock()  # the protocol object and the outbox
        self._write_lock = threading.Lock()  # one writer on the stream at a time
        self._outbox: list[bytes] = []
        self._stream: ByteStream | None = None
        self._proto: ClientProtocol | None = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self._started = False

    def __repr__(self) -> str:
        return f"WebSocketTransport({self.endpoint!r})"

    # -- Transport interface -------------------------------------------------

    def start(self, on_messages: MessagesHandler, on_close: CloseHandler) -> None:
        if self._started:
            raise RuntimeError("WebSocketTransport.start() may be called only once")
        self._started = True
        try:
            stream = self._open_stream()
        except OSError as exc:
            raise self._error(f"cannot connect: {exc}") from exc
        proto = ClientProtocol(self._uri, origin=None, max_size=None, logger=_SILENT)
        self._stream, self._proto = stream, proto
        # The handshake runs here, so a refused connection raises from start();
        # a timer closes the stream if the server never answers.
        timer = threading.Timer(self._connect_timeout, stream.close, args=(0.0,))
        timer.daemon = True
        timer.start()
        try:
            leftover = self._handshake(stream, proto)
        except BaseException:
            stream.close(0.0)
            raise
        finally:
            timer.cancel()
        self._reader = threading.Thread(
            target=self._read_loop,
            args=(stream, proto, leftover, on_messages, on_close),
            name=f"codex-websocket-reader {self.endpoint}",
            daemon=True,
        )
        self._reader.start()

    def send(self, line: bytes) -> None:
        payload = line[:-1] if line.endswith(b"\n") else line
        limit = self._frame_limit
        with self._write_lock:
            with self._proto_lock:
                proto = self._proto
                if proto is None or self._closing or proto.state is not State.OPEN:
                    raise self._error("connection is closed")
                if len(payload) <= limit:
                    proto.send_text(payload)
                else:
                    view = memoryview(payload)
                    proto.send_text(view[:limit], fin=False)
                    for start in range(limit, len(view), limit):
                        proto.send_continuation(view[start : start + limit], fin=start + limit >= len(view))
                self._outbox.extend(proto.data_to_send())
            try:
                self._drain_outbox()
            except OSError as exc:
                raise self._error(f"connection lost while sending: {exc}") from exc

    def close(self, timeout: float = 2.0) -> None:
        """Send a close frame, wait up to ``timeout`` s for the server's, then drop the stream."""
        with self._proto_lock:
            if self._closing:
                return
            self._closing = True
            proto = self._proto
            if proto is not None and proto.state is State.OPEN:
                proto.send_close(1000)
                self._outbox.extend(proto.data_to_send())
        if proto is None:
            return
        if self._write_lock.acquire(timeout=max(timeout, 0.05)):
            try:
                self._drain_outbox()
            except OSError:
                pass
            finally:
                self._write_lock.release()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)
        if self._stream is not None:
            self._stream.close(timeout)
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

    def _handshake(self, stream: ByteStream, proto: ClientProtocol) -> list[Frame]:
        request = proto.connect()
        for name, value in self._headers():
            request.headers[name] = value
        proto.send_request(request)
        try:
            for chunk in proto.data_to_send():
                stream.write(chunk)
            while True:
                data = stream.read()
                if not data:
                    proto.receive_eof()
                    raise self._error("the server closed the connection during the websocket handshake")
                proto.receive_data(data)
                events = proto.events_received()
                if events:
                    break
        except OSError as exc:
            raise self._error(f"websocket handshake failed: {exc}") from exc
        response, leftover = events[0], cast("list[Frame]", events[1:])  # after the response: frames only
        if proto.handshake_exc is not None:
            raise self._refused(proto.handshake_exc)
        if isinstance(response, Response):
            advertised = response.headers.get(_FRAME_LIMIT_HEADER)
            if advertised is not None and advertised.isdigit() and int(advertised) > 0:
                self._frame_limit = int(advertised)
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

    def _drain_outbox(self) -> None:
        """Write what the protocol queued; the caller holds the write lock."""
        stream = self._stream
        assert stream is not None
        while True:
            with self._proto_lock:
                chunks, self._outbox = self._outbox, []
            if not chunks:
                return
            for chunk in chunks:
                if chunk:
                    stream.write(chunk)
                else:  # the protocol's "end of stream"
                    stream.shutdown_write()

    def _flush_from_reader(self) -> None:
        """Write queued control frames unless a sender holds the lock (it writes them after its own)."""
        while self._outbox and self._write_lock.acquire(blocking=False):
            try:
                self._drain_outbox()
            except OSError:
                return
            finally:
                self._write_lock.release()

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
                    if outgoing:
                        self._outbox.extend(outgoing)
                if outgoing:
                    self._flush_from_reader()
                # Delivered on the next pass: the frames read with the end of the stream.
                finished = not data or proto.state is State.CLOSED
        except (OSError, ValueError) as exc:
            error = exc
        on_close(self._closed_reason(proto, error))

    def _closed_reason(self, proto: ClientProtocol, error: BaseException | None) -> TransportClosedError:
        if self._closing:
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
