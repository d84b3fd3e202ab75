"""import_time / import_rss: ``import codex_app_server`` vs ``import openai_codex``.

Each sample is a fresh interpreter (``python -I``, so no cwd or PYTHONPATH
shadows the installed packages) that times the import statement itself and
then reads its own peak RSS. Rounds alternate ours / baseline so background
load hits both alike; one unmeasured warm-up each writes the bytecode caches.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile

from ._core import Result, Sizes, Target

OURS = "codex_app_server"
OFFICIAL = "openai_codex"
# Context for the note: what pydantic alone costs (both SDKs pay it).
FLOOR = "pydantic.main"

# Peak RSS: VmHWM of this process image. getrusage's ru_maxrss would do on
# macOS, but on Linux it keeps the high-water mark of the process that
# forked us (exec records the old image's peak), i.e. the benchmark runner.
_CHILD = """\
import resource, sys, time
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
peak_kb = None
if sys.platform.startswith("linux"):
    with open("/proc/self/status") as fh:
        peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kb = peak // 1024 if sys.platform == "darwin" else peak
print(elapsed, peak_kb)
"""


def measure_import(module: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of importing ``module`` in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as cwd:
        proc = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD.format(module=module)],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"import {module} failed: {proc.stderr.strip().splitlines()[-1:]}")
    seconds, peak_kb = proc.stdout.split()
    return float(seconds), int(peak_kb) / 1024


def bench_imports(sizes: Sizes) -> list[Result]:
    official = importlib.util.find_spec(OFFICIAL) is not None
    modules = [OURS, FLOOR] + ([OFFICIAL] if official else [])
    for module in modules:
        measure_import(module)  # warm-up: bytecode caches
    samples: dict[str, list[tuple[float, float]]] = {m: [] for m in modules}
    for _ in range(sizes.import_rounds):
        for module in modules:
            samples[module].append(measure_import(module))

    def series(module: str, index: int) -> tuple[float, ...]:
        return tuple(s[index] for s in samples.get(module, []))

    floor_s = statistics.median(series(FLOOR, 0))
    floor_mb = statistics.median(series(FLOOR, 1))
    missing = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "
    return [
        Result(
            name="import_time",
            unit="s",
            ours_samples=series(OURS, 0),
            baseline_name="import openai_codex",
            baseline_samples=series(OFFICIAL, 0),
            target=Target("<=", 0.33),
            note=f"{missing}fresh interpreter; `import pydantic.main` alone: {floor_s:.3f} s",
            extra={"pydantic_floor_s": floor_s},
        ),
        Result(
            name="import_rss",
            unit="MB",
            ours_samples=series(OURS, 1),
            baseline_name="import openai_codex",
            baseline_samples=series(OFFICIAL, 1),
            target=Target("<=", 0.50),
            note=f"{missing}peak RSS of the whole interpreter; `import pydantic.main` alone: {floor_mb:.1f} MB",
            extra={"pydantic_floor_mb": floor_mb},
        ),
    ]
