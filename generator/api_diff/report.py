"""The API diff's report: one Change per difference, in sections; Markdown and JSON."""

from __future__ import annotations

from dataclasses import dataclass

from .rules import BOTH, is_breaking

# Report sections, in order.
AREAS = ("client methods", "wrappers", "notifications", "server requests", "definitions")


@dataclass(frozen=True)
class Change:
    area: str  # one of AREAS
    kind: str  # a key of RULES
    subject: str  # dotted Python name: ``ThreadStartParams.model``, ``AppServerClient.thread_read``
    detail: str
    breaking: bool

    def to_json(self) -> dict[str, object]:
        return {
            "area": self.area,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "breaking": self.breaking,
        }


def change(area: str, kind: str, subject: str, detail: str, role: int = BOTH) -> Change:
    return Change(area, kind, subject, detail, is_breaking(kind, role))


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
        return tuple(c for c in self.changes if not c.breaking)

    def summary_line(self) -> str:
        return f"{len(self.breaking)} breaking, {len(self.compatible)} compatible"

    def to_json(self) -> dict[str, object]:
        return {
            "old": self.old_version,
            "new": self.new_version,
            "breaking": len(self.breaking),
            "compatible": len(self.compatible),
            "changes": [c.to_json() for c in self.changes],
        }

    def to_markdown(self) -> str:
        lines = [f"# Public API diff: codex {self.old_version} -> {self.new_version}", "", self.summary_line()]
        for title, changes in (("Breaking", self.breaking), ("Compatible", self.compatible)):
            if not changes:
                continue
            lines += ["", f"## {title} ({len(changes)})"]
            for area in AREAS:
                in_area = [c for c in changes if c.area == area]
                if in_area:
                    lines += ["", f"### {area.capitalize()} ({len(in_area)})", ""]
                    lines += [f"- {c.kind}: `{c.subject}`: {c.detail}" for c in in_area]
        return "\n".join(lines) + "\n"
