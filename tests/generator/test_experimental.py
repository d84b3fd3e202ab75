"""The experimental surface of the pinned release: read from both dumps, marked in the IR, docs and fence tables."""

from __future__ import annotations

import inspect

import pytest
from codex_app_server import AppServerClient, AsyncAppServerClient, ServerRequestHandler
from codex_app_server.generated import experimental as tables

from generator import experimental, ir
from generator.load import load_inputs
from generator.pipeline import build_api
from tests.generator.support import REAL_SCHEMA_DIR


@pytest.fixture(scope="module")
def api() -> ir.Api:
    return build_api(load_inputs(REAL_SCHEMA_DIR))


def test_the_pinned_release_has_172_methods_of_which_67_are_experimental(api: ir.Api) -> None:
    if api.schema_version != "0.163.0":
        pytest.skip("counts of codex 0.163.0")
    assert len(api.methods) == 172 and sum(m.experimental for m in api.methods) == 67
    assert len(api.server_requests) == 11
    assert [r.rpc_method for r in api.server_requests if r.experimental] == ["currentTime/read"]
    assert not any(n.experimental for n in api.notifications)


def test_what_the_stable_dump_has_is_not_experimental(api: ir.Api) -> None:
    stable = load_inputs(REAL_SCHEMA_DIR).bundle.stable
    assert stable is not None
    stable_methods = experimental.envelope_methods(stable, "ClientRequest")
    assert {m.rpc_method for m in api.methods if not m.experimental} == stable_methods
    start = api.definition("ThreadStartParams")
    assert isinstance(start, ir.Model)
    marked = {f.wire_name for f in start.fields if f.experimental}
    assert "dynamicTools" in marked and "model" not in marked and len(marked) == 12
    assert api.definition("ThreadSearchParams").experimental and not api.definition("Thread").experimental


def test_every_client_method_is_generated_sync_and_async(api: ir.Api) -> None:
    for m in api.methods:
        for cls in (AppServerClient, AsyncAppServerClient):
            method = getattr(cls, m.py_name)
            assert inspect.iscoroutinefunction(method) is (cls is AsyncAppServerClient)
            doc = inspect.getdoc(method) or ""
            assert (experimental.NOTE.replace("``", "") in doc.replace("``", "")) is m.experimental, m.rpc_method
    assert "experimental" in (inspect.getdoc(ServerRequestHandler.current_time_read) or "").lower()


def test_the_fence_tables_are_those_of_the_ir(api: ir.Api) -> None:
    assert tables.EXPERIMENTAL_METHODS == {m.rpc_method for m in api.methods if m.experimental}
    view = experimental.fence_tables(api, "")
    assert {model: dict(fields) for model, fields in view.fields} == tables.EXPERIMENTAL_FIELDS
    assert frozenset(view.models) == tables.EXPERIMENTAL_MODELS
    assert dict(view.params) == tables.EXPERIMENTAL_PARAMS


def test_the_raw_params_table_has_every_stable_method_whose_params_have_experimental_fields(api: ir.Api) -> None:
    """``client.request()`` fences a raw params key by this table: a method left out would slip through."""
    defs = {d.name: d for d in api.definitions}

    def has_experimental_fields(name: str | None) -> bool:
        definition = defs.get(name or "")
        return isinstance(definition, ir.Model) and any(f.experimental for f in definition.fields)

    expected = {
        m.rpc_method: m.params_model
        for m in api.methods
        if not m.experimental and has_experimental_fields(m.params_model)
    }
    assert expected and tables.EXPERIMENTAL_PARAMS == expected
