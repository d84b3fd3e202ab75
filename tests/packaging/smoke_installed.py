"""Smoke test of an installed ``codex-app-server`` wheel (run inside its venv).

``python -I smoke_installed.py PLAN.json`` from a temporary directory:
isolated mode, so neither the source tree, ``PYTHONPATH`` nor the user site
can supply ``codex_app_server``; only the venv's installed wheel can. Standard
library + the SDK only: the fake model provider runs in the parent process
(``build_and_smoke.py``), which passes its URL, the ``-c`` overrides and the
isolated environment in PLAN.json.

Checks: the package comes from this venv; version and metadata agree;
``py.typed`` is shipped; every seed import statement works; the codex binary
resolves to the ``[bin]`` extra's ``codex_cli_bin`` (no ``CODEX_BIN``, no
``codex`` on PATH); the ``codex_app_server`` logger is quiet; one real turn
with ``Codex`` and one with ``AsyncCodex`` return the scripted replies, and
so does one over a websocket (``[remote]``: a ``--listen ws://`` server
started from ``AppServerConfig.server_command``, then ``Codex.connect``).
Prints one JSON line with what it saw; any failure exits non-zero with the
reason.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from codex_app_server import AppServerConfig


def _inside(path: str | os.PathLike[str], root: str) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def check_install(plan: dict[str, object]) -> dict[str, object]:
    # A clean import: a user running with -W error must not break, and an
    # unsupported pydantic announces itself here (2.11 warns that it ignores
    # Field(exclude_if=...)).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import codex_app_server
        import codex_app_server.generated.v2_all  # noqa: F401
    assert not caught, f"importing the SDK warned: {[f'{w.category.__name__}: {w.message}' for w in caught][:3]}"

    location = codex_app_server.__file__ or "?"
    where = f"codex_app_server imported from {location}, not from this venv ({sys.prefix})"
    assert _inside(location, sys.prefix), where
    version = codex_app_server.__version__
    assert version == plan["version"], f"__version__ {version!r} != {plan['version']!r}"
    dist_version = importlib.metadata.version("codex-app-server")
    assert dist_version == codex_app_server.__version__, f"metadata {dist_version} != __version__"
    assert (Path(location).parent / "py.typed").is_file(), "py.typed is missing from the installed package"
    handlers = logging.getLogger("codex_app_server").handlers
    assert all(isinstance(h, logging.NullHandler) for h in handlers), f"library installs handlers: {handlers}"
    return {"package": os.path.dirname(location)}


def check_seed_imports(statements: list[str]) -> int:
    for statement in statements:
        try:
            exec(compile(statement, "<seed import>", "exec"), {})
        except Exception as exc:  # report which line of the spec broke
            raise AssertionError(f"seed import failed: {statement!r}: {type(exc).__name__}: {exc}") from exc
    return len(statements)


def check_binary() -> str:
    from codex_app_server import AppServerConfig
    from codex_app_server._config import resolve_codex_binary

    binary = resolve_codex_binary(AppServerConfig())
    assert _inside(binary, sys.prefix), f"codex resolved to {binary}, not to the [bin] extra in {sys.prefix}"
    return binary


def _config(plan: dict[str, object]) -> AppServerConfig:
    from codex_app_server import AppServerConfig

    overrides = plan["config_overrides"]
    env = plan["env"]
    assert isinstance(overrides, dict) and isinstance(env, dict)
    return AppServerConfig(config_overrides=overrides, env=env, inherit_env=False, request_timeout=30.0)


def sync_turn(plan: dict[str, object]) -> str | None:
    from codex_app_server import Codex

    with Codex(_config(plan)) as codex:
        thread = codex.thread_start(model="mock-model")
        return thread.run("Say hello in one sentence.").final_response


async def async_turn(plan: dict[str, object]) -> str | None:
    from codex_app_server import AsyncCodex

    async with AsyncCodex(_config(plan)) as codex:
        thread = await codex.thread_start(model="mock-model")
        result = await thread.run("Say hello again.")
        return result.final_response


def websocket_turn(plan: dict[str, object]) -> str | None:
    """A turn over ``[remote]``: a ``--listen ws://`` server started with ``server_command``, then ``connect``."""
    import re
    import subprocess
    import tempfile
    import time

    from codex_app_server import Codex

    config = _config(plan)
    env = plan["env"]
    assert isinstance(env, dict)
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(config.server_command(listen="ws://127.0.0.1:0"), stderr=log, env=env)
        try:
            deadline = time.monotonic() + 30
            while not (found := re.search(r"ws://127\.0\.0\.1:\d+", _read(log))):
                assert server.poll() is None, f"the websocket server exited {server.returncode}: {_read(log)}"
                assert time.monotonic() < deadline, f"the websocket server printed no address: {_read(log)}"
                time.sleep(0.05)
            with Codex.connect(found.group()) as codex:
                thread = codex.thread_start(model="mock-model")
                return thread.run("Say hello over a websocket.").final_response
        finally:
            server.terminate()
            server.wait(timeout=30)


def _read(log: IO[str]) -> str:
    log.seek(0)
    return log.read()


def main(plan_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    seen: dict[str, object] = {"python": sys.version.split()[0]}
    seen.update(check_install(plan))
    seen["seed_imports"] = check_seed_imports(plan["seed_imports"])
    seen["binary"] = check_binary()
    replies = plan["replies"]
    seen["sync_reply"] = sync_turn(plan)
    assert seen["sync_reply"] == replies[0], f"sync turn answered {seen['sync_reply']!r}, expected {replies[0]!r}"
    seen["async_reply"] = asyncio.run(async_turn(plan))
    assert seen["async_reply"] == replies[1], f"async turn answered {seen['async_reply']!r}, expected {replies[1]!r}"
    seen["websocket_reply"] = websocket_turn(plan)
    assert seen["websocket_reply"] == replies[2], f"websocket turn answered {seen['websocket_reply']!r}"
    seen["distributions"] = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
    )
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
