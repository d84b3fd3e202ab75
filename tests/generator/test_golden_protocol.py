"""Golden tests of the protocol modules: client.py, api.py, server_requests.py and inputs.py.

One small schema (``cases_protocol.json``: a few client methods, among them
union params and an acronym, wrappers of each kind, server requests with
and without a default, two input variants) and the exact modules it
generates (``golden/protocol/*.txt``). Snapshots are rewritten only on
request: ``UPDATE_GOLDEN=1 pytest tests/generator/test_golden_protocol.py``.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from generator.load import load_inputs
from generator.pipeline import GENERATED_PACKAGE, generate
from tests.generator import conftest
from tests.generator.support import write_schema_dir

HERE = Path(__file__).resolve().parent
CASE = HERE / "cases_protocol.json"
GOLDEN = HERE / "golden" / "protocol"
MODULES = ("client.py", "api.py", "server_requests.py", "inputs.py")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    case = json.loads(CASE.read_text(encoding="utf-8"))
    schema_dir = write_schema_dir(tmp_path_factory.mktemp("protocol"), case["definitions"], manifest=case["manifest"])
    return dict(generate(load_inputs(schema_dir)).files)


@pytest.mark.parametrize("module", MODULES)
def test_protocol_module_golden(module: str, files: dict[str, str], request: pytest.FixtureRequest) -> None:
    actual = files[f"{GENERATED_PACKAGE}/{module}"]
    golden = GOLDEN / f"{module}.txt"
    if conftest.update_golden(request.config):
        golden.write_text(actual, encoding="utf-8")
    assert golden.is_file(), f"no snapshot {golden.name}: run with UPDATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "golden", "actual"))
        pytest.fail(f"{module} differs from its snapshot:\n{diff[:4000]}")


def test_the_case_covers_what_the_snapshots_are_for(files: dict[str, str]) -> None:
    client = files[f"{GENERATED_PACKAGE}/client.py"]
    api = files[f"{GENERATED_PACKAGE}/api.py"]
    requests = files[f"{GENERATED_PACKAGE}/server_requests.py"]
    assert "def account_gateway_oauth_read(" in client  # an acronym stays one word
    assert "def account_login(self, params: v2_all.LoginParams)" in client  # union params are passed whole
    code = "".join(api.split())  # whitespace aside: each turn body is one call of the base helper
    assert "returnself._turn(TurnHandle[ParsedT],lambda:self._client.turn_start(" in code
    assert "returnawaitself._run(AsyncTurnHandle[ParsedT],lambda:self._client.turn_start(" in code
    assert 'model_validate({"decision": "decline"})' in requests and "NoHandlerError(" in requests
    # a pager follows the client's iterator; logins send one params variant and hand back a handle
    assert "def threads(self, *, limit: v2_all.UInt32 | None = None) -> AsyncIterator[v2_all.Thread]:" in api
    assert "returnself._client.iter_thread_list(limit=given(limit))" in code
    assert '{"type":"apiKey","api_key":api_key}' in code and "LoginHandle[v2_all.ChatgptLoginResponse]" in api
    assert "lambdaresponse:response.login_id" in code and "lambdaresponse:None" in code  # only ChatGPT has an id
    assert "api_key: The API key." in api and "limit: Sent as ``limit``." in api  # manifest text, then the fallback
