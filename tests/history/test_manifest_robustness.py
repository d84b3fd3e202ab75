"""The manifest across protocol versions: conventions cover new methods, stale entries are errors.

Real schemas of three releases, and manifests edited the way a bump would
find them: a method the convention cannot resolve, an entry for a method or
param that no longer exists.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from generator.api_views import client_module
from generator.errors import GeneratorError
from generator.load import load_inputs
from generator.pipeline import build_api
from generator.render import render

from .support import PINNED, REPO_ROOT, api, run_generator, side

MANIFEST = REPO_ROOT / "schemas" / "methods.toml"


def manifest_at(tmp_path: Path, text: str) -> Path:
    """A manifest file (with the real manifest schema beside it) holding ``text``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "schemas" / "methods.schema.json", tmp_path / "methods.schema.json")
    path = tmp_path / "methods.toml"
    path.write_text(text, encoding="utf-8")
    return path


def build(version: str, manifest: Path) -> None:
    s = side(version)
    build_api(load_inputs(s.schema_dir, s.lock, manifest))


def without_line(text: str, needle: str) -> str:
    lines = [line for line in text.splitlines(keepends=True) if needle not in line]
    assert len(lines) == len(text.splitlines()) - 1, f"expected exactly one line with {needle!r}"
    return "".join(lines)


def test_new_method_without_manifest_entry_is_generated_by_convention() -> None:
    """thread/revert is new since 0.144.4 and the manifest never mentions it."""
    assert "thread/revert" not in MANIFEST.read_text(encoding="utf-8")
    assert "thread/revert" not in {m.rpc_method for m in api("0.144.4").methods}
    [method] = [m for m in api(PINNED).methods if m.rpc_method == "thread/revert"]
    assert (method.py_name, method.params_model, method.response_model) == (
        "thread_revert",
        "ThreadRevertParams",
        "ThreadRevertResponse",
    )
    client = render("client.py.jinja", m=client_module(api(PINNED)))
    assert re.search(r"def thread_revert\(\s*self,", client)
    assert "-> v2_all.ThreadRevertResponse:" in client


def test_method_without_resolvable_response_names_method_and_line_to_add(tmp_path: Path) -> None:
    """In 0.144.4 account/rateLimits/read takes no params, so XParams -> XResponse has nothing to go by."""
    text = without_line(side("0.144.4").manifest.read_text(), "account/rateLimits/read")
    with pytest.raises(GeneratorError) as caught:
        build("0.144.4", manifest_at(tmp_path, text))
    message = caught.value.render()
    assert "method 'account/rateLimits/read': cannot find its response type" in message
    assert '`"account/rateLimits/read" = "TheResponseType"` under [responses]' in message


def test_cli_reports_it_in_one_line_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    text = without_line(side("0.144.4").manifest.read_text(), "account/rateLimits/read")
    out = tmp_path / "out"
    proc = run_generator(
        "generate",
        "--schema-dir",
        side("0.144.4").schema_dir,
        "--manifest",
        manifest_at(tmp_path / "m", text),
        "--output-dir",
        out,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
    assert "account/rateLimits/read" in proc.stderr.splitlines()[0]
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_entry_for_a_method_the_schema_lacks_is_an_error(tmp_path: Path) -> None:
    """The pinned manifest names gatewayOAuth methods that 0.144.4 does not have."""
    with pytest.raises(GeneratorError) as caught:
        build("0.144.4", manifest_at(tmp_path, MANIFEST.read_text(encoding="utf-8")))
    error = caught.value
    assert error.location.endswith("#/responses/account~1gatewayOAuth~1cancel")
    assert "which the schema does not have" in error.message


def test_server_request_entry_for_a_missing_request_is_an_error(tmp_path: Path) -> None:
    text = MANIFEST.read_text(encoding="utf-8") + '\n[server_requests."item/gone/requestApproval"]\nhandler = "gone"\n'
    with pytest.raises(GeneratorError) as caught:
        build(PINNED, manifest_at(tmp_path, text))
    assert caught.value.location.endswith("#/server_requests/item~1gone~1requestApproval")


def test_wrapper_calling_a_removed_method_is_an_error(tmp_path: Path) -> None:
    """thread/rollback existed in 0.144.4 and was removed in 0.158.0."""
    entry = (
        '\n[[wrappers]]\nowner = "Thread"\nname = "rollback"\nmethod = "thread/rollback"\nbind = { threadId = "id" }\n'
    )
    manifest = manifest_at(tmp_path, side("0.144.4").manifest.read_text() + entry)
    build("0.144.4", manifest)  # fine where the method exists
    pinned_manifest = manifest_at(tmp_path / "pinned", MANIFEST.read_text(encoding="utf-8") + entry)
    with pytest.raises(GeneratorError) as caught:
        build(PINNED, pinned_manifest)
    assert "wrapper Thread.rollback calls 'thread/rollback', which the schema does not have" in caught.value.message
    assert caught.value.location.endswith("/method")


@pytest.mark.parametrize(
    "edit, where, param",
    [
        ('positional = ["name"]', "/positional/0", "name"),
        ('positional = ["threadId", "nope"]', "/positional/1", "nope"),
        ('params.nope = { default = false, type = "bool" }', "/params/nope", "nope"),
        ('exclude = { nope = "not offered" }', "/exclude/nope", "nope"),
    ],
)
def test_wrapper_naming_a_param_the_method_lacks_is_an_error(tmp_path: Path, edit: str, where: str, param: str) -> None:
    """Codex.thread_archive calls thread/archive, whose only param is threadId."""
    text = MANIFEST.read_text(encoding="utf-8")
    start = text.index('name = "thread_archive"')
    old = 'positional = ["threadId"]'
    position = text.index(old, start)
    edited = text[:position] + edit + text[position + len(old) :]
    with pytest.raises(GeneratorError) as caught:
        build(PINNED, manifest_at(tmp_path, edited))
    assert f"Codex.thread_archive: 'thread/archive' has no param {param!r}" in caught.value.message
    assert re.search(r"#/wrappers/\d+" + re.escape(where) + "$", caught.value.location)


def test_a_default_answer_the_schema_no_longer_accepts_is_a_clear_error(tmp_path: Path) -> None:
    # 0.163.0 turned ReviewDecision's plain "denied" into an object: a default
    # written for older releases would make every unhandled request fail.
    text = MANIFEST.read_text(encoding="utf-8")
    stale = re.sub(
        r"(\[server_requests\.execCommandApproval\]\ndefault = )\{[^\n]*\}", r'\1{ decision = "denied" }', text
    )
    assert stale != text
    with pytest.raises(GeneratorError) as info:
        build(PINNED, manifest_at(tmp_path, stale))
    message = info.value.render()
    assert "/server_requests/execCommandApproval/default" in message
    assert "not a valid ExecCommandApprovalResponse" in message


def test_every_default_answer_validates_with_the_generated_response_model() -> None:
    from codex_app_server._wire import validate
    from codex_app_server.generated.server_requests import SERVER_REQUESTS, ServerRequestHandler

    handler = ServerRequestHandler()
    answered = 0
    for method, spec in SERVER_REQUESTS.items():
        fn = getattr(handler, spec.handler)
        try:
            result = fn(None)
        except Exception as exc:  # requests without a safe default say so
            assert type(exc).__name__ == "NoHandlerError", (method, exc)
            continue
        validate(spec.response, result.model_dump(mode="json", by_alias=True, exclude_unset=True))
        answered += 1
    assert answered >= 6


def test_an_input_variant_the_schema_lacks_is_an_error_naming_the_entry(tmp_path: Path) -> None:
    text = MANIFEST.read_text(encoding="utf-8").replace('"mention"]', '"mention", "hologram"]')
    with pytest.raises(GeneratorError) as caught:
        build(PINNED, manifest_at(tmp_path, text))
    assert "UserInput has no variant 'hologram'" in caught.value.message
    assert caught.value.location.endswith("#/inputs/variants/5")


def test_input_classes_take_the_required_fields_and_the_first_alternative() -> None:
    inputs = api(PINNED).inputs
    assert inputs is not None
    fields = {c.name: [p.py_name for p in c.fields] for c in inputs.classes}
    assert fields == {
        "TextInput": ["text"],
        "ImageInput": ["url"],  # url OR fileId: the first
        "LocalImageInput": ["path"],
        "SkillInput": ["name", "path"],
        "MentionInput": ["name", "path"],
    }
    assert {"AudioUserInput", "TextUserInput"} <= set(inputs.models)  # every variant is accepted as a model
