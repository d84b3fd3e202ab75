"""Is there a codex release newer than the one the SDK is generated from?

The bump workflow asks this on a schedule; ``nox -s bump-check`` asks it by
hand. Either way the answer is a :class:`BumpDecision`: what the bot would do,
said in one line, plus the values the workflow needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .index import version_key

PACKAGE = "openai-codex-cli-bin"
# ONE branch for every bump, so the bot updates its open pull request instead
# of opening one per release.
BUMP_BRANCH = "bot/codex-bump"


@dataclass(frozen=True)
class BumpDecision:
    current: str  # codex version in schemas/schema.lock
    newest: str | None  # newest final release on the index (None: the index has none)

    @property
    def should_bump(self) -> bool:
        return self.newest is not None and version_key(self.newest) > version_key(self.current)

    @property
    def title(self) -> str:
        return f"Bump codex to {self.newest}"

    @property
    def report_path(self) -> str:
        """Where `nox -s bump` writes the API diff (generator.bump.DIFF_DIR)."""
        return f"build/api-diff/api-diff-{self.current}-to-{self.newest}.md"

    def describe(self) -> str:
        if self.newest is None:
            return f"{PACKAGE} has no final release on the index; nothing to do (schema.lock: {self.current})."
        if not self.should_bump:
            return (
                f"Up to date: the newest {PACKAGE} is {self.newest}, schemas/schema.lock has {self.current}; "
                "nothing to do."
            )
        return (
            f"codex {self.newest} is out (schemas/schema.lock: {self.current}). The bot would run "
            f"`nox -s bump -- {self.newest}`, commit the result to branch {BUMP_BRANCH} and open the pull "
            f"request '{self.title}' (or update the one open from that branch), its body the API diff "
            f"{self.report_path}."
        )

    def github_outputs(self) -> dict[str, str]:
        return {
            "bump": "true" if self.should_bump else "false",
            "current": self.current,
            "version": self.newest or "",
            "branch": BUMP_BRANCH,
            "title": self.title if self.should_bump else "",
            "report": self.report_path if self.should_bump else "",
        }


def locked_version(lock_path: Path) -> str:
    """The codex version recorded in schemas/schema.lock."""
    data = json.loads(lock_path.read_text(encoding="utf-8"))
    version = data.get("codex_version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version:
        raise ValueError(f"{lock_path}: no codex_version")
    return version
