"""Benchmarks against the official SDK and the physical floor (``nox -s bench``).

``python -m tests.bench.run [--quick | --tiny] [--only NAME,...]`` (from the
repo root, with the SDK installed) prints a markdown table and writes
``bench-results.json``. The nox session pins the baselines (openai-codex,
datamodel-code-generator, black) and the real codex binary.

============  =====================================================  ==================
name          ours vs baseline                                       target
============  =====================================================  ==================
regen         regeneration vs datamodel-codegen + black               ratio <= 0.10
import_time   ``import codex_app_server`` vs ``import openai_codex``   ratio <= 0.33
import_rss    peak RSS after that import                             ratio <= 0.50
decode        µs per notification line vs the official decode        ratio <= 0.50
decode_floor  the same vs bare ``json.loads``                         ratio <= 3.0
flood         msgs/s through ``TurnHandle.stream()`` vs official      ratio >= 2.0
flood_floor   the same vs ``json.loads`` per line of the same server  ratio >= 0.9
flood_floor_  the same over a websocket (``websockets`` client)        information
ws
turn          ``Thread.run`` vs a raw JSON-lines client (real codex)  ratio <= 1.10
memory_turns  RSS growth over 1,000 real turns on one thread         <= 1 KiB/turn
cold_turn     fresh interpreter: import, start, first answer          information
cold_turn_rss peak RSS of that process                               information
============  =====================================================  ==================

Plus cost growth (information only): regeneration time per recorded protocol
version and decode time of a 100 KB item vs a delta. Not tests: nothing here
asserts a time; ``tests/test_bench_smoke.py`` runs every benchmark with tiny
sizes so the code keeps working.
"""
