"""Record real ``codex app-server`` traffic into JSON-lines samples.

Usage (from the repository root)::

    CODEX_BIN=/path/to/codex python -m tests.support.record_samples [OUTDIR]

OUTDIR defaults to ``tests/data/real_samples``. Everything runs offline
against ``FakeProvider`` on 127.0.0.1. Files written:

* ``simple_turn.jsonl``   every server message: initialize, thread/start, a
  3-delta text turn (phase ``final_answer``) up to ``turn/completed``.
* ``approval_turn.jsonl`` every server message of an ``untrusted`` thread
  whose model calls ``exec_command`` ``echo hi``; the approval request is
  answered ``{"decision": "accept"}``.
* ``failed_turn.jsonl``   every server message of a turn whose provider
  answers HTTP 500.
* ``responses.jsonl``     one ``{"method", "params", "result"}`` line per
  successful request of a set of methods.

The per-run temp dir is rewritten to ``/tmp/codex-sample`` for stable paths.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .codex_env import (
    RawAppServer,
    find_codex_binary,
    isolated_env,
    mock_config_overrides,
    raw_argv,
)
from .fake_provider import FakeProvider, FunctionCall, Hang, HttpError, Script, Text, final_text

SAMPLE_ROOT = "/tmp/codex-sample"
DEFAULT_OUTDIR = Path(__file__).resolve().parents[1] / "data" / "real_samples"
TIMEOUT = 15.0


class _Session:
    """A fresh temp dir + fake provider + app-server."""

    def __init__(self, binary: str, scripts: Iterable[Script] = ()) -> None:
        self.binary = binary
        self.scripts = list(scripts)

    def __enter__(self) -> _Session:
        self.tmp = tempfile.mkdtemp(prefix="codex-sample-")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.work)
        self.provider = FakeProvider(self.scripts).start()
        self.server = RawAppServer(
            raw_argv(self.binary, mock_config_overrides(self.provider.base_url)),
            isolated_env(self.tmp),
            cwd=self.work,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.server.close()
        finally:
            self.provider.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def scrub(self, text: str) -> str:
        for prefix in {os.path.realpath(self.tmp), self.tmp}:
            text = text.replace(prefix, SAMPLE_ROOT)
        return text

    def dump(self, obj: Any) -> str:
        return self.scrub(json.dumps(obj, ensure_ascii=False))


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _text(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def record_simple_turn(binary: str, out: Path) -> None:
    reply = final_text("Hello from the fake model.", chunks=["Hello", " from the", " fake model."])
    with _Session(binary, [reply]) as s:
        srv = s.server
        srv.initialize()
        tid = srv.request("thread/start", {})["thread"]["id"]
        turn = srv.run_turn(tid, "Say hello.", TIMEOUT)
        assert turn["status"] == "completed", turn
        _write(out, [s.dump(m) for m in srv.messages])


def record_approval_turn(binary: str, out: Path) -> None:
    scripts = [
        FunctionCall("exec_command", {"cmd": "echo hi", "yield_time_ms": 1000}),
        final_text("The command printed hi."),
    ]
    with _Session(binary, scripts) as s:
        srv = s.server
        srv.on_server_request = lambda method, params: {"decision": "accept"}
        srv.initialize()
        tid = srv.request("thread/start", {"approvalPolicy": "untrusted"})["thread"]["id"]
        turn = srv.run_turn(tid, "Run echo hi.", TIMEOUT)
        assert turn["status"] == "completed", turn
        methods = [r["method"] for r in srv.server_requests]
        assert methods == ["item/commandExecution/requestApproval"], methods
        _write(out, [s.dump(m) for m in srv.messages])


def record_failed_turn(binary: str, out: Path) -> None:
    with _Session(binary, [HttpError(500)]) as s:
        srv = s.server
        srv.initialize()
        tid = srv.request("thread/start", {})["thread"]["id"]
        turn = srv.run_turn(tid, "This will fail.", TIMEOUT)
        assert turn["status"] == "failed", turn
        _write(out, [s.dump(m) for m in srv.messages])


def record_responses(binary: str, out: Path) -> None:
    lines: list[str] = []
    with _Session(binary) as s:
        srv = s.server
        fp = s.provider

        def call(method: str, params: Any) -> Any:
            result = srv.request(method, params, TIMEOUT)
            entry = {"method": method, "params": params, "result": result}
            lines.append(s.dump(entry))
            return result

        def wait_turn(thread_id: str, turn_id: str) -> dict[str, Any]:
            note = srv.wait_for(
                "turn/completed",
                lambda n: n["params"]["threadId"] == thread_id and n["params"]["turn"]["id"] == turn_id,
                TIMEOUT,
            )
            turn: dict[str, Any] = note["params"]["turn"]
            return turn

        client_info = {"name": "sample_recorder", "title": None, "version": "0.0.0"}
        call("initialize", {"clientInfo": client_info})
        srv.notify("initialized")

        tid = call("thread/start", {})["thread"]["id"]

        fp.enqueue(final_text("Hello from the fake model."))
        started = call("turn/start", {"threadId": tid, "input": _text("Say hello.")})
        assert wait_turn(tid, started["turn"]["id"])["status"] == "completed"

        call("thread/read", {"threadId": tid, "includeTurns": True})
        call("thread/list", {})
        call("model/list", {})
        call("config/read", {})
        call("thread/name/set", {"threadId": tid, "name": "Sample thread"})

        fork_id = call("thread/fork", {"threadId": tid})["thread"]["id"]
        call("thread/archive", {"threadId": fork_id})
        call("thread/unarchive", {"threadId": fork_id})
        call("thread/resume", {"threadId": fork_id})

        # compact runs as a turn of its own (one provider request)
        call("thread/compact/start", {"threadId": tid})
        srv.wait_for(
            "item/completed",
            lambda n: n["params"]["item"]["type"] == "contextCompaction",
            TIMEOUT,
        )
        srv.wait_for("turn/completed", lambda n: n["params"]["threadId"] == tid, TIMEOUT)

        # interrupt a turn whose provider stream hangs
        n_req = len(fp.requests)
        fp.enqueue(Hang())
        started = srv.request("turn/start", {"threadId": tid, "input": _text("Hang.")}, TIMEOUT)
        turn_id = started["turn"]["id"]
        fp.wait_for_requests(n_req + 1, TIMEOUT)
        call("turn/interrupt", {"threadId": tid, "turnId": turn_id})
        assert wait_turn(tid, turn_id)["status"] == "interrupted"
        fp.release()

        # steer a slow turn
        fp.enqueue(
            Text("slow reply", chunks=["s", "l", "o", "w"], delay_s=0.3),
            final_text("Steered reply."),
        )
        started = srv.request("turn/start", {"threadId": tid, "input": _text("Be slow.")}, TIMEOUT)
        turn_id = started["turn"]["id"]
        srv.wait_for("item/agentMessage/delta", lambda n: n["params"]["turnId"] == turn_id, TIMEOUT)
        call("turn/steer", {"threadId": tid, "expectedTurnId": turn_id, "input": _text("Steer.")})
        assert wait_turn(tid, turn_id)["status"] == "completed"

    _write(out, lines)


def record_all(outdir: Path, binary: str | None = None) -> list[Path]:
    binary = binary or find_codex_binary()
    if binary is None:
        raise SystemExit("no codex binary: set CODEX_BIN or install openai-codex-cli-bin")
    outdir.mkdir(parents=True, exist_ok=True)
    jobs = [
        ("simple_turn.jsonl", record_simple_turn),
        ("approval_turn.jsonl", record_approval_turn),
        ("failed_turn.jsonl", record_failed_turn),
        ("responses.jsonl", record_responses),
    ]
    written = []
    for name, fn in jobs:
        path = outdir / name
        fn(binary, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else DEFAULT_OUTDIR
    for path in record_all(outdir):
        n = sum(1 for _ in path.open(encoding="utf-8"))
        print(f"{path}: {n} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
