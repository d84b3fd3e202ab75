"""Run the examples offline: a local fake model provider on 127.0.0.1, no API key.

Only for `--offline`; with a real account, drop the flag and use ``AppServerConfig()``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from codex_app_server import AppServerConfig
from codex_app_server.testing import FakeProvider, Script, offline_config


@contextmanager
def offline(*replies: Script, approval_policy: str = "never") -> Iterator[AppServerConfig]:
    """A config that points codex at a scripted fake provider for the duration."""
    with tempfile.TemporaryDirectory(prefix="codex-example-") as tmp, FakeProvider(replies) as provider:
        yield offline_config(provider, home=tmp, approval_policy=approval_policy)


def wants_offline() -> bool:
    return "--offline" in sys.argv[1:]
