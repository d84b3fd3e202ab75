"""The error hierarchy (_errors): JSON-RPC error answers become the right subclass, retryable ones are told apart."""

from __future__ import annotations

import pickle

import pytest
from codex_app_server._errors import (
    BinaryNotFoundError,
    InternalRpcError,
    InvalidParamsError,
    InvalidRequestError,
    JsonRpcError,
    MethodNotFoundError,
    ParamsValidationError,
    ParseError,
    ResponseValidationError,
    RetryLimitExceededError,
    ServerBusyError,
    TransportClosedError,
    TurnFailedError,
    error_cause,
    error_from_response,
    is_retryable_error,
)
from codex_app_server.generated import v2_all

from .support import BUSY

# --------------------------------------------------------------------------
# _errors


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (-32700, ParseError),
        (-32600, InvalidRequestError),
        (-32601, MethodNotFoundError),
        (-32602, InvalidParamsError),
        (-32603, InternalRpcError),
        (-32001, ServerBusyError),
        (-32000, JsonRpcError),
        (42, JsonRpcError),
    ],
)
def test_error_subclass_by_code(code: int, cls: type[JsonRpcError]) -> None:
    err = error_from_response("thread/start", {"code": code, "message": "m", "data": {"x": 1}})
    assert type(err) is cls
    assert (err.code, err.message, err.data, err.method) == (code, "m", {"x": 1}, "thread/start")
    assert "thread/start" in str(err) and str(code) in str(err)


def test_plain_overload_error_without_data_is_server_busy() -> None:
    err = error_from_response("turn/start", dict(BUSY))
    assert type(err) is ServerBusyError and err.data is None
    assert err.message == "Server overloaded; retry later."
    assert is_retryable_error(err)


@pytest.mark.parametrize(
    "data",
    [
        {"codexErrorInfo": "serverOverloaded"},
        {"codex_error_info": "server_overloaded"},
        {"codexErrorInfo": {"serverOverloaded": {}}},
        "serverOverloaded",
    ],
)
def test_overload_in_data_means_server_busy_whatever_the_code(data: object) -> None:
    err = error_from_response("m", {"code": -32603, "message": "boom", "data": data})
    assert isinstance(err, ServerBusyError) and err.code == -32603
    assert is_retryable_error(err)


def test_retry_limit_and_malformed_errors() -> None:
    err = error_from_response("m", {"code": -32001, "message": "retry limit reached; too many failed attempts"})
    assert type(err) is RetryLimitExceededError and isinstance(err, ServerBusyError)
    assert type(error_from_response("m", "not an object")) is InternalRpcError
    assert type(error_from_response("m", {"message": "no code"})) is InternalRpcError
    assert type(error_from_response("m", {"code": True, "message": "bool code"})) is InternalRpcError


def test_is_retryable_error() -> None:
    assert not is_retryable_error(InvalidParamsError(-32602, "bad"))
    assert is_retryable_error(JsonRpcError(-32000, "The server is OVERLOADED"))
    assert not is_retryable_error(ValueError("overloaded"))
    assert not is_retryable_error(TransportClosedError("gone"))


def test_error_messages_and_pickling() -> None:
    closed = TransportClosedError("codex app-server exited", returncode=-9, stderr_tail="line1\nfatal: oops")
    assert "fatal: oops" in str(closed) and "-9" in str(closed) and closed.returncode == -9
    long_tail = TransportClosedError("gone", stderr_tail="\n".join(f"l{i}" for i in range(100)))
    assert "l99" in str(long_tail) and "l79" not in str(long_tail) and "80 earlier lines" in str(long_tail)
    assert long_tail.stderr_tail.startswith("l0\n")
    for original in (closed, BinaryNotFoundError(["a: no", "b: no"]), TurnFailedError({"id": "t"}, {"message": "x"})):
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is type(original) and str(copy) == str(original)
    assert pickle.loads(pickle.dumps(closed)).stderr_tail == closed.stderr_tail
    err = error_from_response("thread/start", dict(BUSY))
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is ServerBusyError and again.method == "thread/start" and str(again) == str(err)
    validation = ResponseValidationError("model/list", {"bad": 1}, "missing data")
    assert "model/list" in str(validation) and validation.raw == {"bad": 1}
    params_error = ParamsValidationError("thread/start", "cwd: not a string")
    assert isinstance(params_error, ValueError) and "thread/start" in str(params_error)
    failed = TurnFailedError({"id": "t"}, {"message": "provider said no"})
    assert "provider said no" in str(failed) and failed.turn == {"id": "t"}


@pytest.mark.parametrize(
    ("info", "cause"),
    [
        ("internalServerError", ("internalServerError", None)),
        ({"responseTooManyFailedAttempts": {"httpStatusCode": 429}}, ("responseTooManyFailedAttempts", 429)),
        ({"httpConnectionFailed": {"httpStatusCode": 502}}, ("httpConnectionFailed", 502)),
        ({"responseStreamDisconnected": {}}, ("responseStreamDisconnected", None)),
        ({"activeTurnNotSteerable": {"turnKind": "review"}}, ("activeTurnNotSteerable", None)),
        ({"aVariantOfANewerServer": {"httpStatusCode": 503}}, ("aVariantOfANewerServer", 503)),
        ({"aVariantOfANewerServer": {"httpStatusCode": "soon"}}, ("aVariantOfANewerServer", None)),
        (None, (None, None)),
    ],
)
def test_the_cause_of_a_turn_error_is_read_through_the_generated_model(
    info: object, cause: tuple[str | None, int | None]
) -> None:
    """What TurnFailedError names: the codex error info and the provider's HTTP status, from the model or raw JSON."""
    wire = {"message": "failed", "codexErrorInfo": info}
    model = v2_all.TurnError.model_validate(wire)
    assert error_cause(model) == cause
    assert error_cause(wire) == cause
    failed = TurnFailedError({"id": "t"}, model)
    assert (failed.codex_error_info, failed.http_status) == cause
    if cause[0] is not None:
        assert f"turn t failed ({cause[0]}" in str(failed)


def test_a_turn_error_built_by_hand_needs_no_message_and_a_malformed_info_is_no_cause() -> None:
    assert error_cause({"codexErrorInfo": "internalServerError"}) == ("internalServerError", None)
    assert error_cause({"codexErrorInfo": 42}) == (None, None)
    assert error_cause(None) == (None, None)


@pytest.mark.parametrize(
    "data",
    [
        {"codexErrorInfo": "internalServerError"},
        {"codexErrorInfo": {"responseTooManyFailedAttempts": {"httpStatusCode": 429}}},
        {"codexErrorInfo": 42},
        {"other": "serverOverloaded"},
        ["serverOverloaded"],
    ],
)
def test_data_that_does_not_name_an_overload_keeps_the_code_s_class(data: object) -> None:
    err = error_from_response("m", {"code": -32603, "message": "boom", "data": data})
    assert type(err) is InternalRpcError and not is_retryable_error(err)


def test_method_not_found_claims_a_version_mismatch_only_when_the_versions_differ() -> None:
    from codex_app_server._errors import METHOD_NOT_FOUND, JsonRpcError
    from codex_app_server._requester import method_not_found
    from codex_app_server._server_version import SCHEMA_VERSION

    answer = JsonRpcError(METHOD_NOT_FOUND, "list_turns is not supported yet", None, "thread/read")
    same = method_not_found(answer, "thread/read", SCHEMA_VERSION)
    assert "does not have" not in str(same) and "use codex" not in str(same)
    assert "list_turns is not supported yet" in str(same)
    older = method_not_found(answer, "thread/read", "0.133.0")
    assert f"server codex 0.133.0, SDK generated from codex {SCHEMA_VERSION}" in str(older)
    unknown = JsonRpcError(-32600, "unknown variant `thread/new`, expected one of ...", None, "thread/new")
    assert "the server does not have thread/new" in str(method_not_found(unknown, "thread/new", SCHEMA_VERSION))


def test_every_error_explanation_names_a_method_of_the_pinned_schema() -> None:
    # Named by constant so that older releases still type-check; a method the pinned schema
    # renames or drops must fail here instead of the explanation silently never matching.
    from codex_app_server import _errors
    from codex_app_server.generated import methods

    assert [constant for constant, *_ in _errors._EXPLANATIONS if not hasattr(methods, constant)] == []
