"""Client lifecycle: eager ``Codex``, lazy ``AsyncCodex``, metadata, context managers, close."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from codex_app_server import AppServerConfig, AsyncCodex, Codex, CodexError, InitializeResponse, __version__

from .conftest import requires_codex
from .support import STEP_TIMEOUT_S, LoopThread

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts child processes via /proc")


def codex_children() -> set[int]:
    """Live (non-zombie) child processes of this test process that run codex."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid() and state != "Z" and "codex" in name:
            found.add(int(stat.parent.name))
    return found


def check_metadata(metadata: object, config: AppServerConfig) -> None:
    assert isinstance(metadata, InitializeResponse)
    assert metadata.user_agent.startswith(f"{config.client_name}/")  # our clientInfo reached the server
    assert f"({config.client_name}; {__version__})" in metadata.user_agent
    assert config.env is not None and metadata.codex_home == config.env["CODEX_HOME"]


@needs_proc
def test_codex_starts_eagerly_and_close_stops_the_server(config_factory: Callable[..., AppServerConfig]) -> None:
    config = config_factory()
    before = codex_children()

    with Codex(config) as codex:
        check_metadata(codex.metadata, config)  # available right after construction
        assert len(codex_children() - before) == 1
        assert codex.models().data

    assert codex_children() - before == set()
    with pytest.raises(CodexError):
        codex.models()


@needs_proc
def test_async_codex_starts_lazily_on_first_use(
    config_factory: Callable[..., AppServerConfig], loop: LoopThread
) -> None:
    config = config_factory()
    before = codex_children()

    async def scenario() -> None:
        codex = AsyncCodex(config)
        await asyncio.sleep(0.2)  # give a wrongly eager start the chance to show up
        assert codex_children() - before == set()
        with pytest.raises(RuntimeError, match="not started"):
            codex.metadata  # noqa: B018
        # The first calls start it, once, however many arrive together.
        models, thread, metadata = await asyncio.gather(codex.models(), codex.thread_start(), codex.start())
        assert models.data and thread.id
        assert metadata is codex.metadata
        check_metadata(codex.metadata, config)
        assert len(codex_children() - before) == 1
        await codex.close()
        assert codex_children() - before == set()

    loop.run(scenario(), timeout=STEP_TIMEOUT_S * 2)


@needs_proc
def test_async_with_starts_and_stops_the_server(config_factory: Callable[..., AppServerConfig]) -> None:
    config = config_factory()
    before = codex_children()

    async def scenario() -> AsyncCodex:
        async with AsyncCodex(config) as codex:
            check_metadata(codex.metadata, config)  # entering started it
            assert len(codex_children() - before) == 1
            thread = await codex.thread_start()
            assert (await thread.run("Hello")).final_response
        return codex

    codex = asyncio.run(scenario())  # a plain asyncio.run, as in a user's script
    assert codex_children() - before == set()

    async def after_close() -> None:
        await codex.models()

    with pytest.raises(CodexError):
        asyncio.run(after_close())
