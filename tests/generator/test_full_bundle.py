"""The committed SDK against the real 0.163.0 bundle and traffic recorded from the real binary.

* every definition of the v2 bundle (664 at 0.163.0) and the root-bundle
  additions exists in ``v2_all`` as a model, enum or alias under its name;
* every exported model and alias builds (``defer_build`` hides broken
  forward references until first use, so each one is forced here), and no
  generated file calls anything that could run schema text;
* every recorded notification validates into its typed event, every
  recorded response into its method's response model (and its params into
  the params model), the approval request into its params model, and each
  dumps back to the JSON the server sent (extra fields included).
"""

from __future__ import annotations

import enum
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server.generated import client, notifications, server_requests, v2_all
from pydantic import BaseModel, TypeAdapter, ValidationError

from generator import ir
from generator.load import V2_BUNDLE, load_inputs
from generator.normalize import build_definitions
from generator.params import ParamDocs
from generator.pipeline import build_api
from generator.protocol import param_names
from tests.generator.roundtrip_check import check_no_dangerous_calls
from tests.generator.support import GENERATED, REAL_EXPERIMENTAL_DIR, REAL_SCHEMA_DIR, REPO_ROOT

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "real_samples"
TURN_FILES = ("simple_turn.jsonl", "approval_turn.jsonl", "failed_turn.jsonl")
SEED_NAMES = (
    "ThreadItem",
    "ThreadTokenUsage",
    "Turn",
    "TurnStatus",
    "AskForApproval",
    "ThreadReadResponse",
    "TurnStartParams",
    "InitializeResponse",
    "ThreadListResponse",
    "ThreadArchiveResponse",
    "ModelListResponse",
    "ThreadSetNameResponse",
    "ThreadCompactStartResponse",
    "TurnSteerResponse",
    "TurnInterruptResponse",
)


@pytest.fixture(scope="module")
def api() -> ir.Api:
    return build_api(load_inputs(REAL_SCHEMA_DIR))


@pytest.fixture(scope="module")
def def_class() -> dict[str, str]:
    inputs = load_inputs(REAL_SCHEMA_DIR)
    return build_definitions(inputs.bundle, inputs.manifest.names)[1]


def v2_definition_names(schema_dir: Path = REAL_EXPERIMENTAL_DIR) -> list[str]:
    """The v2 definitions of a dump (default: the experimental one, which the SDK is generated from)."""
    doc = json.loads((schema_dir / V2_BUNDLE).read_text(encoding="utf-8"))
    return sorted(doc["definitions"])


def read_jsonl(name: str) -> Iterator[dict[str, Any]]:
    with (SAMPLES / name).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def dump(adapter: TypeAdapter[Any], value: object) -> object:
    return adapter.dump_python(value, mode="json", by_alias=True, exclude_unset=True)


def test_every_v2_definition_is_generated_under_its_name(def_class: dict[str, str]) -> None:
    names = v2_definition_names()
    if load_inputs(REAL_SCHEMA_DIR).bundle.codex_version == "0.163.0":
        assert len(names) == 810 and len(v2_definition_names(REAL_SCHEMA_DIR)) == 664
    assert set(v2_definition_names(REAL_SCHEMA_DIR)) <= set(names)  # the experimental dump is a superset
    missing = [n for n in names if not hasattr(v2_all, def_class[n])]
    assert missing == []
    # Names that are already Python class names are kept verbatim.
    renamed = {n: def_class[n] for n in names if n != def_class[n]}
    assert renamed == {}, "definitions renamed by the naming module"
    exported = set(v2_all.__all__)
    assert {def_class[n] for n in names} <= exported


def test_root_bundle_additions_and_seed_names_exist(def_class: dict[str, str]) -> None:
    v2 = set(v2_definition_names())
    root_only = sorted(set(def_class) - v2)
    assert {"InitializeResponse", "ServerRequest", "CommandExecutionRequestApprovalParams"} <= set(root_only)
    for name in root_only:
        assert hasattr(v2_all, def_class[name]), name
    for name in SEED_NAMES:
        assert hasattr(v2_all, name), name


def test_committed_output_makes_no_call_that_could_run_schema_text() -> None:
    files = sorted((REPO_ROOT / "output" / GENERATED).rglob("*.py"))
    assert len(files) >= 100
    for path in files:
        check_no_dangerous_calls(path)


def test_every_export_builds() -> None:
    """Each model, enum and alias yields a working validator (no dangling forward reference)."""
    for name in v2_all.__all__:
        obj = getattr(v2_all, name)
        if isinstance(obj, type) and issubclass(obj, enum.Enum):
            continue
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            obj.model_rebuild(force=True)
        TypeAdapter(obj)


@pytest.mark.parametrize("sample", TURN_FILES)
def test_recorded_notifications_validate_into_typed_events(sample: str) -> None:
    seen = 0
    for message in read_jsonl(sample):
        if "id" in message or "method" not in message:
            continue
        event_cls = notifications.NOTIFICATION_EVENTS[message["method"]]
        event = event_cls.model_validate(message)
        params_cls = notifications.NOTIFICATION_PARAMS[message["method"]]
        if params_cls is not None:
            assert isinstance(event.params, params_cls), message["method"]  # type: ignore[attr-defined]
        adapter: TypeAdapter[Any] = TypeAdapter(event_cls)
        assert dump(adapter, event) == message
        seen += 1
    assert seen >= 10


def test_recorded_responses_validate_into_their_methods_models(api: ir.Api) -> None:
    methods = {m.rpc_method: m for m in api.methods}
    assert set(client.METHODS) == set(methods)
    checked = []
    for record in read_jsonl("responses.jsonl"):
        method = methods[record["method"]]
        assert client.METHODS[method.rpc_method] == method.py_name
        response: TypeAdapter[Any] = TypeAdapter(getattr(v2_all, method.response_model))
        assert dump(response, response.validate_python(record["result"])) == record["result"], record["method"]
        if method.params_model is not None:
            params: TypeAdapter[Any] = TypeAdapter(getattr(v2_all, method.params_model))
            assert dump(params, params.validate_python(record["params"])) == record["params"], record["method"]
        checked.append(method.rpc_method)
    assert {"initialize", "thread/start", "turn/start", "thread/read", "thread/list", "model/list"} <= set(checked)


def test_recorded_approval_request_validates(api: ir.Api) -> None:
    requests = [m for m in read_jsonl("approval_turn.jsonl") if "id" in m and "method" in m]
    assert [r["method"] for r in requests] == ["item/commandExecution/requestApproval"]
    spec = server_requests.SERVER_REQUESTS["item/commandExecution/requestApproval"]
    ir_request = {r.rpc_method: r for r in api.server_requests}["item/commandExecution/requestApproval"]
    assert spec.params is getattr(v2_all, str(ir_request.params_model))
    adapter: TypeAdapter[Any] = TypeAdapter(spec.params)
    params = adapter.validate_python(requests[0]["params"])
    # The real server sends availableDecisions, which only the experimental schema has: a typed field.
    assert params.available_decisions and not params.model_extra
    model = api.definition(spec.params.__name__)
    assert isinstance(model, ir.Model)
    assert "available_decisions" in {f.py_name for f in model.fields if f.experimental}
    assert dump(adapter, params) == requests[0]["params"]
    answer: TypeAdapter[Any] = TypeAdapter(spec.response)
    assert dump(answer, answer.validate_python({"decision": "accept"})) == {"decision": "accept"}


def test_an_image_input_needs_a_url_or_a_file_id() -> None:
    """The schema's "url OR fileId" is checked before anything is sent, with the names in the message."""
    assert v2_all.ImageUserInput(type="image", url="https://example.invalid/a.png").url
    assert v2_all.ImageUserInput.model_validate({"type": "image", "fileId": "file-1"}).file_id == "file-1"
    with pytest.raises(ValidationError, match="ImageUserInput needs one of: url or file_id"):
        v2_all.ImageUserInput(type="image")
    with pytest.raises(ValidationError, match="needs one of"):
        v2_all.ImageUserInput.model_validate({"type": "image", "url": None})


def test_every_param_doc_of_the_manifest_is_used(api: ir.Api) -> None:
    """A [param_docs] key naming no param is ignored when generating (a release may lack it): catch typos here."""
    inputs = load_inputs(REAL_SCHEMA_DIR)
    defs = {d.name: d for d in api.definitions}
    assert ParamDocs(inputs.manifest.param_docs).unused(param_names(api.methods, defs)) == []


def test_every_wrapper_parameter_is_documented_by_the_schema_or_the_manifest(api: ir.Api) -> None:
    """Each keyword of Codex / Thread / TurnHandle carries its own text, never the generic fallback.

    When a bump adds a keyword the schema does not describe, this names it:
    add a line under [param_docs] in schemas/methods.toml.
    """
    undocumented = [
        f"{w.owner}.{w.py_name}: {p.wire_name}"
        for w in api.wrappers
        for p in (*w.positional, *w.keywords)
        if not (p.description or w.override(p.field_name).get("doc"))
    ]
    assert undocumented == [], "add these under [param_docs] in schemas/methods.toml"
    from codex_app_server.generated import api as wrappers

    for w in api.wrappers:
        for owner in (w.owner, "Async" + w.owner):
            doc = inspect.getdoc(getattr(getattr(wrappers, owner), w.py_name)) or ""
            args = doc.split("Args:\n", 1)[-1].splitlines()
            documented = {line.split(":", 1)[0].strip() for line in args if line.startswith("    ")}
            assert documented >= {p.py_name for p in (*w.positional, *w.keywords)}, f"{owner}.{w.py_name}"


def test_param_docs_name_a_param_of_every_method_or_of_one() -> None:
    docs = ParamDocs({"cwd": "a", "thread/start.model": "b", "thread/start.nope": "c", "nope": "d"})
    known = {("thread/start", "cwd"), ("thread/start", "model"), ("turn/start", "cwd")}
    assert docs.unused(known) == ["nope", "thread/start.nope"]
    assert docs.text("turn/start", "cwd", None) == "a" and docs.text("thread/start", "model", None) == "b"
    assert docs.text("thread/start", "model", "from the schema") == "from the schema"  # the schema wins


def _descriptions(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        text = node.get("description")
        if isinstance(text, str) and text.strip():
            yield text
        for value in node.values():
            yield from _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value)


def test_every_schema_description_is_a_docstring_of_the_generated_code() -> None:
    """Models, fields, enums, aliases and methods carry their schema text (attribute docstrings: free at run time)."""
    bundle = json.loads((REAL_EXPERIMENTAL_DIR / V2_BUNDLE).read_text(encoding="utf-8"))
    package = REPO_ROOT / "output" / GENERATED
    code = "\n".join(path.read_text(encoding="utf-8") for path in sorted(package.rglob("*.py")))
    flat = " ".join(code.replace('\\"', '"').replace("\\\\", "\\").split())
    texts = list(_descriptions(bundle["definitions"]))
    missing = [text for text in texts if " ".join(text.strip().splitlines()[0].split()) not in flat]
    assert len(texts) > 600 and missing == []
