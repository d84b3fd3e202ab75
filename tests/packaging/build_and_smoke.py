"""Build, check and smoke-test the published package (``nox -s build``).

``python -m tests.packaging.build_and_smoke [--python 3.X ...] [--dist DIR]``

1. ``python -m build output/``: the sdist, then the wheel *from the
   unpacked sdist* (build's default), into ``dist/``.
2. ``twine check`` and ``check-wheel-contents`` must be clean.
3. The sdist builds the same wheel as the tree: a wheel built straight from
   ``output/`` must have the same files with the same bytes.
4. The wheel's metadata matches the tree (name, version from ``_version.py``,
   ``[bin]`` pinned to the schema's codex version, pydantic the only runtime
   dependency, README as long description, license, ``py.typed``).
5. For each Python 3.10-3.13 found (``python3.X`` on PATH, else pyenv): a
   fresh venv, ``pip install 'WHEEL[bin,remote]'`` and ``smoke_installed.py`` run in
   isolated mode from a temporary directory, against a fake model provider
   served from this process: a sync and an async turn over stdio, and one
   over a websocket (``[remote]``). The oldest Python gets every dependency
   at its declared floor (pydantic, websockets, PyJWT), the others the newest
   releases pip picks, so both ends of each range are exercised.

Prints a summary per Python (wheel size, installed dependencies, result)
and exits 1 if any step or smoke test failed. Pythons that are not installed
are reported as skipped; none at all is a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codex_app_server.testing import FakeProvider, final_text
from packaging.version import Version  # build's dependency

from tests.packaging.release_preview import dependency_summary, describe, wheel_metadata
from tests.packaging.seed import seed_imports
from tests.support.codex_env import isolated_env, mock_config_overrides

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "output"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
SMOKE_SCRIPT = Path(__file__).with_name("smoke_installed.py")
BUILD_TIMEOUT = 300.0
INSTALL_TIMEOUT = 900.0  # the [bin] wheel is large; pip's cache makes repeats quick
SMOKE_TIMEOUT = 180.0
VENV_TOOLS = frozenset({"pip", "setuptools", "wheel"})  # what `python -m venv` brings, not our dependencies


class StepFailed(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Expected:
    """What the wheel's metadata must say, read from the tree."""

    name: str
    version: str
    codex_version: str
    readme: str


@dataclass(frozen=True)
class SmokeResult:
    python: str
    status: str  # "ok", "FAILED", "skipped"
    detail: str
    seconds: float
    distributions: tuple[str, ...] = ()


# ------------------------------------------------------------------ helpers


def run(cmd: Sequence[str], *, timeout: float, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run a command; its combined output, or StepFailed with the tail of it."""
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"`{' '.join(cmd)}` did not finish in {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise StepFailed(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{tail}")
    return proc.stdout


def expected_from_tree() -> Expected:
    version_py = (PACKAGE_DIR / "src" / "codex_app_server" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', version_py, re.MULTILINE)
    if match is None:
        raise StepFailed('_version.py has no `__version__ = "..."` line')
    lock = json.loads((ROOT / "schemas" / "schema.lock").read_text(encoding="utf-8"))
    return Expected(
        name="codex-app-server",
        version=match.group(1),
        codex_version=lock["codex_version"],
        readme=(PACKAGE_DIR / "README.md").read_text(encoding="utf-8"),
    )


def wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def wheel_differences(a: Mapping[str, bytes], b: Mapping[str, bytes]) -> list[str]:
    """Human-readable differences between two wheels' members (empty: same)."""
    problems = [f"only in the first: {name}" for name in sorted(a.keys() - b.keys())]
    problems += [f"only in the second: {name}" for name in sorted(b.keys() - a.keys())]
    problems += [f"content differs: {name}" for name in sorted(a.keys() & b.keys()) if a[name] != b[name]]
    return problems


def _pydantic_floor(requires: Sequence[str]) -> str | None:
    for requirement in requires:
        match = re.match(r"pydantic\s*(?:\(|)[^;]*?>=\s*([\w.]+)", requirement)
        if match and ";" not in requirement:
            return match.group(1)
    return None


_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\(?([^;)]*)\)?\s*(?:;\s*(.*))?\Z")
_FLOOR_EXTRAS = frozenset({"remote"})  # [bin] is pinned to one codex release: it has no range


def dependency_floors(requires: Sequence[str]) -> dict[str, str]:
    """``{name: lowest allowed version}`` of the runtime dependencies and the ranged extras.

    Read from ``Requires-Dist``: the ``>=`` bound of each requirement that is
    a runtime one or belongs to an extra in ``_FLOOR_EXTRAS``.
    """
    floors: dict[str, str] = {}
    for requirement in requires:
        match = _REQUIREMENT.match(requirement)
        if match is None:
            continue
        name, spec, marker = match.groups()
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker or "")
        if marker and (extra is None or extra.group(1) not in _FLOOR_EXTRAS):
            continue
        floor = re.search(r">=\s*([\w.]+)", spec)
        if floor:
            floors[name] = floor.group(1)
    return floors


def _is_range(requirement: str) -> bool:
    """A compatible range: a lower bound (``>=``) and an upper one (``<``), no exact pin."""
    spec = requirement.split(";")[0]
    return ">=" in spec and re.search(r"<(?!=)", spec) is not None and "==" not in spec


def metadata_problems(wheel: Path, expected: Expected) -> list[str]:
    """Everything wrong with the wheel's metadata and layout (empty: fine)."""
    meta = wheel_metadata(wheel)
    names = wheel_files(wheel).keys()
    requires = meta.get_all("Requires-Dist") or []
    runtime = [r for r in requires if "extra ==" not in r]
    extras = [r for r in requires if "extra ==" in r]
    remote = [r for r in extras if re.search(r"extra == ['\"]remote['\"]", r)]
    checks = [
        (meta["Name"] == expected.name, f"Name is {meta['Name']!r}, expected {expected.name!r}"),
        (meta["Version"] == expected.version, f"Version {meta['Version']} != _version.py {expected.version}"),
        (
            expected.version.startswith(expected.codex_version),
            f"version {expected.version} is not codex {expected.codex_version} (or X.Y.Z.N of it)",
        ),
        (meta["Requires-Python"] == ">=3.10", f"Requires-Python is {meta['Requires-Python']!r}"),
        (
            len(runtime) == 1 and runtime[0].startswith("pydantic") and "<3" in runtime[0],
            f"runtime dependencies must be pydantic v2 only, got {runtime}",
        ),
        (_pydantic_floor(runtime) is not None, f"pydantic has no lower bound in {runtime}"),
        (
            f"openai-codex-cli-bin=={expected.codex_version}; extra == 'bin'" in extras,
            f"[bin] must pin openai-codex-cli-bin=={expected.codex_version}, got {extras}",
        ),
        (
            # names compared lower-cased: the metadata may normalise PyJWT to pyjwt
            {re.split(r"[<>=!~ (;]", r)[0].lower() for r in remote} == {"websockets", "pyjwt"}
            and all(_is_range(r) for r in remote),
            f"[remote] must declare compatible ranges (>=floor,<next major) of websockets and PyJWT, got {remote}",
        ),
        (meta["License-Expression"] == "MIT", f"License-Expression is {meta['License-Expression']!r}"),
        (any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE is not in the wheel"),
        (meta["Description-Content-Type"] == "text/markdown", "long description is not markdown"),
        (meta.get_payload().strip() == expected.readme.strip(), "long description is not output/README.md"),
        ("codex_app_server/py.typed" in names, "py.typed is not in the wheel"),
        ("Typing :: Typed" in (meta.get_all("Classifier") or []), "no `Typing :: Typed` classifier"),
        (
            all(n.startswith(("codex_app_server/", f"codex_app_server-{expected.version}.dist-info/")) for n in names),
            f"files outside the package: {[n for n in names if not n.startswith('codex_app_server')]}",
        ),
        (not any(n.endswith((".pyc", "/__pycache__/")) for n in names), "bytecode in the wheel"),
    ]
    classifiers = meta.get_all("Classifier") or []
    for python in PYTHONS:
        checks.append(
            (f"Programming Language :: Python :: {python}" in classifiers, f"no classifier for Python {python}")
        )
    return [message for ok, message in checks if not ok]


# ------------------------------------------------------------------ build


def _tool_env() -> dict[str, str]:
    """This environment without PYTHONPATH (nox sets it to the repo root for this script)."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def build(dist: Path, scratch: Path) -> tuple[Path, Path]:
    """sdist + wheel (from the sdist) into ``dist``; checked and compared with a tree wheel."""
    if dist.exists():
        shutil.rmtree(dist)
    env = _tool_env()
    run([sys.executable, "-m", "build", str(PACKAGE_DIR), "--outdir", str(dist)], timeout=BUILD_TIMEOUT, env=env)
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise StepFailed(f"expected one wheel and one sdist in {dist}, got {sorted(p.name for p in dist.iterdir())}")
    wheel, sdist = wheels[0], sdists[0]

    run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)], timeout=BUILD_TIMEOUT, env=env)
    run([sys.executable, "-m", "check_wheel_contents", str(wheel)], timeout=BUILD_TIMEOUT, env=env)

    tree_dist = scratch / "tree-wheel"
    run(
        [sys.executable, "-m", "build", "--wheel", str(PACKAGE_DIR), "--outdir", str(tree_dist)],
        timeout=BUILD_TIMEOUT,
        env=env,
    )
    (tree_wheel,) = tree_dist.glob("*.whl")
    differences = wheel_differences(wheel_files(wheel), wheel_files(tree_wheel))
    if differences:
        raise StepFailed("the sdist does not build the same wheel as the tree:\n  " + "\n  ".join(differences))
    with tarfile.open(sdist) as archive:
        sdist_names = {Path(*Path(m.name).parts[1:]).as_posix() for m in archive.getmembers() if m.isfile()}
    missing = {"README.md", "LICENSE", "pyproject.toml", "src/codex_app_server/py.typed"} - sdist_names
    if missing:
        raise StepFailed(f"sdist lacks {sorted(missing)}")

    problems = metadata_problems(wheel, expected_from_tree())
    if problems:
        raise StepFailed("wheel metadata:\n  " + "\n  ".join(problems))
    return wheel, sdist


# ------------------------------------------------------------------ smoke


def find_python(version: str) -> str | None:
    """An interpreter for ``version``: ``python3.X`` on PATH, else pyenv's install."""
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(
        (str(p) for p in Path(pyenv_root, "versions").glob(f"{version}.*/bin/python{version}")), reverse=True
    )
    for candidate in candidates:
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        found, _, executable = out.stdout.strip().partition("\n")
        if out.returncode == 0 and found == version:
            # The interpreter itself, not a pyenv shim: the smoke runs in a
            # clean environment, where a shim no longer knows which version.
            return executable or candidate
    return None


def _child_env(home: Path) -> dict[str, str]:
    """The smoke interpreter's environment: no CODEX_BIN, no PYTHONPATH, no venv leaks."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if key in os.environ}
    env["HOME"] = str(home)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def smoke(
    version: str, python: str, wheel: Path, floors: Mapping[str, str], provider: FakeProvider, scratch: Path
) -> SmokeResult:
    """Install the wheel into a fresh venv of ``python`` (``floors`` pinned: the oldest end) and smoke-test it."""
    started = time.monotonic()
    work = scratch / f"py{version}"
    venv, cwd = work / "venv", work / "cwd"
    cwd.mkdir(parents=True)
    home = work / "home"
    home.mkdir()
    env = _child_env(home)
    run([python, "-m", "venv", str(venv)], timeout=BUILD_TIMEOUT, env=env)
    venv_python = str(venv / "bin" / "python")
    constraints = cwd / "constraints.txt"
    constraints.write_text("".join(f"{name}=={floor}\n" for name, floor in floors.items()), encoding="utf-8")
    run(
        [venv_python, "-m", "pip", "install", "--quiet", f"{wheel}[bin,remote]", "-c", str(constraints)],
        timeout=INSTALL_TIMEOUT,
        cwd=cwd,
        env=env,
    )
    run([venv_python, "-m", "pip", "check"], timeout=BUILD_TIMEOUT, cwd=cwd, env=env)

    replies = [
        f"Hello from the wheel on Python {version}.",
        f"Hello again from Python {version} (async).",
        f"Hello over a websocket from Python {version}.",
    ]
    provider.enqueue(*(final_text(reply) for reply in replies))
    plan = {
        "version": expected_from_tree().version,
        "seed_imports": list(seed_imports()),
        "replies": replies,
        "config_overrides": mock_config_overrides(provider.base_url),
        "env": isolated_env(work / "codex"),
    }
    plan_path = work / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    script = cwd / SMOKE_SCRIPT.name  # a copy: nothing of the tree is reachable from cwd
    shutil.copyfile(SMOKE_SCRIPT, script)
    out = run([venv_python, "-I", str(script), str(plan_path)], timeout=SMOKE_TIMEOUT, cwd=cwd, env=env)
    seen = json.loads(out.strip().splitlines()[-1])
    installed = {d.split("==")[0].lower(): d for d in seen["distributions"]}
    versions = ", ".join(installed.get(name.lower(), f"{name} missing") for name in ("pydantic", "websockets", "PyJWT"))
    end = " (the declared floors)" if floors else " (the newest allowed)"
    for name, floor in floors.items():
        got = installed.get(name.lower())
        at_floor = got is not None and Version(got.split("==")[1]) == Version(floor)
        assert at_floor, f"{name}: {got}, not the floor {floor}"
    return SmokeResult(
        python=seen["python"],
        status="ok",
        detail=f"{seen['seed_imports']} seed imports, sync + async + websocket turn, {versions}{end}",
        seconds=time.monotonic() - started,
        distributions=tuple(seen["distributions"]),
    )


def smoke_all(versions: Sequence[str], wheel: Path, scratch: Path) -> list[SmokeResult]:
    found = {version: find_python(version) for version in versions}
    present = [v for v in versions if found[v]]
    floors = dependency_floors(wheel_metadata(wheel).get_all("Requires-Dist") or [])
    results: list[SmokeResult] = []
    with FakeProvider() as provider:
        for version in versions:
            python = found[version]
            if python is None:
                results.append(SmokeResult(version, "skipped", "interpreter not found", 0.0))
                print(f"smoke {version}: skipped (no python{version} on PATH or in pyenv)", flush=True)
                continue
            pins = floors if version == present[0] else {}
            print(f"smoke {version}: {python}", flush=True)
            started = time.monotonic()
            try:
                results.append(smoke(version, python, wheel, pins, provider, scratch))
            except (StepFailed, AssertionError, KeyError, ValueError) as exc:
                results.append(SmokeResult(version, "FAILED", str(exc), time.monotonic() - started))
                provider.clear()
            print(f"smoke {version}: {results[-1].status} in {results[-1].seconds:.1f} s", flush=True)
    return results


def summary(wheel: Path, results: Sequence[SmokeResult]) -> str:
    lines = [f"wheel {wheel.name}: {wheel.stat().st_size / 1024:.1f} KiB"]
    for result in results:
        lines.append(f"  Python {result.python:<8} {result.status:<8} {result.seconds:5.1f} s  {result.detail}")
        deps = [d for d in result.distributions if d.split("==")[0].lower() not in VENV_TOOLS]
        if deps:
            lines.append(f"      installed: {', '.join(deps)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.packaging.build_and_smoke", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--python", action="append", choices=PYTHONS, help="smoke-test only this Python (repeatable; default: all)"
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    versions = tuple(args.python or PYTHONS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="codex-sdk-build-") as tmp:
        scratch = Path(tmp)
        try:
            wheel, _ = build(args.dist, scratch)
        except StepFailed as exc:
            print(f"build failed: {exc}", file=sys.stderr)
            return 1
        print(f"built and checked in {time.monotonic() - started:.1f} s (twine, check-wheel-contents, sdist == tree)")
        results = smoke_all(versions, wheel, scratch)
    print()
    release = describe(args.dist)
    print(f"{release.name} {release.version}, requires-python {release.requires_python}")
    print(f"dependencies: {dependency_summary(release.requires)}")
    print(summary(wheel, results))
    print(f"total {time.monotonic() - started:.1f} s")
    failed = [r for r in results if r.status == "FAILED"]
    for result in failed:
        print(f"\nPython {result.python} FAILED:\n{result.detail}", file=sys.stderr)
    if not any(r.status == "ok" for r in results):
        print("no Python could be smoke-tested", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
