"""Run the benchmarks: ``python -m tests.bench.run [--quick] [--only NAME,...]``.

``nox -s bench`` calls this. Prints a markdown table (ours, baseline, ratio,
target) and writes ``bench-results.json`` at the repo root: one object per
benchmark with every sample. Each number is measured in this run.
Exit status 1 if a benchmark crashed (a missed target is reported, not fatal).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from ._core import FULL, QUICK, ROOT, TINY, Result, Sizes, markdown_table

Bench = Callable[[Sizes], "Result | list[Result]"]


def benchmarks() -> dict[str, Bench]:
    # Imported here so `--help` stays instant and a broken module names itself.
    from . import cold, decode, flood, flood_memory, floor, imports, regen, remote, turns

    return {
        "regen": regen.bench_regen,
        "import": imports.bench_imports,
        "decode": decode.bench_decode,
        "flood": flood.bench_flood,
        "flood_memory": flood_memory.bench_flood_memory,
        "flood_floor": floor.bench_flood_floor,
        "turn": turns.bench_turn,
        "turn_ws": remote.bench_turn_ws,
        "flood_ws": remote.bench_flood_ws,
        "concurrency": remote.bench_concurrency,
        "memory_turns": turns.bench_memory_turns,
        "cold_turn": cold.bench_cold_turn,
        "regen_growth": regen.bench_regen_history,
        "decode_growth": decode.bench_decode_growth,
    }


def run(names: Sequence[str], sizes: Sizes, log: Callable[[str], None]) -> tuple[list[Result], list[str]]:
    """Run the named benchmarks; returns the results and the names that crashed."""
    registry = benchmarks()
    results: list[Result] = []
    crashed: list[str] = []
    for name in names:
        log(f"bench: {name} ...")
        start = time.perf_counter()
        try:
            out = registry[name](sizes)
        except Exception:
            crashed.append(name)
            log(traceback.format_exc())
            results.append(Result(name, "-", (), "-", note="CRASHED: see the log above"))
            continue
        produced = out if isinstance(out, list) else [out]
        results.extend(produced)
        log(f"bench: {name} done in {time.perf_counter() - start:.1f} s")
    return results, crashed


def load_average() -> tuple[float, ...] | None:
    """1/5/15-minute load: on a shared machine, context for every number."""
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except (AttributeError, OSError):
        return None


def write_json(path: Path, results: Sequence[Result], sizes: Sizes, seconds: float, load: object) -> None:
    payload = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": load,
        "sizes": sizes.__dict__,
        "seconds": seconds,
        "benchmarks": [r.to_json() for r in results],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer rounds and smaller floods (about a minute)")
    size.add_argument("--tiny", action="store_true", help="smoke-test sizes: checks that it runs; numbers are noise")
    parser.add_argument("--only", default="", help="comma-separated benchmark names: " + ", ".join(benchmarks()))
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json", help="where to write the results")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(benchmarks())
    unknown = sorted(set(names) - set(benchmarks()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    label = "tiny" if args.tiny else "quick" if args.quick else "full"

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    start = time.perf_counter()
    load_before = load_average()
    results, crashed = run(names, sizes, log)
    seconds = time.perf_counter() - start
    load = {"before": load_before, "after": load_average()}
    write_json(args.json, results, sizes, seconds, load)
    headline = [r for r in results if not r.name.startswith(("regen_growth", "decode_growth"))]
    growth = [r for r in results if r.name.startswith(("regen_growth", "decode_growth"))]
    print(
        f"\n## Benchmarks ({label}, {seconds:.0f} s, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average before/after: {load['before']} / {load['after']})\n"
    )
    print(markdown_table(headline))
    if growth:
        print("\n### Cost growth\n")
        print(markdown_table(growth))
    missed = [r.name for r in results if r.met is False]
    print(f"\nwrote {args.json}; targets missed: {', '.join(missed) or 'none'}")
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
