"""Stream a turn: print the answer as it is generated, then how the turn ended.

python examples/streaming.py            # your configured codex account
python examples/streaming.py --offline  # a local fake provider, no network
"""

from __future__ import annotations

from contextlib import nullcontext

from _offline import offline, wants_offline
from codex_app_server import AppServerConfig, Codex
from codex_app_server.generated.v2_all import (
    ItemAgentMessageDeltaEvent,
    ThreadTokenUsageUpdatedEvent,
    TurnCompletedEvent,
)
from codex_app_server.testing import final_text

OFFLINE_REPLY = final_text(
    "Streaming shows the answer while it is being written.",
    chunks=["Streaming shows ", "the answer while ", "it is being ", "written."],
)


def main() -> None:
    context = offline(OFFLINE_REPLY) if wants_offline() else nullcontext(AppServerConfig())
    with context as config, Codex(config) as codex:
        thread = codex.thread_start(model="mock-model" if wants_offline() else "gpt-5.4")
        handle = thread.turn("Explain streaming in one sentence.")
        deltas = 0
        tokens = 0
        for event in handle.stream():  # typed events of this turn, until turn/completed
            if isinstance(event, ItemAgentMessageDeltaEvent):
                deltas += 1
                print(event.params.delta, end="", flush=True)
            elif isinstance(event, ThreadTokenUsageUpdatedEvent):
                tokens = event.params.token_usage.total.total_tokens
            elif isinstance(event, TurnCompletedEvent):
                print()
                print(f"-- turn {event.params.turn.status.value}: {deltas} deltas, {tokens} tokens")


if __name__ == "__main__":
    main()
