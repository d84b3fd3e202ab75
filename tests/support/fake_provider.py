"""The fake model provider now ships in the SDK (``codex_app_server.testing``).

Re-exported here with the test-only extras (``sse_events``) so test helpers
import one module.
"""

from __future__ import annotations

from codex_app_server.testing import (
    DEFAULT_TEXT,
    Delay,
    Failed,
    FakeProvider,
    FunctionCall,
    Hang,
    HttpError,
    Raw,
    RequestRecord,
    Script,
    Text,
    Usage,
    final_text,
)
from codex_app_server.testing._provider import sse_events

__all__ = [
    "DEFAULT_TEXT",
    "Delay",
    "FakeProvider",
    "Failed",
    "FunctionCall",
    "Hang",
    "HttpError",
    "Raw",
    "RequestRecord",
    "Script",
    "Text",
    "Usage",
    "final_text",
    "sse_events",
]
