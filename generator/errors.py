"""The generator's single error type (input problems and failed bump steps alike).

Every problem in the input (schema bundle, lock file, manifest) is reported as
one line ``FILE#/json/pointer: what is wrong`` plus an optional hint, so a
user can jump straight to the offending node.
"""

from __future__ import annotations

from dataclasses import dataclass


def escape_pointer_token(token: str) -> str:
    """Escape one reference token per RFC 6901."""
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, *tokens: str | int) -> str:
    """Append reference tokens to a JSON pointer."""
    return pointer + "".join("/" + escape_pointer_token(str(t)) for t in tokens)


@dataclass(frozen=True)
class Location:
    """Where an input problem is: a file and a JSON pointer inside it."""

    file: str
    pointer: str = ""

    def child(self, *tokens: str | int) -> Location:
        return Location(self.file, join_pointer(self.pointer, *tokens))

    def __str__(self) -> str:
        return f"{self.file}#{self.pointer}"


class GeneratorError(Exception):
    """A problem the generator cannot go on with, reported as one message (plus a hint), no traceback.

    With a location it is a problem of the input (schema bundle, lock file,
    manifest), rendered on one line. Without one it is a step of ``bump`` or
    ``dump-schema`` that failed (an install, a command); its message may
    quote the tail of that command's output, several lines.
    """

    def __init__(self, location: Location | str | None, message: str, hint: str | None = None):
        self.location = None if location is None else str(location)
        self.message = message
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        if self.location is None:
            text = self.message
        else:
            text = f"{_one_line(self.location)}: {_one_line(self.message)}"
        if self.hint:
            text += f"\n  hint: {_one_line(self.hint)}"
        return text


def _one_line(text: str) -> str:
    """Escape newlines and other unprintable characters, which schema names can hold.

    The report stays one line (plus the hint) whatever the input contains.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
