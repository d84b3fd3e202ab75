"""Typed Python SDK for the Codex app-server (generated from its JSON Schema).

Start with :class:`Codex` (blocking) or :class:`AsyncCodex` (asyncio)::

    from codex_app_server import Codex

    with Codex() as codex:
        thread = codex.thread_start(model="gpt-5.4")
        result = thread.run("Say hello in one sentence.")
        print(result.final_response)
"""

import logging as _logging
from typing import TYPE_CHECKING

from ._answers import DeferredAnswer, defer_answer
from ._config import AppServerConfig, codex_binary
from ._conversation import Message, conversation
from ._errors import (
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
    ParamsValidationError,
    ParseError,
    ResponseValidationError,
    RetryLimitExceededError,
    ServerBusyError,
    TransportClosedError,
    TurnFailedError,
    is_retryable_error,
)
from ._inputs import ImageInput, Input, InputItem, LocalImageInput, MentionInput, SkillInput, TextInput
from ._lazy import lazy_exports as _lazy_exports
from ._login import AsyncLoginHandle, LoginHandle
from ._output import OutputSchemaError, StructuredOutputError
from ._reconnect import Reconnect
from ._retry import RetryOptions, async_retry_on_overload, retry_on_overload
from ._tools import Tool, ToolResult, tool
from ._turns import RunResult
from ._version import __version__
from ._wire import OMIT, Omit
from .generated.api import AsyncCodex, AsyncThread, AsyncTurnHandle, Codex, Thread, TurnHandle
from .generated.client import AppServerClient, AsyncAppServerClient
from .generated.server_requests import AsyncServerRequestHandler, NoHandlerError, ServerRequestHandler

if TYPE_CHECKING:
    from .generated.notifications import Notification, UnknownNotification
    from .generated.v2_all import InitializeResponse, TurnStatus
else:
    # Models are imported on first use (importing the SDK creates none);
    # the union of every notification imports every event model.
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "InitializeResponse": "v2_all",
            "Notification": "notifications",
            "TurnStatus": "v2_all",
            "UnknownNotification": "notifications",
        },
        ".generated.",
    )

__all__ = [
    "OMIT",
    "AppServerClient",
    "AppServerConfig",
    "AsyncAppServerClient",
    "AsyncCodex",
    "AsyncLoginHandle",
    "AsyncServerRequestHandler",
    "AsyncThread",
    "AsyncTurnHandle",
    "AuthenticationError",
    "BinaryNotFoundError",
    "Codex",
    "CodexError",
    "CodexRuntimeError",
    "CodexTimeoutError",
    "CodexTypeError",
    "CodexValueError",
    "DeferredAnswer",
    "ExperimentalApiError",
    "ImageInput",
    "InitializeResponse",
    "Input",
    "InputItem",
    "InternalRpcError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JsonRpcError",
    "LocalImageInput",
    "LoginError",
    "LoginHandle",
    "LoginRequiredError",
    "MentionInput",
    "Message",
    "MethodNotFoundError",
    "MissingExtraError",
    "NoHandlerError",
    "Notification",
    "Omit",
    "OutputSchemaError",
    "ParamsValidationError",
    "ParseError",
    "Reconnect",
    "ResponseValidationError",
    "RetryLimitExceededError",
    "RetryOptions",
    "RunResult",
    "ServerBusyError",
    "ServerRequestHandler",
    "SkillInput",
    "StructuredOutputError",
    "TextInput",
    "Thread",
    "Tool",
    "ToolResult",
    "TransportClosedError",
    "TurnFailedError",
    "TurnHandle",
    "TurnStatus",
    "UnknownNotification",
    "__version__",
    "async_retry_on_overload",
    "codex_binary",
    "conversation",
    "defer_answer",
    "is_retryable_error",
    "retry_on_overload",
    "tool",
]

# A library never configures logging: records under "codex_app_server" reach
# only the handlers the application installs (none means silence, not
# Python's last-resort stderr handler).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
