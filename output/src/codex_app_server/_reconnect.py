"""When and how often a client connected to a running app-server tries to get back after losing it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ._errors import CodexTypeError, CodexValueError

__all__ = ["Reconnect", "reconnect_policy"]


@dataclass(frozen=True)
class Reconnect:
    """Reconnect after an unexpected connection loss (off unless passed to ``connect``).

    Up to ``attempts`` tries, waiting ``initial_delay`` seconds before the
    first and doubling up to ``max_delay``. Each try connects anew (a fresh
    JWT when one is used), initializes, and resumes (``thread/resume``)
    every thread this client follows; a turn that was streaming goes on
    streaming, since the server kept running it (events emitted while
    disconnected are not replayed; ``turn/completed`` carries the outcome).
    Requests in flight when the connection dropped fail with
    :class:`~codex_app_server.TransportClosedError`; requests made while
    reconnecting wait for it.
    """

    attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise CodexValueError("Reconnect.attempts must be >= 1")
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise CodexValueError("Reconnect delays must satisfy 0 <= initial_delay <= max_delay")

    def delays(self) -> Iterator[float]:
        """The wait before each attempt: bounded exponential backoff."""
        delay = self.initial_delay
        for _ in range(self.attempts):
            yield delay
            delay = min(max(delay * 2, 0.05), self.max_delay)

    @property
    def budget(self) -> float:
        """The longest a whole reconnect can wait between attempts."""
        return sum(self.delays())


def reconnect_policy(value: Reconnect | bool | None) -> Reconnect | None:
    """``reconnect=`` of the connect methods: True is the default policy, False/None none."""
    if isinstance(value, Reconnect):
        return value
    if value is True:
        return Reconnect()
    if value is False or value is None:
        return None
    raise CodexTypeError(f"reconnect must be a bool or a Reconnect, got {type(value).__name__}")
