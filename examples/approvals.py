"""Answer approval requests: run allow-listed commands, decline everything else.

Without a handler every approval request is declined (the safe default). A
handler subclass overrides the requests it wants to answer; here, command
approvals are decided by the program the command starts.

python examples/approvals.py            # your configured codex account
python examples/approvals.py --offline  # a local fake provider, no network
"""

from __future__ import annotations

import shlex
from contextlib import nullcontext

from _offline import offline, wants_offline
from codex_app_server import AppServerConfig, Codex, ServerRequestHandler
from codex_app_server.generated.v2_all import (
    CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse,
    CommandExecutionThreadItem,
)
from codex_app_server.testing import FunctionCall, final_text

ALLOWED_PROGRAMS = {"echo", "pwd"}

OFFLINE_REPLIES = (
    FunctionCall(arguments={"cmd": "echo hi", "yield_time_ms": 1000}),
    FunctionCall(arguments={"cmd": "ls -la", "yield_time_ms": 1000}),
    final_text("echo printed hi; listing the directory was not allowed."),
)


def program(command: str) -> str:
    """The program a simple shell command starts ("" when it cannot be parsed)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return ""
    return words[0] if words else ""


class AllowList(ServerRequestHandler):
    """Accept a command when every program it runs is allow-listed."""

    def item_command_execution_request_approval(
        self, params: CommandExecutionRequestApprovalParams
    ) -> CommandExecutionRequestApprovalResponse:
        # codex parses the shell command into actions; each names one command.
        commands = [action.command for action in params.command_actions or []] or [params.command or ""]
        decision = "accept" if all(program(c) in ALLOWED_PROGRAMS for c in commands) else "decline"
        print(f"approval requested for {' && '.join(commands)!r}: {decision}")
        return CommandExecutionRequestApprovalResponse(decision=decision)


def main() -> None:
    context = offline(*OFFLINE_REPLIES) if wants_offline() else nullcontext(AppServerConfig())
    with context as config, Codex(config, handler=AllowList()) as codex:
        # "untrusted": codex asks before running anything that is not known to be safe.
        thread = codex.thread_start(model="mock-model" if wants_offline() else "gpt-5.4", approval_policy="untrusted")
        result = thread.run("Print hi with echo, then list the current directory.")
        for item in result.items:
            if isinstance(item, CommandExecutionThreadItem):
                output = (item.aggregated_output or "").strip()
                print(f"command {item.command!r}: {item.status.value}" + (f", output {output!r}" if output else ""))
        print(result.final_response)


if __name__ == "__main__":
    main()
