"""Scale out with Ray: actors each owning an AsyncCodex, a batch of prompts spread over them.

python examples/ray_batch.py --offline                  # local Ray, a local fake provider, no network
python examples/ray_batch.py --address auto             # your Ray cluster; each actor's codex uses its node's login
python examples/ray_batch.py --offline --compare        # also time the same batch in one process (stderr)

Each actor starts one ``codex app-server`` on its node (lazily, on its first
turn) and runs up to ``--per-actor`` turns at once, one thread per prompt.
A turn that fails comes back as its exception (``TurnFailedError`` ...), a
value like any other: the SDK's results and errors pickle intact. When an
actor dies, its codex sees its stdin close and exits: nothing is left running.

Needs ``pip install ray``. ``--offline`` runs Ray on this machine only: bound
to 127.0.0.1, no dashboard, no usage statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from codex_app_server import AppServerConfig, AsyncCodex, CodexError, RunResult, TurnFailedError
from codex_app_server.testing import FakeProvider, HttpError, ModelRequest, Script, Text, offline_config

Outcome = RunResult | CodexError


class CodexWorker:
    """One AsyncCodex per actor; each ``run`` is a turn on a new thread (async actor: calls overlap)."""

    def __init__(self, config: AppServerConfig) -> None:
        self._codex = AsyncCodex(config)  # starts on the first turn, in the actor's event loop

    async def run(self, prompt: str) -> Outcome:
        try:
            thread = await self._codex.thread_start()
            return await thread.run(prompt)
        except CodexError as exc:  # returned, not raised: the caller gathers errors with the results
            return exc

    async def codex_pid(self) -> int | None:
        await self._codex.start()
        return self._codex.pid

    async def close(self) -> None:
        await self._codex.close()


def run_batch(prompts: Sequence[str], configs: Sequence[AppServerConfig], per_actor: int) -> list[Outcome]:
    """The prompts spread round-robin over one actor per config; outcomes in prompt order."""
    import ray

    actor = ray.remote(CodexWorker).options(max_concurrency=per_actor)
    workers: list[Any] = [actor.remote(config) for config in configs]
    try:
        refs = [workers[n % len(workers)].run.remote(prompt) for n, prompt in enumerate(prompts)]
        return list(ray.get(refs))
    finally:
        ray.get([worker.close.remote() for worker in workers])


async def run_in_one_process(prompts: Sequence[str], config: AppServerConfig) -> list[Outcome]:
    """The same batch without Ray: one AsyncCodex, every turn at once."""

    async def one(codex: AsyncCodex, prompt: str) -> Outcome:
        try:
            return await (await codex.thread_start()).run(prompt)
        except CodexError as exc:
            return exc

    async with AsyncCodex(config) as codex:
        return list(await asyncio.gather(*(one(codex, prompt) for prompt in prompts)))


def describe(outcome: Outcome) -> str:
    if isinstance(outcome, RunResult):
        return str(outcome.final_response)
    if isinstance(outcome, TurnFailedError):  # the message names the turn: print its cause only
        return f"TurnFailedError ({outcome.codex_error_info})"
    return f"{type(outcome).__name__}: {outcome}".splitlines()[0]


def fake_model(request: ModelRequest) -> Script:
    """The offline model: answers each prompt by name; a prompt that says 'fail' gets an HTTP 500."""
    if "fail" in request.prompt:
        return HttpError(500)
    return Text(f"answer to {request.prompt}")


def local_ray_environment() -> None:
    """What keeps a local Ray on this machine; set before ``import ray``, which reads it.

    No usage statistics are sent, and the node's address is the loopback one
    (Ray otherwise binds and connects on the machine's network address).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def start_local_ray(cpus: int) -> None:
    """Ray on this machine only: 127.0.0.1, no dashboard, one logical CPU per actor.

    Refuses to go on (and stops Ray) when the node is not on loopback: Ray
    was imported before :func:`local_ray_environment` ran.
    """
    local_ray_environment()
    import ray

    ray.init(
        num_cpus=cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    elsewhere = {node["NodeManagerAddress"] for node in ray.nodes()} - {"127.0.0.1"}
    if elsewhere:
        ray.shutdown()
        raise RuntimeError(f"local Ray came up on {sorted(elsewhere)}: import ray after local_ray_environment()")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="local Ray and a local fake model provider")
    parser.add_argument("--address", help="an existing Ray cluster (e.g. 'auto'); default: start Ray locally")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--per-actor", type=int, default=4, help="turns each actor runs at once")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--compare", action="store_true", help="also run the batch in one process; times on stderr")
    args = parser.parse_args(argv)
    prompts = [f"prompt {n}" + (" (please fail)" if n % 5 == 4 else "") for n in range(args.prompts)]

    with ExitStack() as stack:
        if args.offline:
            provider = stack.enter_context(FakeProvider(respond=fake_model))
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="codex-ray-")))
            configs = [_offline(provider, home / f"actor-{n}") for n in range(args.actors)]
        else:
            configs = [AppServerConfig(concurrent_turns=True)] * args.actors
        if args.address:
            import ray

            ray.init(address=args.address)
        else:
            start_local_ray(args.actors)
        stack.callback(_shutdown_ray)

        started = time.perf_counter()
        outcomes = run_batch(prompts, configs, args.per_actor)
        ray_seconds = time.perf_counter() - started
        for prompt, outcome in zip(prompts, outcomes, strict=True):
            print(f"{prompt} -> {describe(outcome)}")
        failed = sum(not isinstance(outcome, RunResult) for outcome in outcomes)
        print(f"{len(outcomes) - failed} answered, {failed} failed")
        print(f"ray: {_rate(len(prompts), ray_seconds)} over {args.actors} actors", file=sys.stderr)

        if args.compare:
            config = configs[0] if not args.offline else _offline(provider, home / "one-process")
            started = time.perf_counter()
            alone = asyncio.run(run_in_one_process(prompts, config))
            seconds = time.perf_counter() - started
            assert [describe(o) for o in alone] == [describe(o) for o in outcomes]
            print(f"one process: {_rate(len(prompts), seconds)}", file=sys.stderr)


def _rate(turns: int, seconds: float) -> str:
    return f"{turns} turns in {seconds:.2f} s, {turns / seconds:.1f} turns/s"


def _shutdown_ray() -> None:
    import ray

    ray.shutdown()


def _offline(provider: FakeProvider, home: Path) -> AppServerConfig:
    return offline_config(provider, home=home, concurrent_turns=True)


if __name__ == "__main__":
    main()
