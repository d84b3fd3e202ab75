"""The claims of SECURITY.md, each backed by a test.

1. The app-server runs without a shell: argv goes to the OS as a list.
2. A config override value cannot become another argument or another ``-c``:
   it is rendered as one TOML string in one argv element, and codex reads
   back exactly the value given; override keys are validated.
3. The child's environment is chosen deliberately: with
   ``inherit_env=False`` only ``MINIMAL_ENV_VARS`` (and ``config.env``)
   reach it; ``None`` deletes a variable.
4. Secrets are never logged: with every logger at DEBUG, a turn whose
   environment, params and results carry secrets logs none of them, and
   neither does a notification that fails validation.
5. The generated code never evaluates schema text: no eval/exec/compile,
   no imports beyond the typing and pydantic ones, schema strings only as
   literals (the adversarial generator corpus checks the escaping).
"""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AppServerConfig, Codex
from codex_app_server._config import MINIMAL_ENV_VARS, build_argv

from tests.support.fake_provider import FakeProvider, final_text

from .support import child_pids, fake_config, linux_only, offline_config, recorded_turn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = [linux_only, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "output" / "src" / "codex_app_server" / "generated"
TURN = recorded_turn()
INJECTIONS = [
    'x" -c model="evil',
    "x' -c model='evil",
    "x\n-c model=evil",
    "$(touch pwned-by-dollar)",
    "`touch pwned-by-backtick`",
    "a; touch pwned-by-semicolon && echo",
    "--help",
]


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode("utf-8", "surrogateescape").split("\0") if "=" in item)


# ---------------------------------------------------------------- 1. no shell


def test_the_app_server_is_spawned_without_a_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import codex_app_server._transports.stdio as transport

    calls: list[tuple[Any, dict[str, Any]]] = []
    real_popen = subprocess.Popen

    def spy(args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real_popen(args, **kwargs)

    monkeypatch.setattr(transport.subprocess, "Popen", spy)
    config = fake_config(tmp_path, TURN.script(), config_overrides={"model": "$(touch pwned)"})
    with Codex(config):
        pass
    ((args, kwargs),) = calls
    assert isinstance(args, list) and all(isinstance(a, str) for a in args)
    assert kwargs.get("shell") is False
    assert args[0] == config.codex_bin  # the binary itself, not /bin/sh
    assert args[-3:] == ["app-server", "--listen", "stdio://"]
    assert not list(tmp_path.glob("pwned*"))


# ---------------------------------------------------------------- 2. overrides


@pytest.mark.parametrize("value", INJECTIONS)
def test_an_override_value_stays_one_argument_and_round_trips_as_toml(value: str) -> None:
    argv = build_argv(AppServerConfig(config_overrides={"model": value, "sandbox_mode": "read-only"}), "codex")
    assert argv.count("-c") == 2  # ours, and no other
    rendered = argv[argv.index("-c") + 1]
    key, _, toml_text = rendered.partition("=")
    assert key == "model" and "\n" not in rendered
    assert tomllib.loads(f"v = {toml_text}")["v"] == value


@pytest.mark.real
def test_codex_reads_back_exactly_the_override_value(codex_bin: str, provider: FakeProvider, tmp_path: Path) -> None:
    """What the real codex makes of hostile override values: the literal string, nothing run."""
    for i, value in enumerate(INJECTIONS[:5]):
        base = offline_config(provider.base_url, tmp_path / str(i))
        config = AppServerConfig(**{**vars(base), "config_overrides": {**base.config_overrides, "model": value}})
        with Codex(config) as codex:
            assert codex.thread_start().thread.id
            assert codex.client.config_read().config.model == value
    assert not [p for p in tmp_path.rglob("pwned*")]


@pytest.mark.parametrize("key", ["model --config x", "-c", "a=b", "x.-y", "", "a..b", "model\n"])
def test_override_keys_are_validated_at_construction(key: str) -> None:
    with pytest.raises(ValueError, match="invalid config override key"):
        AppServerConfig(config_overrides={key: "v"})


# ---------------------------------------------------------------- 3. environment


def test_the_child_environment_is_chosen_deliberately(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("CODEX_TEST_UNRELATED", "1")
    monkeypatch.setenv("LANG", "C.UTF-8")
    script = TURN.script()

    def environ(**kwargs: Any) -> dict[str, str]:
        before = child_pids()
        with Codex(fake_config(tmp_path / uuid.uuid4().hex, script, **kwargs)):
            (pid,) = child_pids() - before
            return _environ_of(pid)

    minimal = environ(inherit_env=False, env={"CODEX_HOME": str(tmp_path)})
    allowed = set(MINIMAL_ENV_VARS) | {"CODEX_HOME"}
    assert set(minimal) <= allowed, sorted(set(minimal) - allowed)
    assert minimal["CODEX_HOME"] == str(tmp_path) and minimal["LANG"] == "C.UTF-8"
    assert secret not in "\0".join(f"{k}={v}" for k, v in minimal.items())

    inherited = environ()  # the documented default: everything, like any subprocess
    assert inherited["OPENAI_API_KEY"] == secret and inherited["CODEX_TEST_UNRELATED"] == "1"

    removed = environ(env={"OPENAI_API_KEY": None, "EXTRA": "x"})
    assert "OPENAI_API_KEY" not in removed and removed["EXTRA"] == "x"


# ---------------------------------------------------------------- 4. logging


class _Everything(logging.Handler):
    """Captures every record of every logger, formatted as a user's handler would."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Any:
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _leaks(lines: list[str], secrets: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: [line[:200] for line in lines if value in line]
        for name, value in secrets.items()
        if any(value in line for line in lines)
    }


@pytest.mark.real
def test_a_turn_logs_no_secret_at_debug(codex_bin: str, tmp_path: Path, all_logs: _Everything) -> None:
    secrets = {name: f"{name}-{uuid.uuid4().hex}" for name in ("api-key", "env", "instructions", "prompt", "answer")}
    with FakeProvider([final_text(f"The answer is {secrets['answer']}.")]) as provider:
        config = offline_config(
            provider.base_url,
            tmp_path,
            env={"CODEX_MOCK_API_KEY": secrets["api-key"], "MY_SERVICE_TOKEN": secrets["env"]},
        )
        with Codex(config) as codex:
            thread = codex.thread_start(model="mock-model", developer_instructions=secrets["instructions"])
            result = thread.run(f"Remember {secrets['prompt']}.")
            read = codex.client.thread_read(thread_id=thread.id, include_turns=True)
        # The secrets did travel: the provider saw the key, the answer came back.
        auth = [
            v for r in provider.log if r.method == "POST" for k, v in r.headers.items() if k.lower() == "authorization"
        ]
        assert auth and all(secrets["api-key"] in a for a in auth)
    assert result.final_response is not None and secrets["answer"] in result.final_response
    assert secrets["prompt"] in json.dumps(read.model_dump(mode="json"))
    assert len(all_logs.lines) > 5, "DEBUG logging was not captured"
    assert _leaks(all_logs.lines, secrets) == {}


def test_a_notification_that_fails_validation_logs_no_value(
    tmp_path: Path, open_client: Any, all_logs: _Everything
) -> None:
    secret = f"k-{uuid.uuid4().hex[:10]}"  # short: pydantic would show it whole in its error text
    sends = TURN.sends()
    bad = {"threadId": TURN.thread_id, "turnId": TURN.turn_id, "itemId": "m1", "delta": {"token": secret}}
    sends.insert(5, {"send": {"method": "item/agentMessage/delta", "params": bad}})
    client = open_client(fake_config(tmp_path, TURN.script(sends)))
    events = list(client.thread_start().turn("hi").stream())
    unknown = [e for e in events if e.method == "item/agentMessage/delta" and type(e).__name__ == "UnknownNotification"]
    assert len(unknown) == 1 and secret in unknown[0].reason  # the caller still sees what failed
    assert unknown[0].params is not None and unknown[0].params["delta"] == {"token": secret}
    assert any("did not validate" in line for line in all_logs.lines)
    assert _leaks(all_logs.lines, {"delta": secret}) == {}


# ---------------------------------------------------------------- 5. generated code


_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "globals", "locals", "vars"}
_ALLOWED_IMPORTS = {"__future__", "enum", "typing", "pydantic", "collections.abc", "dataclasses"}


@pytest.mark.parametrize("path", sorted(GENERATED.rglob("*.py")), ids=lambda p: p.relative_to(GENERATED).as_posix())
def test_generated_code_never_evaluates_text(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in _FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {node.func.id}()"
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module in _ALLOWED_IMPORTS, f"{path.name}:{node.lineno} imports {node.module}"
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= _ALLOWED_IMPORTS, f"{path.name}:{node.lineno}"
