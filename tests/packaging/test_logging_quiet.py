"""Logging: the SDK logs under ``codex_app_server`` and is silent unless the app configures logging.

Each check runs in a fresh interpreter, as an application would: the
library must add no handler but a ``NullHandler`` (so Python's last-resort
handler never prints its warnings to the app's stderr), and the same
records must appear once the app calls ``logging.basicConfig()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.codex_env import find_codex_binary, isolated_env, mock_config_overrides
from tests.support.fake_provider import FakeProvider, FunctionCall, final_text
from tests.support.fresh_python import run_python


def test_only_a_null_handler_is_installed() -> None:
    proc = run_python("""
        import logging
        import codex_app_server
        logger = logging.getLogger("codex_app_server")
        print([type(h).__name__ for h in logger.handlers], logger.level, logger.propagate)
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['NullHandler']", "0", "True"], proc.stdout


def test_a_library_warning_prints_nothing_until_the_app_configures_logging() -> None:
    emit = """
        import logging
        import codex_app_server
        {configure}
        logging.getLogger("codex_app_server._session").warning("probe warning from the SDK")
    """
    quiet = run_python(emit.format(configure=""))
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = run_python(emit.format(configure="logging.basicConfig()"))
    assert "probe warning from the SDK" in loud.stderr


HANDLER_RAISES = """
    import json, logging, sys
    from codex_app_server import AppServerConfig, Codex, ServerRequestHandler

    if sys.argv[2] == "configured":
        logging.basicConfig(level=logging.WARNING)
    plan = json.loads(sys.argv[1])

    class Broken(ServerRequestHandler):
        def item_command_execution_request_approval(self, params):
            raise RuntimeError("approval handler exploded")

    config = AppServerConfig(config_overrides=plan["overrides"], env=plan["env"], inherit_env=False)
    with Codex(config, handler=Broken()) as codex:
        thread = codex.thread_start(approval_policy="untrusted")
        print(thread.run("run echo hi").final_response)
"""


@pytest.mark.real
@pytest.mark.timeout(60)
@pytest.mark.parametrize("logging_setup", ["unconfigured", "configured"])
def test_a_real_handler_failure_is_logged_only_where_the_app_asked(tmp_path: Path, logging_setup: str) -> None:
    """A server-request handler that raises is answered with an error and logged as a warning."""
    binary = find_codex_binary()
    if binary is None:
        pytest.skip("no codex binary: install openai-codex-cli-bin or set CODEX_BIN")
    import json

    with FakeProvider([FunctionCall(), final_text("the turn went on")]) as provider:
        plan = json.dumps({"overrides": mock_config_overrides(provider.base_url), "env": isolated_env(tmp_path)})
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(HANDLER_RAISES), plan, logging_setup],
            capture_output=True,
            text=True,
            timeout=45,
            cwd=tmp_path,
            env={**os.environ, "CODEX_BIN": binary},
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "the turn went on"
    if logging_setup == "unconfigured":
        assert proc.stderr == ""
    else:
        assert "approval handler exploded" in proc.stderr
        assert "WARNING:codex_app_server" in proc.stderr
