"""The seed example: start a thread, run one turn, print the final response.

python examples/hello.py            # your configured codex account
python examples/hello.py --offline  # a local fake provider, no network
"""

from __future__ import annotations

from contextlib import nullcontext

from _offline import offline, wants_offline
from codex_app_server import AppServerConfig, Codex
from codex_app_server.testing import final_text


def main() -> None:
    context = (
        offline(final_text("Hello! I am Codex, happy to help.")) if wants_offline() else nullcontext(AppServerConfig())
    )
    with context as config, Codex(config) as codex:
        model = "mock-model" if wants_offline() else "gpt-5.4"
        thread = codex.thread_start(model=model, config={"model_reasoning_effort": "high"})
        result = thread.run("Say hello in one sentence.")
        print(result.final_response)


if __name__ == "__main__":
    main()
