"""Every workflow of the project is a nox session.

nox -s demo          regenerate the SDK, then run a real turn end to end
nox -s ci            what CI runs (see .ci/run): check, lint, typecheck, tests, slow
nox -s schema        dump the pinned codex schema and rewrite schemas/schema.lock
nox -s generate      regenerate output/ from schemas/
nox -s check         fail on drift between output/ and a fresh generation
nox -s lint          ruff check, ruff format --check, black --check
nox -s typecheck     mypy --strict on the output package and the user-style script
nox -s tests         fast tests + real-binary tests on every Python 3.10-3.13 present
nox -s slow          property, adversarial, history, fault and soak suites
nox -s bench         benchmarks against the official SDK and the physical floor
nox -s bump -- V     move to codex V: dump, lock, regenerate, check, lint, API diff
nox -s api-diff -- [REF]  public API diff of the tree against REF (default: merge base / HEAD~1)
nox -s build         wheel + sdist, installed and smoke-tested on Python 3.10-3.13
nox -s pyright       pyright (strict) on the user-style script; reveal_type of run().items[0]
nox -s docs          run every python snippet of output/README.md; the generator's --help
nox -s release-check everything a release needs, then what would be published (no upload)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CODEX_VERSION = "0.163.0"  # the pinned protocol; `nox -s bump` rewrites this line

GENERATOR_DEPS = ["jinja2==3.1.6", "jsonschema==4.26.0", "ruff==0.17.6", "tomli==2.5.0; python_version < '3.11'"]
RUNTIME_DEPS = ["pydantic==2.13.4"]
# The [remote] extra of output/pyproject.toml (websocket, unix socket, daemon, command pipe).
REMOTE_DEPS = [
    "websockets==17.4; python_version >= '3.11'",
    "websockets==15.0.1; python_version < '3.11'",
    "PyJWT==2.15.1",
]
TEST_DEPS = ["pytest==9.0.3", "pytest-timeout==2.4.0", *GENERATOR_DEPS, *RUNTIME_DEPS, *REMOTE_DEPS]
PROPERTY_DEPS = ["hypothesis==6.155.2", "hypothesis-jsonschema==0.23.1"]
LINT_DEPS = ["ruff==0.17.6", "black==26.10.1"]
TYPE_DEPS = ["mypy==2.4.1", *RUNTIME_DEPS, *REMOTE_DEPS]
CODEX_BIN = f"openai-codex-cli-bin=={CODEX_VERSION}"

nox.options.sessions = ["check", "lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = False  # missing Pythons are skipped, and nox says so
nox.options.default_venv_backend = "venv"


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


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """Everything CI runs, in order; each step is its own nox session."""
    steps = ["check", "lint", "typecheck", "tests", "slow", "api-diff"]
    session.run(sys.executable, "-m", "nox", "-s", *steps, external=True)


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
    session.install(*LINT_DEPS)
    session.run("ruff", "check", "generator", "tests", "output", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "generator", "tests", "output", "examples", "noxfile.py")
    session.run("black", "--check", "--quiet", "generator", "tests", "output", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the published package and on a user-style script."""
    session.install(*TYPE_DEPS)
    _install_sdk(session)
    session.run("mypy", "--strict", "output/src/codex_app_server")
    session.run("mypy", "--strict", "tests/typing/user_script.py")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Fast suite plus the real-binary tests (skipped only where the binary cannot install)."""
    session.install(*TEST_DEPS, *PROPERTY_DEPS)  # the fast property subset runs here too
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def slow(session: nox.Session) -> None:
    """Property, adversarial, protocol-history, fault-injection and soak suites."""
    session.install(*TEST_DEPS, *PROPERTY_DEPS, *LINT_DEPS, "mypy==2.4.1")  # lint: the bump tests run ruff/black
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "-m", "slow", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(name="api-diff")
def api_diff(session: nox.Session) -> None:
    """Print the public API diff of the working tree against a git ref."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "api-diff", "--against-git", *session.posargs)


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
    """pyright in strict mode on the user-style script, and its reveal_type of run().items[0]."""
    session.install(*PYRIGHT_DEPS, *RUNTIME_DEPS)
    _install_sdk(session)
    session.run("pyright", "--version", env=PYRIGHT_ENV)
    session.run("pyright", "-p", "tests/packaging/pyrightconfig.json", "tests/typing/user_script.py", env=PYRIGHT_ENV)
    session.run("python", "-m", "tests.packaging.reveal_check", "pyright", env=PYRIGHT_ENV)


@nox.session
def docs(session: nox.Session) -> None:
    """Every python snippet of output/README.md, run as written against the real binary; generator --help."""
    session.install(*TEST_DEPS)
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "tests/docs", "-q", "-p", "no:cacheprovider", *session.posargs)


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
