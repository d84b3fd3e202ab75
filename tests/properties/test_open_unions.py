"""Every tagged union the server sends is open: an unknown tag reads as its fallback and dumps back unchanged.

The unions come from the generator's IR (``ir.Model.fallback_for``), so a
union added by a protocol bump is covered without editing this test. For
each, hypothesis draws a tag the union does not know and arbitrary JSON
members; the generated type must read the object as the fallback variant,
keep the tag, and give back exactly the object, through ``raw`` and through
pydantic's dump.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from codex_app_server.generated import v2_all
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from generator import ir, pipeline
from generator.load import load_inputs
from tests.generator.support import REAL_SCHEMA_DIR

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@cache
def open_unions() -> tuple[tuple[str, str, str, frozenset[str]], ...]:
    """(union, fallback class, tag wire name, known tags) of every open union of the pinned schema."""
    api = pipeline.build_api(load_inputs(REAL_SCHEMA_DIR))
    by_name = {d.name: d for d in api.definitions}
    out = []
    for d in api.definitions:
        if isinstance(d, ir.Model) and d.fallback_for:
            union = ir.strip_nullable(by_name[d.fallback_for].type)  # type: ignore[union-attr]
            assert isinstance(union, ir.UnionOf) and union.tag_wire_name is not None
            out.append((d.fallback_for, d.name, union.tag_wire_name, frozenset(union.tags)))
    return tuple(out)


def test_every_received_tagged_union_is_open() -> None:
    names = {u for u, *_ in open_unions()}
    # The ones issue 13 met in real traffic, and a union used both ways (read and sent).
    assert {"ThreadItem", "ThreadStatus", "UserInput", "CommandAction"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize("union", [u for u, *_ in open_unions()])
@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data())
def test_unknown_tag_reads_as_fallback_and_dumps_back(union: str, data: Any) -> None:
    _, fallback_name, wire, known = next(u for u in open_unions() if u[0] == union)
    tag = data.draw(st.text(min_size=1, max_size=12).filter(lambda t: t not in known), label="tag")
    members = data.draw(st.dictionaries(st.text(max_size=6).filter(lambda k: k != wire), JSON, max_size=4))
    sent = {wire: tag, **members}
    adapter: TypeAdapter[Any] = TypeAdapter(getattr(v2_all, union))
    value = adapter.validate_python(sent)
    assert type(value) is getattr(v2_all, fallback_name)
    assert isinstance(value, v2_all.UnknownVariant)
    assert value.raw == sent
    assert adapter.dump_python(value, mode="json", by_alias=True) == sent
    assert adapter.validate_json(adapter.dump_json(value, by_alias=True)).raw == sent
