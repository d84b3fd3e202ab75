"""Which codex the SDK talks to, and which one it was generated from.

The server names its version only in the ``userAgent`` of its ``initialize``
answer (``<client name>/<codex version> (<os>; <arch>) ...``). Knowing it
lets errors caused by a version gap say so: a method the server does not
have, or a field an older server leaves out, name both versions and what to
do about it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Final

from pydantic import ValidationError

from .generated import SCHEMA_VERSION as _GENERATED_FROM

logger = logging.getLogger("codex_app_server")

#: The codex release whose schema generated this SDK.
SCHEMA_VERSION: Final[str] = _GENERATED_FROM

_VERSION_IN_USER_AGENT = re.compile(r"^[^/\s]*/(\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.+-]*)?)")
_warned: set[str] = set()
_warned_lock = threading.Lock()


def server_version_from_user_agent(user_agent: object) -> str | None:
    """``"codex_app_server_sdk/0.133.0 (Debian 12; x86_64) ..."`` -> ``"0.133.0"``; None if it names none."""
    if not isinstance(user_agent, str):
        return None
    match = _VERSION_IN_USER_AGENT.match(user_agent)
    return match.group(1) if match else None


def note_server_version(server_version: str | None) -> None:
    """Log one warning (per version, per process) when the server is not the codex we were generated from."""
    if server_version is None or server_version == SCHEMA_VERSION:
        return
    with _warned_lock:
        if server_version in _warned:
            return
        _warned.add(server_version)
    logger.warning(
        "codex app-server %s differs from codex %s, the version this SDK was generated from; "
        "newer fields and methods may be missing (%s)",
        server_version,
        SCHEMA_VERSION,
        upgrade_hint(server_version),
    )


def versions_differ(server_version: str | None) -> bool:
    """True when the server's codex is known and is not the one this SDK was generated from."""
    return server_version is not None and server_version != SCHEMA_VERSION


def describe(server_version: str | None) -> str:
    """``server codex 0.133.0, SDK generated from codex 0.163.0``."""
    return f"server codex {server_version or 'unknown'}, SDK generated from codex {SCHEMA_VERSION}"


def upgrade_hint(server_version: str | None) -> str:
    if server_version is None or server_version == SCHEMA_VERSION:
        return f"use codex {SCHEMA_VERSION}, the version this SDK was generated from"
    return (
        f"upgrade codex to {SCHEMA_VERSION} (pip install openai-codex-cli-bin=={SCHEMA_VERSION}), "
        f"or use the SDK release generated from codex {server_version} (codex-app-server-sdk=={server_version})"
    )


def json_path(raw: object, loc: tuple[int | str, ...]) -> str:
    """The JSON pointer of a pydantic error location inside ``raw``.

    pydantic puts the tag of a union's variant into the location
    (``thread.userMessage.content``); walking the raw object keeps only the
    steps that exist in it, plus the last one (the missing member).
    """
    parts: list[str] = []
    node = raw
    for index, step in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif not last:
            continue  # a union branch label, not a member of the object
        parts.append(str(step).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(parts)


def missing_fields(raw: object, error: ValidationError) -> list[str]:
    """JSON pointers of the required members ``raw`` lacks, per ``error``."""
    return [json_path(raw, tuple(e["loc"])) for e in error.errors() if e["type"] == "missing"]
