#!/usr/bin/env python3
"""A scriptable stand-in for ``codex app-server --listen stdio://``.

Speaks the app-server's JSON lines on stdin/stdout (no ``"jsonrpc"`` member),
driven by a JSON script given as ``--script FILE`` or ``--script-json TEXT``::

    {
      "on_start": [ACTION, ...],           # run once at startup
      "methods": {                          # client requests, by method
        "initialize": [ACTION, ...],        #   same actions on every call, or
        "flaky": {"sequence": [[...], [...]]}  # one list per call, last repeats
      },
      "default": [ACTION, ...],            # other methods; default [{"echo": true}]
      "on_notification": {"initialized": [ACTION, ...]},
      "report_client_messages": true,      # see below (default true)
      "exit_on_eof": true,                 # false: keep running after stdin EOF
      "ignore_sigterm": false              # true: survive SIGTERM (needs SIGKILL)
    }

ACTION is an object; its key says what to do:

    {"result": X}                  answer the current request with X
    {"echo": true}                 answer {"method", "params", "hasParams"}
    {"error": {code, message, data?}}  answer with a JSON-RPC error
    {"big_result": N}              answer {"data": "x" * N, "len": N}
    {"notify": M, "params": P, "count": N, "seq_key": "seq"}
                                   N notifications (params[seq_key] = 0..N-1)
    {"request": M, "params": P, "id": ID}   a server-to-client request
    {"send": OBJ}                  any JSON object, as one line
    {"raw": TEXT, "newline": true} raw text (malformed lines, partial lines;
                                   "\\udcXX" stands for the raw byte 0xXX)
    {"raw_answer": TEXT}           raw text as for "raw", "{id}" replaced by the
                                   current request's id (an unreadable answer)
    {"stderr": TEXT}               a line on stderr
    {"sleep": SECONDS}
    {"exit": CODE}                 exit at once (os._exit), stdout flushed
    {"kill": true}                 SIGKILL ourselves (POSIX)
    {"close_stdout": true}         close stdout and keep running (reading stdin)

Without a rule, ``initialize`` gets a codex-like result and other requests
are echoed. When ``report_client_messages`` is true, every notification the
client sends and every answer it gives to a server request is reported back
as a notification ``fake/clientNotification`` / ``fake/clientResponse``
whose params are the client's message, so tests can see them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

_out = sys.stdout.buffer
_INITIALIZE_RESULT = {
    "userAgent": "fake_stdio_server/0.0.0",
    "codexHome": "/nonexistent/codex-home",
    "platformFamily": "unix",
    "platformOs": "linux",
}


def _write(data: bytes) -> None:
    _out.write(data)
    _out.flush()


def _send(obj: object) -> None:
    _write(json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n")


def _run(actions: list[dict[str, Any]], request: dict[str, Any] | None) -> None:
    rid = request.get("id") if request else None
    for action in actions:
        if "result" in action:
            _send({"id": rid, "result": action["result"]})
        elif "echo" in action:
            assert request is not None
            _send(
                {
                    "id": rid,
                    "result": {
                        "method": request.get("method"),
                        "params": request.get("params"),
                        "hasParams": "params" in request,
                    },
                }
            )
        elif "error" in action:
            _send({"id": rid, "error": action["error"]})
        elif "big_result" in action:
            size = int(action["big_result"])
            _send({"id": rid, "result": {"data": "x" * size, "len": size}})
        elif "notify" in action:
            count = int(action.get("count", 1))
            params = dict(action.get("params") or {})
            seq_key = action.get("seq_key", "seq")
            chunk: list[bytes] = []
            for i in range(count):
                if count > 1:
                    params[seq_key] = i
                chunk.append(json.dumps({"method": action["notify"], "params": params}, separators=(",", ":")).encode())
                if len(chunk) >= 1000:
                    _write(b"\n".join(chunk) + b"\n")
                    chunk.clear()
            if chunk:
                _write(b"\n".join(chunk) + b"\n")
        elif "request" in action:
            _send({"id": action.get("id", 0), "method": action["request"], "params": action.get("params", {})})
        elif "send" in action:
            _send(action["send"])
        elif "raw_answer" in action:
            text = str(action["raw_answer"]).replace("{id}", json.dumps(rid)) + "\n"
            _write(text.encode("utf-8", "surrogateescape"))
        elif "raw" in action:
            text = str(action["raw"]) + ("\n" if action.get("newline", True) else "")
            _write(text.encode("utf-8", "surrogateescape"))  # "\udcff" -> byte 0xff
        elif "stderr" in action:
            sys.stderr.write(str(action["stderr"]) + "\n")
            sys.stderr.flush()
        elif "sleep" in action:
            time.sleep(float(action["sleep"]))
        elif "exit" in action:
            _out.flush()
            sys.stderr.flush()
            os._exit(int(action["exit"]))
        elif "kill" in action:
            os.kill(os.getpid(), signal.SIGKILL)
        elif "close_stdout" in action:
            _out.flush()
            os.close(1)
        else:
            raise SystemExit(f"fake_stdio_server: unknown action {action!r}")


def main(argv: list[str]) -> int:
    script: dict[str, Any] = {}
    if len(argv) == 2 and argv[0] == "--script":
        with open(argv[1], encoding="utf-8") as fh:
            script = json.load(fh)
    elif len(argv) == 2 and argv[0] == "--script-json":
        script = json.loads(argv[1])
    elif argv:
        raise SystemExit("usage: fake_stdio_server.py [--script FILE | --script-json JSON]")

    if script.get("ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    methods: dict[str, Any] = script.get("methods", {})
    default: list[dict[str, Any]] = script.get("default", [{"echo": True}])
    on_notification: dict[str, Any] = script.get("on_notification", {})
    report = script.get("report_client_messages", True)
    calls: dict[str, int] = {}

    _run(script.get("on_start", []), None)
    for raw in sys.stdin.buffer:
        try:
            message = json.loads(raw)
        except ValueError:
            sys.stderr.write(f"fake_stdio_server: bad line {raw[:80]!r}\n")
            sys.stderr.flush()
            continue
        method = message.get("method")
        if method is None:  # the client's answer to one of our requests
            if report:
                _send({"method": "fake/clientResponse", "params": message})
            continue
        if "id" not in message:
            if report:
                _send({"method": "fake/clientNotification", "params": message})
            _run(on_notification.get(method, []), None)
            continue
        rule = methods.get(method)
        if rule is None:
            actions = [{"result": _INITIALIZE_RESULT}] if method == "initialize" else default
        elif isinstance(rule, dict):
            sequence = rule["sequence"]
            index = calls.get(method, 0)
            calls[method] = index + 1
            actions = sequence[min(index, len(sequence) - 1)]
        else:
            actions = rule
        _run(actions, message)

    if not script.get("exit_on_eof", True):
        while True:
            time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
