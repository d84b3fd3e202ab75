"""Results and errors cross process boundaries intact (Ray, multiprocessing, concurrent.futures).

Every exception class the package exports pickles to an equal error (same
class, message and attributes), here and in a fresh interpreter that has
imported nothing yet (the models load on first use there too); so does a
:class:`RunResult` with real items, usage and turn.
"""

from __future__ import annotations

import base64
import os
import pickle
import subprocess
import sys
from typing import Any

import codex_app_server
import pytest
from codex_app_server import (
    AuthenticationError,
    BinaryNotFoundError,
    CodexError,
    CodexRuntimeError,
    CodexTimeoutError,
    CodexTypeError,
    CodexValueError,
    ExperimentalApiError,
    InternalRpcError,
    InvalidParamsError,
    InvalidRequestError,
    JsonRpcError,
    LoginError,
    LoginRequiredError,
    MethodNotFoundError,
    MissingExtraError,
    NoHandlerError,
    OutputSchemaError,
    ParamsValidationError,
    ParseError,
    ResponseValidationError,
    RetryLimitExceededError,
    RunResult,
    ServerBusyError,
    StructuredOutputError,
    TransportClosedError,
    TurnFailedError,
)
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ThreadTokenUsage,
    TokenUsageBreakdown,
    Turn,
    TurnError,
)

FAILED_TURN = Turn.model_validate({"id": "turn-1", "status": "failed", "items": []})
TURN_ERROR = TurnError.model_validate(
    {"message": "provider said no", "codexErrorInfo": {"responseTooManyFailedAttempts": {"httpStatusCode": 429}}}
)

# One instance of every exported exception class, its attributes set as the SDK sets them.
SAMPLES: dict[type[BaseException], BaseException] = {
    CodexError: CodexError("something went wrong"),
    LoginRequiredError: LoginRequiredError(),
    CodexTimeoutError: CodexTimeoutError("turn t of thread h: no event for 0.5 s"),
    CodexValueError: CodexValueError("AppServerConfig.cwd='/nope': no such directory"),
    CodexTypeError: CodexTypeError("unsupported input item int"),
    CodexRuntimeError: CodexRuntimeError("another turn consumer (run()/stream()) is active on this client"),
    TransportClosedError: TransportClosedError("codex app-server exited", returncode=-9, stderr_tail="a\nfatal: b"),
    AuthenticationError: AuthenticationError("ws://127.0.0.1:1", "capability-token", "invalid websocket bearer token"),
    MissingExtraError: MissingExtraError("Codex.connect", "remote", "websockets"),
    BinaryNotFoundError: BinaryNotFoundError(["CODEX_BIN: not set", "PATH: no codex"]),
    JsonRpcError: JsonRpcError(-32000, "odd", {"detail": [1, 2]}, "thread/start"),
    ParseError: ParseError(-32700, "parse error", None, "turn/start"),
    InvalidRequestError: InvalidRequestError(-32600, "Not initialized", None, "thread/start"),
    MethodNotFoundError: MethodNotFoundError(-32601, "unknown method", None, "thread/goal/set"),
    InvalidParamsError: InvalidParamsError(-32602, "bad params", {"field": "cwd"}, "thread/start"),
    InternalRpcError: InternalRpcError(-32603, "internal", None, "turn/start"),
    ServerBusyError: ServerBusyError(-32001, "Server overloaded; retry later.", None, "turn/start"),
    RetryLimitExceededError: RetryLimitExceededError(-32001, "retry limit exceeded", None, "turn/start"),
    ParamsValidationError: ParamsValidationError("thread/start", "cwd: not a string"),
    ExperimentalApiError: ExperimentalApiError("thread/start", ("dynamic_tools (dynamicTools)",)),
    ResponseValidationError: ResponseValidationError("model/list", {"bad": 1}, "missing data"),
    TurnFailedError: TurnFailedError(FAILED_TURN, TURN_ERROR),
    LoginError: LoginError("login-1", "denied", cancelled=True),
    NoHandlerError: NoHandlerError("no handler installed for item/tool/call"),
    OutputSchemaError: OutputSchemaError("output_type Loose: not strict", "/properties/counts"),
    StructuredOutputError: StructuredOutputError("the final answer does not validate as dict", "not json", dict),
}

RUN_RESULT = RunResult(
    final_response="Done.",
    items=[AgentMessageThreadItem.model_validate({"type": "agentMessage", "id": "m1", "text": "Done."})],
    usage=ThreadTokenUsage.model_validate(
        {
            "total": {
                "inputTokens": 20,
                "cachedInputTokens": 0,
                "outputTokens": 5,
                "reasoningOutputTokens": 0,
                "totalTokens": 25,
            },
            "last": {
                "inputTokens": 20,
                "cachedInputTokens": 0,
                "outputTokens": 5,
                "reasoningOutputTokens": 0,
                "totalTokens": 25,
            },
        }
    ),
    turn=Turn.model_validate({"id": "turn-2", "status": "completed", "items": []}),
    turn_usage=TokenUsageBreakdown.model_validate(
        {"inputTokens": 20, "cachedInputTokens": 0, "outputTokens": 5, "reasoningOutputTokens": 0, "totalTokens": 25}
    ),
)


def exported_exception_classes() -> set[type[BaseException]]:
    names = (getattr(codex_app_server, name) for name in codex_app_server.__all__)
    return {obj for obj in names if isinstance(obj, type) and issubclass(obj, BaseException)}


def state(error: BaseException) -> tuple[Any, ...]:
    """What must survive: the class, the message and every attribute."""
    return type(error), str(error), {key: value for key, value in vars(error).items() if not key.startswith("__")}


def test_every_exported_exception_class_has_a_sample() -> None:
    missing = sorted(cls.__name__ for cls in exported_exception_classes() - set(SAMPLES))
    assert not missing, f"add a sample of {missing} to SAMPLES in {__name__}"
    assert all(type(sample) is cls for cls, sample in SAMPLES.items())


@pytest.mark.parametrize("cls", sorted(SAMPLES, key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__)
def test_an_exception_pickles_to_an_equal_one(cls: type[BaseException]) -> None:
    original = SAMPLES[cls]
    for protocol in (pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        assert state(pickle.loads(pickle.dumps(original, protocol))) == state(original)


def test_run_result_pickles_to_an_equal_one() -> None:
    copy = pickle.loads(pickle.dumps(RUN_RESULT))
    assert copy == RUN_RESULT
    assert isinstance(copy.items[0], AgentMessageThreadItem) and copy.usage is not None
    assert copy.usage.total.total_tokens == 25


_UNPICKLE = """
import base64, pickle, sys
for line in sys.stdin:
    obj = pickle.loads(base64.b64decode(line))
    print(type(obj).__module__ + "." + type(obj).__qualname__, repr(str(obj)) if isinstance(obj, BaseException) else obj == obj)
"""


def test_a_fresh_interpreter_unpickles_every_sample() -> None:
    """The receiving process (a Ray worker) has imported nothing of the SDK: unpickling loads what it needs."""
    objects: list[object] = [*SAMPLES.values(), RUN_RESULT]
    lines = "".join(base64.b64encode(pickle.dumps(obj)).decode() + "\n" for obj in objects)
    done = subprocess.run(
        [sys.executable, "-c", _UNPICKLE], input=lines, capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    expected = [
        f"{type(obj).__module__}.{type(obj).__qualname__} "
        + (repr(str(obj)) if isinstance(obj, BaseException) else "True")
        for obj in objects
    ]
    assert done.stdout.splitlines() == expected
