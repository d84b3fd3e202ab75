"""The API-diff comment of a pull request: its text, how to find it again, the breaking-change verdict.

CI posts ONE comment per pull request and edits it on every push: the comment
starts with :data:`MARKER` (an HTML comment, invisible on GitHub), and
:func:`find_marked_comment` picks it out of the pull request's comments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MARKER = "<!-- codex-app-server:api-diff -->"
# The label a maintainer puts on a pull request to accept its breaking API changes.
ACCEPT_LABEL = "accept-breaking-api"


@dataclass(frozen=True)
class Verdict:
    breaking: int
    accepted: bool  # the pull request carries ACCEPT_LABEL

    @property
    def blocks(self) -> bool:
        """The API-diff check fails: breaking changes nobody accepted."""
        return self.breaking > 0 and not self.accepted

    def status_line(self) -> str:
        if self.breaking == 0:
            return "No breaking change to the public API."
        changes = f"{self.breaking} breaking change{'s' if self.breaking != 1 else ''}"
        if self.accepted:
            return f"**{changes}**, accepted by the label `{ACCEPT_LABEL}`."
        return (
            f"**{changes}: this check fails** until a maintainer who accepts them adds the label "
            f"`{ACCEPT_LABEL}` (then re-run the job, or push)."
        )


def verdict(breaking: int, labels: Iterable[str]) -> Verdict:
    return Verdict(breaking=breaking, accepted=ACCEPT_LABEL in set(labels))


def demote_headings(markdown: str, levels: int = 2) -> str:
    """``levels`` more ``#`` on every heading, so the report nests under the comment's own ``##`` title."""
    prefix = "#" * levels
    return "\n".join(prefix + line if line.startswith("#") else line for line in markdown.splitlines()) + "\n"


def render_comment(report_markdown: str, result: Verdict, base: str) -> str:
    """The whole comment: marker, title, verdict, the report (Breaking section first, as api-diff orders it)."""
    return "\n".join(
        [
            MARKER,
            "## Public API diff",
            "",
            f"Against the base `{base}`. {result.status_line()}",
            "",
            demote_headings(report_markdown).rstrip("\n"),
            "",
            "<sub>What a user of `codex_app_server` sees, from each side's schema and manifest "
            "(`nox -s api-diff`). Generator and template changes show in the diff of `output/API.md`. "
            "This comment is updated on every push.</sub>",
            "",
        ]
    )


def find_marked_comment(comments: Iterable[Mapping[str, Any]]) -> int | None:
    """The id of the oldest comment that starts with MARKER (quoting it adds "> ", so quotes never match)."""
    for comment in comments:
        body = comment.get("body")
        if isinstance(body, str) and body.lstrip().startswith(MARKER):
            comment_id = comment.get("id")
            if isinstance(comment_id, int):
                return comment_id
    return None


def load_comments(text: str) -> list[dict[str, Any]]:
    """Comments as the GitHub API lists them: one JSON array, or one JSON object per line (``gh --jq '.[]'``)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        loaded = json.loads(text)
        return [c for c in loaded if isinstance(c, dict)]
    return [c for c in (json.loads(line) for line in text.splitlines() if line.strip()) if isinstance(c, dict)]
