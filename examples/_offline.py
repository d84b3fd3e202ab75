"""Run the examples offline: a local fake model provider on 127.0.0.1, no API key.

Only for `--offline`; with a real account, drop the flag and use ``AppServerConfig()``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codex_app_server import AppServerConfig  # noqa: E402

from tests.support.codex_env import isolated_env, mock_config_overrides  # noqa: E402
from tests.support.fake_provider import FakeProvider, Script  # noqa: E402


@contextmanager
def offline(*replies: Script, approval_policy: str = "never") -> Iterator[AppServerConfig]:
    """A config that points codex at a scripted fake provider for the duration."""
    with tempfile.TemporaryDirectory(prefix="codex-example-") as tmp, FakeProvider(replies) as provider:
        yield AppServerConfig(
            config_overrides=mock_config_overrides(provider.base_url, approval_policy=approval_policy),
            env=isolated_env(Path(tmp)),
            inherit_env=False,
        )


def wants_offline() -> bool:
    return "--offline" in sys.argv[1:]
