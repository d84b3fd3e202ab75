"""The seed example with asyncio: AsyncCodex starts on `async with`, every call is awaited.

python examples/async_hello.py            # your configured codex account
python examples/async_hello.py --offline  # a local fake provider, no network
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

from _offline import offline, wants_offline
from codex_app_server import AppServerConfig, AsyncCodex
from codex_app_server.testing import final_text


async def main(config: AppServerConfig) -> None:
    async with AsyncCodex(config) as codex:
        thread = await codex.thread_start(model="mock-model" if wants_offline() else "gpt-5.4")
        result = await thread.run("Say hello in one sentence.")
        print(result.final_response)


if __name__ == "__main__":
    context = offline(final_text("Hello from asyncio!")) if wants_offline() else nullcontext(AppServerConfig())
    with context as config:
        asyncio.run(main(config))
