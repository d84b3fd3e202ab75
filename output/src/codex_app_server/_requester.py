"""Typed request plumbing shared by the generated sync and async clients.

Validates params with the generated model BEFORE anything is sent (a bad
argument raises :class:`ParamsValidationError` naming the method and field),
serialises only what the caller set, and validates the response into the
generated response model (:class:`ResponseValidationError` names the method).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

from ._errors import ParamsValidationError, ResponseValidationError
from ._rpc import RpcConnection

ResponseT = TypeVar("ResponseT", bound=BaseModel)


class Omit:
    """Type of :data:`OMIT`: "argument not given, do not send the field"."""

    _instance: Omit | None = None

    def __new__(cls) -> Omit:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = Omit()


def build_params(
    method: str, params_cls: type[BaseModel] | None, fields: Mapping[str, object]
) -> dict[str, object] | None:
    """Validate the given fields with the params model and dump them for the wire."""
    if params_cls is None:
        return None
    given = {name: value for name, value in fields.items() if value is not OMIT}
    try:
        model = params_cls.model_validate(given)
    except ValidationError as exc:
        raise ParamsValidationError(method, exc) from None
    return model.model_dump(mode="json", exclude_unset=True, by_alias=True)


def parse_response(method: str, response_cls: type[ResponseT], raw: object) -> ResponseT:
    try:
        return response_cls.model_validate(raw)
    except ValidationError as exc:
        raise ResponseValidationError(method, raw, str(exc)) from None


class SyncRequester:
    """Base of the generated blocking client."""

    def __init__(self, rpc: RpcConnection, request_timeout: float | None = None) -> None:
        self._rpc = rpc
        self._request_timeout = request_timeout

    def _request(
        self,
        method: str,
        params_cls: type[BaseModel] | None,
        response_cls: type[ResponseT],
        fields: Mapping[str, object],
    ) -> ResponseT:
        params = build_params(method, params_cls, fields)
        raw = self._rpc.call(method, params, timeout=self._request_timeout)
        return parse_response(method, response_cls, raw)


class AsyncRequester:
    """Base of the generated asyncio client; the reader thread resolves futures.

    ``connect`` returns the connection, starting the server on first use
    (AsyncCodex initialises lazily).
    """

    def __init__(self, connect: Callable[[], Awaitable[RpcConnection]], request_timeout: float | None = None) -> None:
        self._connect = connect
        self._request_timeout = request_timeout

    async def _request(
        self,
        method: str,
        params_cls: type[BaseModel] | None,
        response_cls: type[ResponseT],
        fields: Mapping[str, object],
    ) -> ResponseT:
        params = build_params(method, params_cls, fields)
        rpc = await self._connect()
        future = asyncio.wrap_future(rpc.request(method, params))
        try:
            raw = await asyncio.wait_for(future, self._request_timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no response to {method!r} within {self._request_timeout} s") from None
        return parse_response(method, response_cls, raw)
