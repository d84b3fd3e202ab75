"""Every ```python snippet of the package page (output/README.md) runs, as written.

How: each snippet is saved to a file and run by a fresh interpreter, like a
user running it, against the real ``codex`` binary. The snippets are not
rewritten and get no special config object. What makes them offline is
what makes them work on a user's machine: codex's own configuration. The
runner gives the snippet a temporary ``HOME`` whose ``~/.codex/config.toml``
points codex at a local fake model provider (127.0.0.1, plugins off, no
retries), and sets ``CODEX_BIN`` to the binary under test. So
``Codex()`` in a snippet behaves exactly as it does for a user whose codex is
configured for a local model provider.

Each snippet is named after its section (``errors-and-retry-2`` is the
second python block under "Errors and retry") and has a ``Scenario``: what
the fake model answers and what the snippet must print. A snippet without a
scenario, or a scenario without a snippet, fails the suite, so no snippet
goes untested.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.remote.servers import stop_daemon
from tests.support.codex_env import find_codex_binary, mock_config_overrides, toml_value
from tests.support.fake_provider import FakeProvider, FunctionCall, HttpError, Script, Text, final_text

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "output" / "README.md"
SNIPPET_TIMEOUT = 60.0

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^(#{1,6}) (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Snippet:
    id: str
    line: int
    code: str


@dataclass(frozen=True)
class Scenario:
    """The fake model's replies, and what the snippet prints (substrings, in order)."""

    replies: Sequence[Script]
    stdout: Sequence[str] = ()
    stderr: Sequence[str] = ()
    exact_stdout: str | None = None
    starts_daemon: bool = False  # the snippet leaves a daemon running in ~/.codex: stopped after it by pid

    @property
    def expected_requests(self) -> int:
        """Each scripted reply answers one model request: all must have been asked for."""
        return len(self.replies)


def slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def python_snippets(markdown: str) -> list[Snippet]:
    """The ```python blocks of ``markdown``, named ``<section-slug>-<n>``."""
    headings = [(m.start(), slug(m.group(2))) for m in _HEADING.finditer(markdown)]
    counts: dict[str, int] = {}
    found = []
    for match in _FENCE.finditer(markdown):
        if match.group(1) != "python":
            continue
        section = next((name for start, name in reversed(headings) if start < match.start()), "top")
        counts[section] = counts.get(section, 0) + 1
        line = markdown.count("\n", 0, match.start()) + 1
        found.append(Snippet(f"{section}-{counts[section]}", line, match.group(2)))
    return found


SCENARIOS: dict[str, Scenario] = {
    "quickstart-1": Scenario(
        [final_text("Hello! I am Codex, happy to help.")], exact_stdout="Hello! I am Codex, happy to help.\n"
    ),
    "streaming-1": Scenario(
        [Text("Types align, / the checker hums softly, / no Any tonight.", phase="final_answer")],
        stdout=["Types align, / the checker hums softly, / no Any tonight.", "[turn completed]"],
    ),
    "streaming-2": Scenario(
        [FunctionCall(arguments={"cmd": "echo hi", "yield_time_ms": 1000}), final_text("It printed hi.")],
        stdout=["completed", "CommandExecutionThreadItem", "It printed hi. True"],
    ),
    "migrating-from-openai-codex-1": Scenario([final_text("Hello.")], exact_stdout="Hello.\ncompleted\n"),
    "migrating-from-openai-codex-2": Scenario([final_text("Hello.")], exact_stdout="item/completed Hello.\n"),
    "migrating-from-openai-codex-3": Scenario([final_text("Noted: tests pass.")], exact_stdout="Noted: tests pass.\n"),
    "migrating-from-openai-codex-4": Scenario([], exact_stdout="logged in\n"),
    "testing-your-application-1": Scenario([], exact_stdout="Hi there!\n429\n2 mock-model\n"),
    "testing-your-application-2": Scenario([], exact_stdout="echo: red\necho: green\necho: blue\n"),
    "testing-your-application-3": Scenario([], exact_stdout="It is sunny.\nSunny in Lisbon\n"),
    "testing-your-application-4": Scenario([], stdout=["1 passed"]),
    "approvals-1": Scenario(
        [FunctionCall(arguments={"cmd": "echo hi", "yield_time_ms": 1000}), final_text("The shell said hi.")],
        stdout=["approval requested for", "'echo hi'", ": accept", "echo hi' -> completed: hi", "The shell said hi."],
    ),
    "tools-1": Scenario(
        [FunctionCall("get_weather", {"city": "Lisbon"}), final_text("21.5 degrees in Lisbon.")],
        exact_stdout="21.5 degrees in Lisbon.\n",
    ),
    "structured-output-1": Scenario(
        [final_text('{"name": "Oslo", "country": "Norway", "population": 717710}'), final_text("Stockholm.")],
        exact_stdout="Oslo Norway 717710\nnot a City: Stockholm.\n",
    ),
    "async-1": Scenario(
        [final_text("Hello from asyncio."), final_text("Bonjour.")],
        stdout=["Hello from asyncio.", "turn/started", "item/agentMessage/delta", "turn/completed"],
    ),
    "threads-and-login-1": Scenario([final_text("Hello.")], exact_stdout="Say hello in one sentence.\n"),
    "threads-and-login-2": Scenario(
        [final_text("Hello.")], exact_stdout="ticket JIRA-42 {'title': 'Greeting is too long'}\n"
    ),
    "threads-and-login-3": Scenario([], exact_stdout="no login needed for this model provider\n"),
    "threads-and-login-4": Scenario(
        [final_text("4."), final_text("8.")],
        exact_stdout="user: What is 2 + 2?\nassistant: 4.\nuser: And doubled?\nassistant: 8.\n",
    ),
    "errors-and-retry-1": Scenario(
        [HttpError(500), final_text("Still here.")],
        stdout=["turn failed: turn ", "Still here.", "JSON-RPC error -32600: no rollout found"],
    ),
    "errors-and-retry-2": Scenario([final_text("Hello, eventually.")], exact_stdout="Hello, eventually.\n"),
    "configuration-1": Scenario([final_text("Configured hello.")], stdout=["codex_app_server/", "Configured hello."]),
    "configuration-2": Scenario([final_text("Minimal-env hello.")], exact_stdout="Minimal-env hello.\n"),
    "configuration-3": Scenario(
        [Text("Opted-out hello.", phase="final_answer")], exact_stdout="False Opted-out hello.\n"
    ),
    "configuration-4": Scenario(
        [final_text("Logged hello.")],
        exact_stdout="",
        stderr=["DEBUG:codex_app_server:-> request initialize", "-> request turn/start", "<- response turn/start"],
    ),
    "the-low-level-client-1": Scenario([final_text("Listed hello.")], exact_stdout="True\n"),
    "methods-newer-than-this-sdk-1": Scenario([], exact_stdout="dict True\n"),
    "methods-newer-than-this-sdk-2": Scenario([final_text("Hello.")], exact_stdout="Hello.\n"),
    "experimental-api-1": Scenario([], stdout=["refused: collaborationMode/list", "modes: ['Default', 'Plan']"]),
    "connecting-to-a-running-app-server-1": Scenario(
        [final_text("Hello from the daemon.")], exact_stdout="Hello from the daemon.\n", starts_daemon=True
    ),
    "connecting-to-a-running-app-server-2": Scenario(
        [final_text("Hello over a websocket.")], exact_stdout="Hello over a websocket.\n"
    ),
}

SNIPPETS = python_snippets(README.read_text(encoding="utf-8"))


def codex_config_toml(base_url: str) -> str:
    """``~/.codex/config.toml`` of a user whose codex talks to a local model provider.

    No ``env_key``: a snippet that runs codex with ``inherit_env=False``
    would not pass the key variable on, and the fake provider needs none.
    """
    settings = mock_config_overrides(base_url)
    del settings["model_providers.mock.env_key"]
    return "".join(f"{key} = {toml_value(value)}\n" for key, value in settings.items())


def snippet_env(home: Path) -> dict[str, str]:
    """A user's environment: ``CODEX_BIN`` only when the tests were given one.

    Otherwise the snippet finds codex as a user of the ``[bin]`` extra does
    (the ``codex_cli_bin`` package; no ``codex`` on ``PATH`` is assumed).
    """
    keep = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TMPDIR", "CODEX_BIN")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    if not _pytest_plugin_installed():  # a source checkout on PYTHONPATH: load it as an install would
        env["PYTEST_PLUGINS"] = _PYTEST_PLUGIN
    return env


_PYTEST_PLUGIN = "codex_app_server.testing.pytest_plugin"


def _pytest_plugin_installed() -> bool:
    """The package's ``pytest11`` entry point is registered (an install, editable or not)."""
    return any(ep.value == _PYTEST_PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))


def test_every_snippet_has_a_scenario_and_every_scenario_a_snippet() -> None:
    ids = [snippet.id for snippet in SNIPPETS]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(SCENARIOS), (
        f"snippets without a scenario: {sorted(set(ids) - set(SCENARIOS))}; "
        f"scenarios without a snippet: {sorted(set(SCENARIOS) - set(ids))}"
    )


def test_snippet_names_follow_the_sections() -> None:
    text = "# T\n```python\na\n```\n## Errors and retry\n```bash\nx\n```\n```python\nb\n```\n```python\nc\n```\n"
    assert [(s.id, s.code) for s in python_snippets(text)] == [
        ("t-1", "a\n"),
        ("errors-and-retry-1", "b\n"),
        ("errors-and-retry-2", "c\n"),
    ]


def test_api_reference_link_matches_the_project_urls() -> None:
    text = README.read_text(encoding="utf-8")
    pyproject = (ROOT / "output" / "pyproject.toml").read_text(encoding="utf-8")
    url = re.search(r'^"API reference" = "([^"]+)"$', pyproject, re.MULTILINE)
    assert url is not None
    assert f"]({url.group(1)})" in text


@pytest.mark.real
@pytest.mark.timeout(SNIPPET_TIMEOUT + 15)
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_readme_snippet_runs(snippet: Snippet, tmp_path: Path) -> None:
    binary = find_codex_binary()
    if binary is None:
        pytest.skip("no codex binary: install openai-codex-cli-bin or set CODEX_BIN")
    scenario = SCENARIOS[snippet.id]
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".codex").mkdir(parents=True)
    work.mkdir()
    script = work / f"{snippet.id}.py"
    script.write_text(snippet.code, encoding="utf-8")
    with FakeProvider(scenario.replies) as provider:
        (home / ".codex" / "config.toml").write_text(codex_config_toml(provider.base_url), encoding="utf-8")
        try:
            proc = subprocess.run(
                [sys.executable, str(script)],
                cwd=work,
                env=snippet_env(home),
                capture_output=True,
                text=True,
                timeout=SNIPPET_TIMEOUT,
            )
        finally:
            if scenario.starts_daemon:
                stop_daemon(binary, snippet_env(home), home / ".codex")
        requests = len(provider.requests)
    where = f"README.md:{snippet.line} ({snippet.id})"
    assert proc.returncode == 0, f"{where} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert requests >= scenario.expected_requests, f"{where}: the fake model got {requests} requests"
    if scenario.exact_stdout is not None:
        assert proc.stdout == scenario.exact_stdout, f"{where} printed {proc.stdout!r}"
    _assert_in_order(proc.stdout, scenario.stdout, f"{where} stdout")
    _assert_in_order(proc.stderr, scenario.stderr, f"{where} stderr")


def _assert_in_order(text: str, expected: Sequence[str], where: str) -> None:
    position = 0
    for piece in expected:
        found = text.find(piece, position)
        assert found >= 0, f"{where}: {piece!r} not found (in order) in:\n{text[-3000:]}"
        position = found + len(piece)
