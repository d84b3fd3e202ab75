"""cold_turn / cold_turn_rss: time to the first answer in a fresh interpreter.

Our SDK builds its pydantic model classes on first use, not at import. This
checks that the saving is not just moved to the first call: each sample is a
fresh ``python -I`` (cwd and codex home in a new temp dir) that starts its
clock, imports the SDK, launches the real codex app-server against the
``FakeProvider`` running in this process (127.0.0.1), starts a thread and runs
one one-line turn. The clock stops at the answer (close is not counted); the
child then reads its own peak RSS (the client interpreter, not app-server).

Rounds alternate ours / openai_codex so background load hits both alike; one
unmeasured warm-up each writes the bytecode caches and pages codex in.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from tests.support.codex_env import find_codex_binary, isolated_env, mock_config_overrides, toml_value
from tests.support.fake_provider import DEFAULT_TEXT, FakeProvider

from ._core import Result, Sizes, child_env
from .turns import PROMPT

CHILD_TIMEOUT_S = 120.0
BASELINE = "openai_codex, same steps"

# One child script per client; only these constant snippets are formatted in,
# every parameter arrives as one JSON argument. Parsing it and pinning
# os.environ to the isolated environment (the official SDK launches codex with
# os.environ + config.env, as in turns.py) happen before the clock starts.
# Peak RSS is VmHWM: on Linux, ru_maxrss keeps the runner's peak across exec.
_CHILD = """\
import json, os, resource, sys, time
spec = json.loads(sys.argv[1])
os.environ.clear()
os.environ.update(spec["env"])
t0 = time.perf_counter()
{import_line}
imported = time.perf_counter() - t0
{config_line}
with Codex(config) as codex:
    final = codex.thread_start().run(spec["prompt"]).final_response
    elapsed = time.perf_counter() - t0
if final != spec["expect"]:
    sys.exit("unexpected final response: " + repr(final))
if sys.platform.startswith("linux"):
    with open("/proc/self/status") as fh:
        peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kb = peak // 1024 if sys.platform == "darwin" else peak
print(elapsed, imported, peak_kb)
"""

SCRIPTS = {
    "ours": _CHILD.format(
        import_line="from codex_app_server import AppServerConfig, Codex",
        config_line=(
            'config = AppServerConfig(codex_bin=spec["codex_bin"], config_overrides=spec["overrides"], '
            'env=spec["env"], inherit_env=False)'
        ),
    ),
    "official": _CHILD.format(
        import_line="from openai_codex import Codex, CodexConfig",
        config_line=(
            'config = CodexConfig(codex_bin=spec["codex_bin"], config_overrides=tuple(spec["overrides"]), '
            'env=spec["env"])'
        ),
    ),
}


@dataclass(frozen=True)
class Sample:
    seconds: float  # t0 to the answer
    import_seconds: float  # t0 to the end of the import statement
    peak_mb: float


def child_spec(side: str, binary: str, base_url: str, env: dict[str, str]) -> dict[str, object]:
    """The child's parameters: ours takes python values, openai_codex ``k=toml`` strings."""
    overrides = mock_config_overrides(base_url)
    rendered: object = overrides
    if side == "official":
        rendered = [f"{key}={toml_value(value)}" for key, value in overrides.items()]
    return {
        "codex_bin": binary,
        "overrides": rendered,
        "env": env,
        "prompt": PROMPT,
        "expect": DEFAULT_TEXT,
    }


def measure_cold_turn(side: str, binary: str, base_url: str) -> Sample:
    """One fresh interpreter: import, launch, thread, one turn; its timings and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        isolated = isolated_env(tmp)  # CODEX_HOME and HOME under tmp, the provider's key
        spec = child_spec(side, binary, base_url, isolated)
        proc = subprocess.run(
            [sys.executable, "-I", "-c", SCRIPTS[side], json.dumps(spec)],
            cwd=tmp,
            env={**child_env(), **isolated},  # -I ignores PYTHONPATH: the installed SDKs run
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"cold turn ({side}) failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    seconds, imported, peak_kb = proc.stdout.split()
    return Sample(float(seconds), float(imported), int(peak_kb) / 1024)


def _skipped(why: str) -> list[Result]:
    return [Result("cold_turn", "s", (), BASELINE, note=why), Result("cold_turn_rss", "MB", (), BASELINE, note=why)]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _split(samples: dict[str, list[Sample]]) -> dict[str, float | None]:
    """Medians of the import and of the rest (launch, thread, turn): where the time goes."""
    out: dict[str, float | None] = {}
    for side, prefix in (("ours", ""), ("official", "baseline_")):
        runs = samples.get(side, [])
        out[f"{prefix}import_s"] = _median([s.import_seconds for s in runs])
        out[f"{prefix}after_import_s"] = _median([s.seconds - s.import_seconds for s in runs])
    return out


def _split_note(split: dict[str, float | None]) -> str:
    note = f"import + rest: ours {split['import_s']:.3f} + {split['after_import_s']:.3f} s"
    if split["baseline_import_s"] is not None:
        note += f", openai_codex {split['baseline_import_s']:.3f} + {split['baseline_after_import_s']:.3f} s"
    return note


def _results(samples: dict[str, list[Sample]], official: bool) -> list[Result]:
    ours, base = samples["ours"], samples.get("official", [])
    missing = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "
    split = _split(samples)
    return [
        Result(
            name="cold_turn",
            unit="s",
            ours_samples=tuple(s.seconds for s in ours),
            baseline_name=BASELINE,
            baseline_samples=tuple(s.seconds for s in base),
            note=(
                f"{missing}fresh `python -I`: import, launch real codex, thread_start, one-line Thread.run "
                f"(loopback fake provider), to the answer; close not counted; {_split_note(split)}"
            ),
            extra=dict(split),
        ),
        Result(
            name="cold_turn_rss",
            unit="MB",
            ours_samples=tuple(s.peak_mb for s in ours),
            baseline_name=BASELINE,
            baseline_samples=tuple(s.peak_mb for s in base),
            note=f"{missing}peak RSS of that client interpreter after its first turn (app-server not counted)",
        ),
    ]


def bench_cold_turn(sizes: Sizes) -> list[Result]:
    binary = find_codex_binary()
    if binary is None:
        return _skipped("skipped: no codex binary (install openai-codex-cli-bin or set CODEX_BIN)")
    official = importlib.util.find_spec("openai_codex") is not None
    sides = ["ours", "official"] if official else ["ours"]
    samples: dict[str, list[Sample]] = {side: [] for side in sides}
    with FakeProvider() as provider:
        for side in sides:
            measure_cold_turn(side, binary, provider.base_url)  # warm-up: bytecode caches, codex paged in
        for round_no in range(sizes.cold_rounds):
            shift = round_no % len(sides)  # alternate who goes first
            for side in sides[shift:] + sides[:shift]:
                samples[side].append(measure_cold_turn(side, binary, provider.base_url))
    return _results(samples, official)
