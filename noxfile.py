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
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CODEX_VERSION = "0.163.0"  # the pinned protocol; `nox -s bump` rewrites this line

GENERATOR_DEPS = ["jinja2==3.1.6", "jsonschema==4.26.0", "ruff==0.17.6", "tomli==2.5.0; python_version < '3.11'"]
RUNTIME_DEPS = ["pydantic==2.13.4"]
TEST_DEPS = ["pytest==9.0.3", "pytest-timeout==2.4.0", *GENERATOR_DEPS, *RUNTIME_DEPS]
PROPERTY_DEPS = ["hypothesis==6.155.2", "hypothesis-jsonschema==0.23.1"]
LINT_DEPS = ["ruff==0.17.6", "black==26.10.1"]
TYPE_DEPS = ["mypy==2.4.1", *RUNTIME_DEPS]
CODEX_BIN = f"openai-codex-cli-bin=={CODEX_VERSION}"

nox.options.sessions = ["check", "lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = False  # missing Pythons are skipped, and nox says so
nox.options.default_venv_backend = "venv"


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
    session.install(*TEST_DEPS)
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def slow(session: nox.Session) -> None:
    """Property, adversarial, protocol-history, fault-injection and soak suites."""
    session.install(*TEST_DEPS, *PROPERTY_DEPS, "mypy==2.4.1")
    _install_sdk(session, CODEX_BIN)
    session.run("pytest", "-m", "slow", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(name="api-diff")
def api_diff(session: nox.Session) -> None:
    """Print the public API diff of the working tree against a git ref."""
    session.install(*GENERATOR_DEPS)
    session.run("python", "-m", "generator", "api-diff", "--against-git", *session.posargs)


@nox.session
def bump(session: nox.Session) -> None:
    """nox -s bump -- VERSION: move the SDK to another codex release."""
    if len(session.posargs) != 1:
        session.error("usage: nox -s bump -- VERSION")
    session.install(*GENERATOR_DEPS, *LINT_DEPS, *TYPE_DEPS)
    session.run("python", "-m", "generator", "bump", session.posargs[0])


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ours vs the official SDK, datamodel-codegen and json.loads, same session."""
    session.install(
        *GENERATOR_DEPS,
        CODEX_BIN,
        f"openai-codex=={CODEX_VERSION}",
        "datamodel-code-generator==0.89.0",
        "black==26.10.1",
    )
    _install_sdk(session)
    session.run("python", "-m", "tests.bench.run", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session
def build(session: nox.Session) -> None:
    """Build wheel + sdist of output/, install into fresh venvs per Python, smoke-test."""
    session.install("build==1.6.1", "twine==7.0.0", "check-wheel-contents==0.6.3")
    session.run("python", "-m", "tests.packaging.build_and_smoke", *session.posargs, env={"PYTHONPATH": str(ROOT)})
