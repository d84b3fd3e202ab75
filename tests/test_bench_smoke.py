"""Every benchmark of ``nox -s bench``, with tiny sizes, so the code keeps working.

No timing assertions: these check that each benchmark runs end to end and
that what it measures is real (every flooded delta arrives typed and in
order, every decoded line is typed, each turn returns the model's answer).
Baselines (openai_codex, datamodel-codegen) are pinned only in the bench
session; where they are missing, only our side runs and the row says so.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from codex_app_server.generated.v2_all import CommandExecutionThreadItem, ItemCompletedEvent

from tests.bench import cold, decode, flood, flood_memory, imports, regen, run, turns
from tests.bench._core import TINY, Result
from tests.support.codex_env import find_codex_binary

pytestmark = pytest.mark.timeout(120)

HAS_OFFICIAL = importlib.util.find_spec("openai_codex") is not None
requires_codex = pytest.mark.skipif(find_codex_binary() is None, reason="no codex binary (openai-codex-cli-bin)")


def _measured(result: Result, *, baseline: bool) -> None:
    assert result.ours is not None and result.ours > 0, result
    if baseline:
        assert result.baseline is not None and result.baseline > 0, result
        assert result.ratio is not None
    else:
        assert result.baseline_samples == ()


def test_regen_writes_a_full_generation_and_times_it() -> None:
    result = regen.bench_regen(TINY)
    _measured(result, baseline=regen.baseline_missing() is None)


def test_regen_growth_covers_each_recorded_protocol_version() -> None:
    results = {r.name: r for r in regen.bench_regen_history(TINY)}
    assert list(results) == [f"regen_growth_{v}" for v in regen.HISTORY_VERSIONS]
    pinned = results["regen_growth_0.163.0"]
    _measured(pinned, baseline=False)
    assert pinned.extra["definitions"] == regen.definition_count(regen.PINNED_SCHEMA)
    for result in results.values():  # older dumps may be absent: then the row says why
        assert result.ours is not None or result.note.startswith("skipped")


def test_import_measures_time_and_peak_rss_in_fresh_interpreters() -> None:
    time_row, rss_row = imports.bench_imports(TINY)
    _measured(time_row, baseline=HAS_OFFICIAL)
    _measured(rss_row, baseline=HAS_OFFICIAL)
    # A fresh interpreter with pydantic and our models holds well over 10 MB.
    assert rss_row.ours is not None and rss_row.ours > 10


def test_decode_types_every_line_of_the_recorded_mix() -> None:
    lines = decode.mix_lines()
    methods = {json.loads(line)["method"] for line in lines}
    assert methods == set(decode.MIX_METHODS)
    for result in decode.bench_decode(TINY):
        _measured(result, baseline=result.name == "decode_floor" or HAS_OFFICIAL)


def test_decode_growth_line_is_a_typed_100kb_command_item() -> None:
    _, big = decode.growth_lines()
    event = decode.ours_decoder()(big)
    assert isinstance(event, ItemCompletedEvent)
    item = event.params.item
    assert isinstance(item, CommandExecutionThreadItem)
    assert item.aggregated_output is not None and len(item.aggregated_output) == decode.BIG_OUTPUT_BYTES
    for result in decode.bench_decode_growth(TINY):
        _measured(result, baseline=HAS_OFFICIAL)


def test_flood_delivers_every_delta_through_the_public_stream(tmp_path: Path) -> None:
    fake = flood.write_fake_codex(tmp_path, 50)
    assert flood.consume_ours(fake, 50).wall > 0  # raises unless all 50 deltas arrive typed, in order
    with pytest.raises(RuntimeError, match="received 50 deltas, expected 51"):
        flood.consume_ours(fake, 51)
    for result in flood.bench_flood(TINY):
        _measured(result, baseline=HAS_OFFICIAL)


@pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="the [remote] extra is not installed")
def test_flood_floor_reads_every_delta_raw_and_typed_over_stdio_and_a_websocket(tmp_path: Path) -> None:
    from tests.bench import floor
    from tests.bench.fake_ws_flood import FloodWsServer

    fake = flood.write_fake_codex(tmp_path, 50)
    assert floor.consume_raw_stdio(fake, 50).wall > 0  # raises unless all 50 deltas arrive, in order
    with pytest.raises(RuntimeError, match="received 50 deltas, expected 51"):
        floor.consume_raw_stdio(fake, 51)
    with FloodWsServer(50) as server:
        assert floor.consume_raw_ws(server.url, 50).wall > 0
        with pytest.raises(RuntimeError, match="received 50 deltas, expected 51"):
            floor.consume_raw_ws(server.url, 51)
    rows = floor.bench_flood_floor(TINY)
    assert [row.name for row in rows] == ["flood_floor", "flood_floor_cpu", "flood_floor_ws", "flood_floor_ws_cpu"]
    for row in rows:
        _measured(row, baseline=True)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_flood_memory_counts_every_delta_in_a_fresh_interpreter(tmp_path: Path) -> None:
    fake = flood.write_fake_codex(tmp_path, 50)
    assert flood_memory._measure("ours", fake, 50) < 50  # raises unless all 50 deltas arrive
    with pytest.raises(RuntimeError, match="received 50 deltas, expected 51"):
        flood_memory._measure("ours", fake, 51)
    _measured(flood_memory.bench_flood_memory(TINY), baseline=HAS_OFFICIAL)


@pytest.mark.real
@requires_codex
def test_turn_runs_real_turns_on_every_client() -> None:
    turn, official = turns.bench_turn(TINY)
    _measured(turn, baseline=True)
    _measured(official, baseline=HAS_OFFICIAL)


@pytest.mark.real
@requires_codex
def test_memory_turns_reports_rss_after_each_turn() -> None:
    result = turns.bench_memory_turns(TINY)
    rss = result.extra["rss_kb_by_turn"]
    assert isinstance(rss, dict)
    assert sorted(rss) == list(range(TINY.memory_turns + 1))
    assert all(kb > 10_000 for kb in rss.values())


@pytest.mark.real
@requires_codex
def test_cold_turn_answers_in_fresh_interpreters() -> None:
    time_row, rss_row = cold.bench_cold_turn(TINY)  # each child raises unless the answer is the model's
    _measured(time_row, baseline=HAS_OFFICIAL)
    _measured(rss_row, baseline=HAS_OFFICIAL)
    import_s = time_row.extra["import_s"]  # the import is inside the timed span, not before it
    assert isinstance(import_s, float) and 0 < import_s < time_row.ours_samples[0]


def test_run_writes_json_and_a_markdown_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert run.main(["--tiny", "--only", "decode", "--json", str(out)]) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    names = [b["name"] for b in payload["benchmarks"]]
    assert names == ["decode", "decode_floor"]
    for row in payload["benchmarks"]:
        assert {"name", "ours", "baseline", "baseline_name", "ratio", "target", "unit", "runs"} <= set(row)
        assert {"min", "median", "max"} <= set(row)
    table = capsys.readouterr().out
    assert "| decode |" in table and "| decode_floor |" in table


@pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="the [remote] extra is not installed")
def test_flood_ws_delivers_every_delta_over_a_websocket() -> None:
    from tests.bench import remote
    from tests.bench.fake_ws_flood import FloodWsServer

    with FloodWsServer(50) as server:
        assert remote.consume_ws(server.url, 50).wall > 0  # raises unless all 50 deltas arrive typed, in order
        with pytest.raises(RuntimeError, match="received 50 deltas, expected 51"):
            remote.consume_ws(server.url, 51)
    for result in remote.bench_flood_ws(TINY):
        _measured(result, baseline=HAS_OFFICIAL)


@pytest.mark.real
@requires_codex
@pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="the [remote] extra is not installed")
def test_turn_ws_runs_real_turns_over_a_websocket_and_stdio() -> None:
    from tests.bench import remote

    _measured(remote.bench_turn_ws(TINY), baseline=True)
