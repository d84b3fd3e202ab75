"""Stage 4a': split the definitions into modules that are imported on first use.

Why: creating a pydantic class costs about 0.3 ms and the protocol has over
a thousand definitions, while a real turn touches about 150 of them. With
one module per group of definitions, ``import codex_app_server`` creates no
model at all and a turn creates only the classes it meets; ``v2_all`` stays
the one public home of every name and imports a group when a name of it is
first used (PEP 562).

Grouping, so that modules can import each other at the top:

1. definitions that refer to each other in a cycle share a module (strongly
   connected components; a circular import would fail);
2. the entry points the runtime looks up by name come in sets that are
   always used together (a method's params and response, an event and its
   params): each set shares a module;
3. a group referred to by exactly one other group joins it, since it is
   never needed without it, unless it holds an entry point: those stay
   apart so that using one does not load its neighbours;
4. should steps 2-3 have closed a cycle between modules, its modules merge.

The module graph is then acyclic, so shards import each other at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from . import ir, naming


@dataclass(frozen=True)
class Shard:
    """One generated module of definitions."""

    module: str
    names: tuple[str, ...]  # sorted
    imports: tuple[tuple[str, tuple[str, ...]], ...]  # (module, names) of other shards it uses, sorted


K = TypeVar("K", str, tuple[str, ...])


def components(graph: Mapping[K, Iterable[K]]) -> list[tuple[K, ...]]:
    """Strongly connected components, each sorted, dependencies before dependents.

    Tarjan's algorithm without recursion (a long reference chain must not hit
    Python's recursion limit); nodes and edges are visited in sorted order so
    the result never depends on dict or set order.
    """
    edges = {node: sorted(set(targets) & graph.keys()) for node, targets in graph.items()}
    index: dict[K, int] = {}
    low: dict[K, int] = {}
    stack: list[K] = []
    on_stack: set[K] = set()
    found: list[tuple[K, ...]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, next_edge = work.pop()
            if next_edge == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            while next_edge < len(targets) and targets[next_edge] in index:
                target = targets[next_edge]
                if target in on_stack:
                    low[node] = min(low[node], index[target])
                next_edge += 1
            if next_edge < len(targets):
                work.append((node, next_edge + 1))
                work.append((targets[next_edge], 0))
                continue
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                found.append(tuple(sorted(members)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def plan(definitions: Iterable[ir.Definition], entry_points: Iterable[Iterable[str]]) -> tuple[Shard, ...]:
    """The shards of a set of definitions, sorted by module name.

    ``entry_points``: sets of names the runtime looks up, each used together.
    """
    graph = {d.name: ir.definition_references(d) for d in definitions}
    parts = components(graph)
    part_of = {name: part for part in parts for name in part}
    referrers: dict[tuple[str, ...], set[tuple[str, ...]]] = {part: set() for part in parts}
    for name, targets in graph.items():
        for target in targets & graph.keys():
            if part_of[target] != part_of[name]:
                referrers[part_of[target]].add(part_of[name])
    joined_to: dict[tuple[str, ...], tuple[str, ...]] = {}

    def group_of(part: tuple[str, ...]) -> tuple[str, ...]:
        while part in joined_to:
            part = joined_to[part]
        return part

    def join(part: tuple[str, ...], into: tuple[str, ...]) -> None:
        part, into = group_of(part), group_of(into)
        if part != into:
            joined_to[part] = into

    entries: set[str] = set()
    for entry_set in entry_points:
        members = sorted({part_of[name] for name in entry_set if name in part_of})
        entries.update(name for name in entry_set if name in part_of)
        for member in members[1:]:
            join(member, members[0])
    # Dependents first, so a part's referrers already sit in their final group.
    for part in reversed(parts):
        if entries.intersection(part) or not referrers[part]:
            continue
        groups = {group_of(r) for r in referrers[part]}
        if len(groups) == 1:
            join(part, groups.pop())
    for cycle in components(_group_graph(parts, graph, part_of, group_of)):
        for group in cycle[1:]:
            join(group, cycle[0])
    return _shards(parts, graph, group_of)


def _group_graph(
    parts: list[tuple[str, ...]],
    graph: Mapping[str, frozenset[str]],
    part_of: Mapping[str, tuple[str, ...]],
    group_of: Callable[[tuple[str, ...]], tuple[str, ...]],
) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    edges: dict[tuple[str, ...], set[tuple[str, ...]]] = {group_of(p): set() for p in parts}
    for name, targets in graph.items():
        for target in targets & graph.keys():
            source, sink = group_of(part_of[name]), group_of(part_of[target])
            if source != sink:
                edges[source].add(sink)
    return edges


def _shards(
    parts: list[tuple[str, ...]],
    graph: Mapping[str, frozenset[str]],
    group_of: Callable[[tuple[str, ...]], tuple[str, ...]],
) -> tuple[Shard, ...]:
    members: dict[tuple[str, ...], list[str]] = {}
    for part in parts:
        members.setdefault(group_of(part), []).extend(part)
    # A module is named after the first name of its root part (the part the others joined).
    modules = naming.module_names(root[0] for root in members)
    home = {name: modules[root[0]] for root, names in members.items() for name in names}
    shards = []
    for root, names in members.items():
        module = modules[root[0]]
        used: dict[str, set[str]] = {}
        for name in names:
            for target in graph[name] & graph.keys():
                if home[target] != module:
                    used.setdefault(home[target], set()).add(target)
        imports = tuple((m, tuple(sorted(n))) for m, n in sorted(used.items()))
        shards.append(Shard(module, tuple(sorted(names)), imports))
    return tuple(sorted(shards, key=lambda s: s.module))
