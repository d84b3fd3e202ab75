"""A scriptable fake OpenAI Responses-API model provider (the testing kit's server).

Standard library only. Binds 127.0.0.1 on an ephemeral port and answers
``POST /v1/responses`` with server-sent events shaped like the real API (the
subset ``codex`` parses: ``response.created``, ``response.output_item.added``,
``response.output_text.delta``, ``response.output_item.done``,
``response.completed`` with usage, ``response.failed``). Every other path
gets a 404.

Each POST is answered by ``respond(request)`` when given and it returns a
reply (see ``_requests``), else by the next scripted reply of a FIFO queue;
when the queue is empty, ``default`` answers (a short text reply)::

    with FakeProvider([FunctionCall(), Text("done")]) as provider:
        provider.base_url    # "http://127.0.0.1:PORT/v1"
        ...
        provider.requests    # parsed JSON bodies of every POST /v1/responses
"""

from __future__ import annotations

import gzip
import itertools
import json
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .._errors import CodexRuntimeError, CodexTimeoutError
from ._requests import ModelRequest, Responder
from ._scripts import (
    DEFAULT_TEXT,
    Delay,
    Failed,
    FunctionCall,
    Hang,
    HttpError,
    Raw,
    Script,
    Text,
    Usage,
    final_text,
)

__all__ = [
    "DEFAULT_TEXT",
    "Delay",
    "FakeProvider",
    "Failed",
    "FunctionCall",
    "Hang",
    "HttpError",
    "Raw",
    "RequestRecord",
    "Script",
    "Text",
    "Usage",
    "final_text",
    "sse_events",
]

# The only address the provider ever binds: tests must never reach beyond loopback.
_LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------
# SSE rendering
# --------------------------------------------------------------------------


class _Seq:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        event["sequence_number"] = self.n
        self.n += 1
        return event


def _response_obj(resp_id: str, model: str, status: str, output: list[Any]) -> dict[str, Any]:
    return {
        "id": resp_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
    }


def sse_events(
    script: Text | FunctionCall | Failed, *, resp_id: str, item_id: str, model: str = "mock-model"
) -> list[tuple[dict[str, Any], float]]:
    """The SSE events (with the delay to sleep before each) for a script."""
    seq = _Seq()
    out: list[tuple[dict[str, Any], float]] = []
    out.append(
        (
            seq(
                {
                    "type": "response.created",
                    "response": _response_obj(resp_id, model, "in_progress", []),
                }
            ),
            0.0,
        )
    )
    if isinstance(script, Failed):
        resp = _response_obj(resp_id, model, "failed", [])
        resp["error"] = {"code": script.code, "message": script.message}
        out.append((seq({"type": "response.failed", "response": resp}), 0.0))
        return out

    if isinstance(script, Text):
        pieces = script.pieces()
        text = "".join(pieces)
        base: dict[str, Any] = {"id": item_id, "type": "message", "role": "assistant"}
        if script.phase is not None:
            base["phase"] = script.phase
        out.append(
            (
                seq(
                    {
                        "type": "response.output_item.added",
                        "output_index": 0,
                        "item": {**base, "status": "in_progress", "content": []},
                    }
                ),
                0.0,
            )
        )
        out.append(
            (
                seq(
                    {
                        "type": "response.content_part.added",
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "part": {"type": "output_text", "text": "", "annotations": []},
                    }
                ),
                0.0,
            )
        )
        for piece in pieces:
            out.append(
                (
                    seq(
                        {
                            "type": "response.output_text.delta",
                            "item_id": item_id,
                            "output_index": 0,
                            "content_index": 0,
                            "delta": piece,
                            "logprobs": [],
                        }
                    ),
                    script.delay_s,
                )
            )
        part = {"type": "output_text", "text": text, "annotations": []}
        out.append(
            (
                seq(
                    {
                        "type": "response.output_text.done",
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "text": text,
                        "logprobs": [],
                    }
                ),
                0.0,
            )
        )
        out.append(
            (
                seq(
                    {
                        "type": "response.content_part.done",
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "part": part,
                    }
                ),
                0.0,
            )
        )
        item = {**base, "status": "completed", "content": [part]}
    else:  # FunctionCall
        args = script.arguments_json()
        call_id = script.call_id or f"call_{item_id}"
        base = {"id": item_id, "type": "function_call", "call_id": call_id, "name": script.name}
        if script.namespace is not None:
            base["namespace"] = script.namespace
        out.append(
            (
                seq(
                    {
                        "type": "response.output_item.added",
                        "output_index": 0,
                        "item": {**base, "arguments": "", "status": "in_progress"},
                    }
                ),
                script.delay_s,
            )
        )
        out.append(
            (
                seq(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item_id,
                        "output_index": 0,
                        "delta": args,
                    }
                ),
                0.0,
            )
        )
        out.append(
            (
                seq(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": item_id,
                        "output_index": 0,
                        "arguments": args,
                    }
                ),
                0.0,
            )
        )
        item = {**base, "arguments": args, "status": "completed"}

    out.append((seq({"type": "response.output_item.done", "output_index": 0, "item": item}), 0.0))
    resp = _response_obj(resp_id, model, "completed", [item])
    resp["usage"] = script.usage.to_json()
    out.append((seq({"type": "response.completed", "response": resp}), 0.0))
    return out


def _encode_sse(event: Mapping[str, Any]) -> bytes:
    data = json.dumps(event, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request the provider received (any path)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or raw bytes if not JSON


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: dozens of turns starting at
    # once (tests/bench concurrency_32) overflowed it, and codex, which does
    # not retry against the fake provider, failed a turn ("error sending request").
    request_queue_size = 128
    provider: FakeProvider


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # -- helpers -----------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        enc = (self.headers.get("Content-Encoding") or "").lower()
        try:
            if enc == "gzip":
                raw = gzip.decompress(raw)
            elif enc == "deflate":
                raw = zlib.decompress(raw)
        except Exception:  # pragma: no cover - keep raw bytes
            pass
        return raw

    def _simple(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _record(self, body: bytes) -> Any:
        try:
            parsed: Any = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            parsed = body
        self.server.provider._record(RequestRecord(self.command, self.path, dict(self.headers.items()), parsed))
        return parsed

    # -- verbs -------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        self._record(b"")
        self._simple(404, b'{"error":{"message":"not found"}}')

    def do_DELETE(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        if path != "/v1/responses":
            self._record(body)
            self._simple(404, b'{"error":{"message":"not found"}}')
            return
        parsed = self._record(body)
        provider = self.server.provider
        script, n = provider._next_script(parsed)
        model = parsed.get("model", "mock-model") if isinstance(parsed, dict) else "mock-model"
        try:
            self._answer(script, n, model)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # codex dropped the stream (interrupt, shutdown)
        finally:
            self.close_connection = True

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _answer(self, script: Script, n: int, model: str) -> None:
        provider = self.server.provider
        while isinstance(script, Delay):
            if provider._stopping.wait(script.seconds):
                return
            script = script.then
        if isinstance(script, HttpError):
            self._simple(script.status, script.body_bytes(), script.headers)
            return
        self._start_sse()
        resp_id = f"resp_fake_{n}"
        if isinstance(script, Hang):
            if script.send_created:
                created = {
                    "type": "response.created",
                    "sequence_number": 0,
                    "response": _response_obj(resp_id, model, "in_progress", []),
                }
                self.wfile.write(_encode_sse(created))
                self.wfile.flush()
            provider._wait_release(script.timeout_s)
            return
        if isinstance(script, Raw):
            for raw_event in script.events:
                if script.delay_s and provider._stopping.wait(script.delay_s):
                    return
                self.wfile.write(_encode_sse(raw_event))
                self.wfile.flush()
            return
        item_id = f"{'msg' if isinstance(script, Text) else 'fc'}_fake_{n}"
        for ev, delay in sse_events(script, resp_id=resp_id, item_id=item_id, model=model):
            if delay and provider._stopping.wait(delay):
                return
            self.wfile.write(_encode_sse(ev))
            self.wfile.flush()


class FakeProvider:
    """A Responses-API server on 127.0.0.1 driven by a script queue, or by ``respond``.

    ``respond``: a function of each model request (a ``ModelRequest``) that
    returns its reply, or ``None`` to take the queue's; what it raises is
    kept in ``errors`` and answered with HTTP 500 (the turn fails).
    ``requests``: parsed JSON bodies of every ``POST /v1/responses`` in
    arrival order. ``log``: every HTTP request (``RequestRecord``), any path.
    """

    def __init__(
        self,
        script: Iterable[Script] = (),
        *,
        default: Script | None = None,
        respond: Responder | None = None,
    ) -> None:
        self.default: Script = default if default is not None else Text()
        self.respond = respond
        self.requests: list[Any] = []
        self.errors: list[Exception] = []
        self.log: list[RequestRecord] = []
        self._queue: deque[Script] = deque(script)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._counter = itertools.count(1)
        self._stopping = threading.Event()
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeProvider:
        if self._server is not None:
            return self
        server = _Server((_LOOPBACK, 0), _Handler)
        server.provider = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="fake-provider",
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._release.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise CodexRuntimeError("FakeProvider is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # -- scripting ---------------------------------------------------------

    def enqueue(self, *scripts: Script) -> None:
        """Append replies; each ``POST /v1/responses`` consumes one."""
        with self._lock:
            self._queue.extend(scripts)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def release(self) -> None:
        """Let every current ``Hang`` stream close (and future ones not hang)."""
        self._release.set()

    def reset_release(self) -> None:
        self._release.clear()

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[Any]:
        """Block until at least ``n`` responses requests arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CodexTimeoutError(f"got {len(self.requests)} of {n} requests")
                self._cond.wait(left)
            return list(self.requests)

    # -- internals ---------------------------------------------------------

    def _record(self, rec: RequestRecord) -> None:
        with self._cond:
            self.log.append(rec)
            if rec.method == "POST" and rec.path.split("?", 1)[0].rstrip("/") == "/v1/responses":
                self.requests.append(rec.body)
            self._cond.notify_all()

    def _next_script(self, body: Any) -> tuple[Script, int]:
        with self._lock:
            number = next(self._counter)
        chosen = self._responded(ModelRequest(body, number))  # outside the lock: it may call enqueue()
        with self._lock:
            if chosen is None:
                chosen = self._queue.popleft() if self._queue else self.default
            return chosen, number

    def _responded(self, request: ModelRequest) -> Script | None:
        if self.respond is None:
            return None
        try:
            return self.respond(request)
        except Exception as exc:  # a bug of the test's responder: fail the turn, keep it for the test
            with self._lock:
                self.errors.append(exc)
            return HttpError(500, f"FakeProvider respond() raised {exc!r}")

    def _wait_release(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._release.is_set() and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._release.wait(min(left, 0.05))
