"""Which way each definition travels: received from the server, sent to it, or both.

The ONE rule: a definition is *received* when it is reachable from what the
server writes (responses, notification params, server-request params) and
*sent* when it is reachable from what the client writes (request params,
answers to server requests). Reading is tolerant and writing strict, so
everything that decides between the two asks this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import ir


@dataclass(frozen=True)
class Directions:
    received: frozenset[str]
    sent: frozenset[str]

    def is_received(self, name: str) -> bool:
        return name in self.received


def received_roots(api: ir.Api) -> tuple[str, ...]:
    """What the server writes: responses, notification params, server-request params."""
    roots: list[str | None] = [m.response_model for m in api.methods]
    roots += [n.params_model for n in api.notifications]
    roots += [r.params_model for r in api.server_requests]
    return tuple(sorted({name for name in roots if name is not None}))


def sent_roots(api: ir.Api) -> tuple[str, ...]:
    """What the client writes: request params, answers to server requests."""
    roots: list[str | None] = [m.params_model for m in api.methods]
    roots += [r.response_model for r in api.server_requests]
    return tuple(sorted({name for name in roots if name is not None}))


def reachable(roots: Iterable[str], definitions: Mapping[str, ir.Definition]) -> frozenset[str]:
    """Every definition a root mentions, directly or through others (aliases and models alike)."""
    seen: set[str] = set()
    todo = [name for name in roots if name in definitions]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(ref for ref in ir.definition_references(definitions[name]) if ref in definitions)
    return frozenset(seen)


def directions(api: ir.Api) -> Directions:
    by_name = {d.name: d for d in api.definitions}
    return Directions(reachable(received_roots(api), by_name), reachable(sent_roots(api), by_name))
