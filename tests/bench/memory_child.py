"""Child process of the memory_turns benchmark: N real turns on one thread.

Usage: ``python -m tests.bench.memory_child CODEX_BIN BASE_URL TURNS EVERY WARM``.
Prints one JSON line ``{"turn": k, "rss_kb": ..., ...}`` (``_heap.heap_sample``)
before the first turn, after turn WARM and after every EVERY turns (always
after the last), each after a full garbage collection so only live memory
counts.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from codex_app_server import Codex

from tests.support.fake_provider import DEFAULT_TEXT

from ._heap import heap_sample
from .turns import PROMPT, ours_config


def _report(turn: int) -> None:
    print(json.dumps({"turn": turn, **heap_sample()}), flush=True)


def main(argv: list[str]) -> int:
    binary, base_url, turns, every, warm = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        with Codex(ours_config(binary, base_url, Path(tmp))) as codex:
            thread = codex.thread_start()
            _report(0)
            for turn in range(1, turns + 1):
                final = thread.run(PROMPT).final_response
                if final != DEFAULT_TEXT:
                    raise SystemExit(f"turn {turn}: unexpected final response {final!r}")
                if turn == warm or turn % every == 0 or turn == turns:
                    _report(turn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
