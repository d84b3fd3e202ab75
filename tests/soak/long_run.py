"""A long soak of one client's memory: a manual tool, not a test (CI never runs it).

    python -m tests.soak.long_run --turns 10000 [--new-thread-every 100] [--json FILE]

One ``Codex`` client in this process runs real turns (the real codex binary,
a fake provider in a child process: ``provider_child``) one after another,
on one thread or on a new thread every N turns (the old one dropped, as a
service answering one conversation per thread does). After every
``--every`` turns it makes one round trip (the reader has read all a turn
sent) and samples this process's memory after a full collection (RSS, live
Python blocks, malloc in use and free: ``tests.bench._heap``). It prints a
line every 1,000 turns and a verdict: the least-squares slope of RSS over
the last half of the turns, which fails above ``--max-kib-per-turn`` (1, the
memory_turns target). Exit status 1 when it does.

Measured (codex 0.163.0, CPython 3.11, a shared 2-core machine, niced):

* one thread, 10,000 turns in 36 min (its whole history goes to the provider
  with each turn, so turns slow down: 88 s for the first thousand, 290 s for
  the last): RSS 49,224 KiB after turn 1,000, then 49,232, 49,236, 49,244,
  49,248, 49,252, 49,256, 49,256, 49,256 and 49,264 KiB after turn 10,000;
  last half 0.003 KiB/turn (this tool's own samples included);
* a new thread every 100 turns, 10,000 turns in 8 min: 49,420 KiB after turn
  1,000, 49,464 KiB after turn 10,000; last half 0.004 KiB/turn.

The bench row memory_turns (1,000 turns) and tests/soak/test_memory.py
(tracemalloc: 1,000 turns on one thread, 300 on a thread each) are what CI
measures; this says the line stays flat ten times longer. Run it at low
priority (``nice -n 10``) on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from codex_app_server import Codex
from codex_app_server.testing import DEFAULT_TEXT

from tests.bench._heap import heap_sample
from tests.bench.turns import slope
from tests.faults.support import CODEX_BIN, NO_CODEX, offline_config

from .provider_child import provider_in_a_child

PRINT_EVERY = 1000


def soak(turns: int, every: int, new_thread_every: int) -> list[dict[str, float]]:
    """The memory samples (with ``turn`` and ``seconds``) of ``turns`` real turns, one after another."""
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    with provider_in_a_child() as base_url, tempfile.TemporaryDirectory(prefix="long-run-") as home:
        with Codex(offline_config(base_url, Path(home))) as codex:
            thread = codex.thread_start()
            for turn in range(1, turns + 1):
                if new_thread_every and turn > 1 and (turn - 1) % new_thread_every == 0:
                    thread = codex.thread_start()
                final = thread.run(f"Question {turn}").final_response
                if final != DEFAULT_TEXT:
                    raise SystemExit(f"turn {turn}: unexpected final response {final!r}")
                if turn % every == 0 or turn == turns:
                    codex.account()  # a round trip: what codex sent after the turn's end is read
                    sample = {"turn": turn, "seconds": round(time.monotonic() - started, 1), **heap_sample()}
                    samples.append(sample)
                    if turn % PRINT_EVERY == 0 or turn == turns:
                        print(json.dumps(sample), flush=True)
    return samples


def last_half_slope(samples: list[dict[str, float]]) -> float:
    """KiB of RSS per turn over the last half of the turns (least squares)."""
    half = samples[-1]["turn"] / 2
    return slope([(int(s["turn"]), int(s["rss_kb"])) for s in samples if s["turn"] >= half])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak.long_run", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=100, help="turns between memory samples")
    parser.add_argument("--new-thread-every", type=int, default=0, help="start a new thread every N turns (0: one)")
    parser.add_argument("--max-kib-per-turn", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args(argv)
    if CODEX_BIN is None:
        print(NO_CODEX, file=sys.stderr)
        return 2
    samples = soak(args.turns, args.every, args.new_thread_every)
    if args.json is not None:
        args.json.write_text(json.dumps(samples, indent=1), encoding="utf-8")
    growth = last_half_slope(samples)
    first, last = samples[0], samples[-1]
    print(
        f"{last['turn']} turns in {last['seconds']} s; RSS {first['rss_kb']:,} KiB after turn {first['turn']}, "
        f"{last['rss_kb']:,} KiB after turn {last['turn']}; last half: {growth:.3f} KiB/turn "
        f"(limit {args.max_kib_per_turn})"
    )
    return 0 if growth <= args.max_kib_per_turn else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
