"""The API diff's report: one Change per difference, in sections; Markdown and JSON."""

from __future__ import annotations

from dataclasses import dataclass

from .rules import BOTH, is_breaking

EXPERIMENTAL_NOTE = "Of the experimental API (`AppServerConfig(experimental_api=True)`): never counted as breaking."

# Report sections, in order.
AREAS = ("client methods", "wrappers", "notifications", "server requests", "definitions")


@dataclass(frozen=True)
class Change:
    area: str  # one of AREAS
    kind: str  # a key of RULES
    subject: str  # dotted Python name: ``ThreadStartParams.model``, ``AppServerClient.thread_read``
    detail: str
    breaking: bool
    experimental: bool = False  # of the experimental API: own section, never breaking

    def to_json(self) -> dict[str, object]:
        return {
            "area": self.area,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "breaking": self.breaking,
            "experimental": self.experimental,
        }


def change(area: str, kind: str, subject: str, detail: str, role: int = BOTH, experimental: bool = False) -> Change:
    """A change, classified: never breaking when it is ``experimental`` (see :mod:`.rules`)."""
    return Change(area, kind, subject, detail, not experimental and is_breaking(kind, role), experimental)


@dataclass(frozen=True)
class Report:
    old_version: str
    new_version: str
    changes: tuple[Change, ...]

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

    @property
    def compatible(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if not c.breaking and not c.experimental)

    @property
    def experimental(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.experimental)

    def summary_line(self) -> str:
        line = f"{len(self.breaking)} breaking, {len(self.compatible)} compatible"
        return line + (f", {len(self.experimental)} experimental" if self.experimental else "")

    def to_json(self) -> dict[str, object]:
        return {
            "old": self.old_version,
            "new": self.new_version,
            "breaking": len(self.breaking),
            "compatible": len(self.compatible),
            "experimental": len(self.experimental),
            "changes": [c.to_json() for c in self.changes],
        }

    def to_markdown(self) -> str:
        lines = [f"# Public API diff: codex {self.old_version} -> {self.new_version}", "", self.summary_line()]
        sections = (
            ("Breaking", "", self.breaking),
            ("Compatible", "", self.compatible),
            ("Experimental", EXPERIMENTAL_NOTE, self.experimental),
        )
        for title, note, changes in sections:
            if not changes:
                continue
            lines += ["", f"## {title} ({len(changes)})"] + (["", note] if note else [])
            for area in AREAS:
                in_area = [c for c in changes if c.area == area]
                if in_area:
                    lines += ["", f"### {area.capitalize()} ({len(in_area)})", ""]
                    lines += [f"- {c.kind}: `{c.subject}`: {c.detail}" for c in in_area]
        return "\n".join(lines) + "\n"
