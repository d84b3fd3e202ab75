"""How the models are split into lazily imported modules (generator.shards).

The split must keep every definition importable exactly once, never make two
modules import each other (a circular import fails at run time), keep the
runtime's entry points small, and not depend on input order.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from generator import ir, naming, shards
from generator.load import load_inputs
from generator.pipeline import build_api
from generator.views import build_order, entry_points
from tests.generator.support import REAL_SCHEMA_DIR


def model(name: str, *refs: str) -> ir.Model:
    fields = tuple(ir.Field(f"f{i}", f"f{i}", ir.Named(ref), True) for i, ref in enumerate(refs))
    return ir.Model(name, fields, None, f"#/definitions/{name}")


def alias(name: str, *members: str) -> ir.Alias:
    return ir.Alias(name, ir.UnionOf(tuple(ir.Named(m) for m in members)), None, f"#/definitions/{name}")


def enum(name: str) -> ir.Enum:
    return ir.Enum(name, (ir.EnumMember("a", "a"),), None, f"#/definitions/{name}")


def home_of(plan: tuple[shards.Shard, ...]) -> dict[str, str]:
    return {name: s.module for s in plan for name in s.names}


def assert_acyclic(plan: tuple[shards.Shard, ...]) -> None:
    graph = {s.module: {m for m, _ in s.imports} for s in plan}
    assert all(s.module not in graph[s.module] for s in plan), "a shard imports itself"
    cycles = [c for c in shards.components(graph) if len(c) > 1]
    assert not cycles, f"shard modules import each other: {cycles}"


def test_components_orders_dependencies_first_and_groups_cycles() -> None:
    graph = {"A": {"B"}, "B": {"C"}, "C": {"B", "D"}, "D": set(), "E": {"A"}}
    parts = shards.components(graph)
    assert parts == [("D",), ("B", "C"), ("A",), ("E",)]


def test_components_survives_a_chain_longer_than_the_recursion_limit() -> None:
    n = 5000
    graph = {f"N{i:05d}": {f"N{i + 1:05d}"} for i in range(n)} | {f"N{n:05d}": set()}
    parts = shards.components(graph)
    assert len(parts) == n + 1 and parts[0] == (f"N{n:05d}",) and parts[-1] == ("N00000",)


def test_mutual_recursion_shares_a_module_and_an_only_child_joins_its_parent() -> None:
    defs = [model("Tree", "Node"), model("Node", "Tree", "Leaf"), enum("Leaf"), model("Other", "Shared")]
    defs += [model("User", "Shared"), model("Shared")]
    plan = shards.plan(defs, entry_points=())
    home = home_of(plan)
    assert home["Tree"] == home["Node"] == home["Leaf"]  # cycle + only child
    assert home["Shared"] not in {home["Other"], home["User"]}  # two referrers: its own module
    assert_acyclic(plan)


def test_entry_points_keep_their_own_module() -> None:
    defs = [model("Envelope", "Params"), model("Params", "Detail"), model("Detail")]
    plan = shards.plan(defs, entry_points=[("Params",)])
    home = home_of(plan)
    assert home["Params"] != home["Envelope"]
    assert home["Detail"] == home["Params"]
    envelope = next(s for s in plan if s.module == home["Envelope"])
    assert envelope.imports == ((home["Params"], ("Params",)),)


def test_an_entry_set_shares_a_module() -> None:
    """A method's params and response are always used together: one import, not two."""
    defs = [model("Envelope", "StartParams"), model("StartParams"), model("StartResponse", "Thread"), model("Thread")]
    defs += [model("ReadResponse", "Thread")]
    plan = shards.plan(defs, entry_points=[("StartParams", "StartResponse"), ("ReadResponse",)])
    home = home_of(plan)
    assert home["StartParams"] == home["StartResponse"] == "start_params"
    assert home["Thread"] not in {home["StartResponse"], home["ReadResponse"]}
    assert_acyclic(plan)


def test_joining_an_entry_set_never_leaves_an_import_cycle() -> None:
    """Params -> Shared -> Response would be a cycle once Params and Response share a module."""
    defs = [model("Params", "Shared"), model("Shared", "Response"), model("Response"), model("Other", "Shared")]
    plan = shards.plan(defs, entry_points=[("Params", "Response")])
    home = home_of(plan)
    assert home["Params"] == home["Response"] == home["Shared"]
    assert_acyclic(plan)


def test_aliases_and_their_members() -> None:
    defs = [alias("Item", "A", "B"), model("A"), model("B", "Item"), model("Holder", "Item")]
    plan = shards.plan(defs, entry_points=())
    home = home_of(plan)
    assert home["A"] == home["B"] == home["Item"]
    assert_acyclic(plan)


def test_the_plan_does_not_depend_on_input_order() -> None:
    defs = [model(f"M{i}", *(f"M{j}" for j in range(i + 1, min(i + 4, 40)) if j % 3)) for i in range(40)]
    expected = shards.plan(defs, entry_points=[("M5", "M9"), ("M17",)])
    for seed in range(5):
        shuffled = list(defs)
        random.Random(seed).shuffle(shuffled)
        assert shards.plan(shuffled, entry_points=[("M17",), ("M9", "M5")]) == expected


def test_module_names_are_unique_identifiers() -> None:
    names = naming.module_names(["URLPath", "UrlPath", "Class", "ThreadItem", "X2"])
    assert names["ThreadItem"] == "thread_item"
    assert names["Class"] == "class_"
    assert {names["URLPath"], names["UrlPath"]} == {"url_path", "url_path_2"}
    assert all(n.isidentifier() for n in names.values())


def test_module_names_stay_short_enough_for_a_file_name() -> None:
    long = ["A" + "b" * 400, "A" + "b" * 400 + "C"]
    names = naming.module_names(long)
    assert len(set(names.values())) == 2
    assert all(len(n) <= 90 for n in names.values())


@pytest.fixture(scope="module")
def real_plan() -> tuple[tuple[shards.Shard, ...], ir.Api]:
    api = build_api(load_inputs(Path(REAL_SCHEMA_DIR)))
    return shards.plan(api.definitions, entry_points(api)), api


def test_real_protocol_every_definition_once_and_no_import_cycle(
    real_plan: tuple[tuple[shards.Shard, ...], ir.Api],
) -> None:
    plan, api = real_plan
    placed = [name for s in plan for name in s.names]
    assert sorted(placed) == sorted(d.name for d in api.definitions)
    assert len({s.module for s in plan}) == len(plan)
    assert_acyclic(plan)


def test_real_protocol_a_turn_loads_a_fraction_of_the_models(
    real_plan: tuple[tuple[shards.Shard, ...], ir.Api],
) -> None:
    """What `Thread.run` meets: thread/start, turn/start and the turn's events."""
    plan, api = real_plan
    by_module = {s.module: s for s in plan}
    home = home_of(plan)
    roots = ["ThreadStartResponse", "TurnStartParams", "TurnStartResponse", "ItemCompletedEvent", "TurnCompletedEvent"]
    loaded: set[str] = set()
    todo = [home[r] for r in roots]
    while todo:
        module = todo.pop()
        if module not in loaded:
            loaded.add(module)
            todo.extend(m for m, _ in by_module[module].imports)
    defs = sum(len(by_module[m].names) for m in loaded)
    assert defs < len(api.definitions) / 4, f"a turn would create {defs} of {len(api.definitions)} models"


def test_a_shard_builds_contained_models_first_also_through_aliases() -> None:
    """pydantic reuses a built model inside its containers: build order decides how much is generated twice."""
    members = [model("Outer", "Item"), alias("Item", "A", "B"), model("A", "Leaf"), model("B"), model("Leaf")]
    order = build_order(members)
    assert sorted(order) == ["A", "B", "Leaf", "Outer"]  # models only, each once
    assert order.index("Leaf") < order.index("A") < order.index("Outer")
    assert order.index("B") < order.index("Outer")
