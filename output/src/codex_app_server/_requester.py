"""Typed request plumbing shared by the generated sync and async clients.

Validates params with the generated model BEFORE anything is sent (a bad
argument raises :class:`ParamsValidationError` naming the method and field),
serialises only what the caller set, and validates the response into the
generated response type (:class:`ResponseValidationError` names the method).
Params and responses are models or, for a few methods, unions of models;
unions go through a cached pydantic ``TypeAdapter``.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import Self  # pydantic's own dependency; typing.Self needs 3.11

from ._config import AppServerConfig
from ._connect import AsyncStarter, ConnectMethods, open_session, stop_when_collected
from ._errors import (
    METHOD_NOT_FOUND,
    CodexRuntimeError,
    CodexTimeoutError,
    CodexTypeError,
    ExperimentalApiError,
    JsonRpcError,
    MethodNotFoundError,
    ParamsValidationError,
    ResponseValidationError,
    says_no_history_yet,
)
from ._lazy import LazyModule
from ._param_checks import experimental_uses, local_path_problems, raw_experimental_uses, summarize, unknown_enum_values
from ._reconnect import Reconnect
from ._rpc import RpcConnection
from ._server_version import describe, missing_fields, upgrade_hint, versions_differ
from ._session import Session
from ._threads import in_worker_thread, wake_threadsafe
from ._wire import OMIT, Omit, to_wire, validate, validate_sent
from .generated import methods, v2_all
from .generated.server_requests import AsyncServerRequestHandler, ServerRequestHandler

if TYPE_CHECKING:
    # ssl: only annotations name it (OpenSSL costs ~7 MB of RSS); asyncio is
    # imported inside the coroutines that use it, so a blocking client never loads it.
    import ssl

    from ._transports.endpoints import Endpoint
else:
    ssl = LazyModule("ssl")  # the annotations still resolve (typing.get_type_hints)

PathLike = str | os.PathLike[str]


Fields = Mapping[str, object]  # a method's keyword arguments, by params-model field name


def build_params(method: str, params_type: object, fields: Mapping[str, object]) -> object:
    """Validate keyword fields with the params model and dump them for the wire."""
    if params_type is None:
        return None
    given = {name: value for name, value in fields.items() if value is not OMIT}
    return to_wire(params_type, _checked(method, params_type, given))


def _checked(method: str, params_type: object, raw: object) -> object:
    try:
        value = validate_sent(params_type, raw)
    except ValidationError as exc:
        raise ParamsValidationError(method, exc, summarize(exc, params_type)) from None
    unknown = list(unknown_enum_values(value))
    if unknown:
        raise ParamsValidationError(method, "; ".join(unknown))
    return value


M = TypeVar("M", bound=BaseModel)


def checked_model(method: str, model: type[M], fields: Mapping[str, object]) -> M:
    """The params ``model`` of ``method`` from keyword ``fields`` (``OMIT`` ones left out), validated as
    every request's params are (one :class:`ParamsValidationError` naming each bad argument)."""
    given = {name: value for name, value in fields.items() if value is not OMIT}
    value = _checked(method, model, given)
    assert isinstance(value, model)
    return value


def parse_response(method: str, response_type: object, raw: object, server_version: str | None = None) -> object:
    try:
        return validate(response_type, raw)
    except ValidationError as exc:
        missing = missing_fields(raw, exc)
        if not missing:
            raise ResponseValidationError(method, raw, str(exc)) from None
        detail = (
            f"required field {', '.join(missing)} is missing ({describe(server_version)}); "
            f"{upgrade_hint(server_version)}"
        )
        raise ResponseValidationError(method, raw, detail) from None


def method_not_found(exc: JsonRpcError, method: str, server_version: str | None) -> JsonRpcError:
    """codex answers a method it does not have with -32600 "unknown variant `m`": name both versions.

    A -32601 about something else than the method itself (codex answers
    ``thread/read`` of a thread without history so) blames the versions only
    when they differ: with the SDK's own codex the message is codex's, with
    its explanation.
    """
    unknown_method = f"unknown variant `{method}`" in exc.message
    if exc.code != METHOD_NOT_FOUND and not unknown_method:
        return exc
    if not unknown_method and not versions_differ(server_version):
        return exc
    message = exc.message.split(", expected one of", 1)[0]  # not the whole list of methods
    message += f"; the server does not have {method} ({describe(server_version)}); {upgrade_hint(server_version)}"
    return MethodNotFoundError(exc.code, message, exc.data, method)


def _without_unwritten_turns(params_type: object, fields: Fields, exc: JsonRpcError) -> Fields | None:
    """The fields to read a thread again without its turns, when codex refused them for want of history.

    codex answers a read with turns of a thread whose first turn has not
    started with -32601 "list_turns is not supported yet": that thread has
    no turns, so it is read without them (its turns are empty). None: not
    that answer.
    """
    if params_type is not v2_all.ThreadReadParams or fields.get("include_turns") is not True:
        return None
    return {**fields, "include_turns": False} if says_no_history_yet(exc) else None


def _wire_params(
    method: str,
    params_type: object,
    fields: Mapping[str, object],
    whole: object,
    local_filesystem: bool,
    experimental_api: bool,
) -> object:
    if not experimental_api:
        check_experimental_method(method)
    if params_type is None:
        params = None
    else:
        raw = {name: value for name, value in fields.items() if value is not OMIT} if whole is OMIT else whole
        value = _checked(method, params_type, raw)
        if not experimental_api:
            uses = tuple(experimental_uses(value))
            if uses:
                raise ExperimentalApiError(method, uses)
        params = to_wire(params_type, value)
    if local_filesystem:
        problems = list(local_path_problems(params))
        if problems:
            raise ParamsValidationError(method, "; ".join(problems))
    return params


def initialize_call(rpc: RpcConnection, params: v2_all.InitializeParams, timeout: float) -> v2_all.InitializeResponse:
    """``initialize`` sent as every request is (params validated, answer parsed): the session's handshake call."""
    response = SyncRequester(rpc, timeout)._request(
        methods.INITIALIZE, v2_all.InitializeParams, v2_all.InitializeResponse, {}, whole=params
    )
    assert isinstance(response, v2_all.InitializeResponse)
    return response


def check_experimental_method(method: str) -> None:
    """The fence for a client without ``experimental_api``: an experimental method is refused unsent.

    The one place that decides (with the params check of :func:`_wire_params`),
    from the generated tables; codex itself would answer -32600 after the round trip.
    """
    from .generated.experimental import EXPERIMENTAL_METHODS  # noqa: PLC0415

    if method in EXPERIMENTAL_METHODS:
        raise ExperimentalApiError(method)


def raw_params(method: str, params: object, experimental_api: bool) -> dict[str, object] | None:
    """The params of an escape-hatch call (``request``/``notify``): None or a mapping of JSON values.

    Checked before anything is sent, as typed calls are: a bad value raises
    :class:`ParamsValidationError` naming the method; without
    ``experimental_api``, a known experimental method, or params of a known
    method setting an experimental field (a top-level key), raises
    :class:`ExperimentalApiError`. Returned as a copy, so later changes to
    the caller's mapping cannot leak in.
    """
    if not isinstance(method, str) or not method:
        raise CodexTypeError(f"method must be a non-empty str, got {method!r}")
    if not experimental_api:
        check_experimental_method(method)
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise ParamsValidationError(
            method, f"params must be a mapping (a JSON object) or None, got {type(params).__name__}"
        )
    bad_keys = [key for key in params if not isinstance(key, str)]
    if bad_keys:
        raise ParamsValidationError(method, f"params keys must be str, got {bad_keys[0]!r}")
    uses = [] if experimental_api else raw_experimental_uses(method, params)
    if uses:
        raise ExperimentalApiError(method, tuple(uses))
    try:
        copy: dict[str, object] = json.loads(json.dumps(dict(params), allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ParamsValidationError(method, f"params are not JSON: {exc}") from None
    return copy


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Page(Protocol[T_co]):
    """One page of a cursor-paged list response (``data`` and ``next_cursor``)."""

    @property
    def data(self) -> Sequence[T_co]: ...

    @property
    def next_cursor(self) -> str | None: ...


def _borrowed(client: object, owner: str) -> CodexRuntimeError:
    name = type(client).__name__
    return CodexRuntimeError(
        f"this {name} belongs to its {owner} ({owner}.client): close the {owner}; "
        f"a client with a connection of its own comes from {name}.connect(), connect_daemon() or connect_command()"
    )


class SyncRequester(ConnectMethods[ServerRequestHandler]):
    """Base of the generated blocking client.

    ``Codex.client`` hands one out that uses the Codex's connection; the
    ``connect*`` classmethods open a connection of the client's own, which
    ``close()`` (or leaving ``with``) ends.
    """

    def __init__(
        self,
        rpc: RpcConnection | Callable[[], RpcConnection],
        request_timeout: float | None = None,
        *,
        local_filesystem: bool = False,
        experimental_api: bool = False,
    ) -> None:
        # A callable gives the connection of the moment (a reconnecting client swaps it).
        self._rpc_now: Callable[[], RpcConnection] = rpc if callable(rpc) else lambda: rpc
        self._request_timeout = request_timeout
        # The app-server shares this machine's filesystem (a stdio child): directory params are checked here.
        self._local_filesystem = local_filesystem
        # Whether initialize declared experimentalApi: else experimental methods and fields are refused unsent.
        self._experimental_api = experimental_api
        self.server_version: str | None = None
        """The server's codex version (from its ``initialize`` answer), once known."""
        self._session: Session | None = None  # the connection this client opened itself (connect*)
        self._finalizer: weakref.finalize[[Session], object] | None = None

    # -- a connection of its own (see README "Connecting to a running app-server"): the connect*
    # classmethods are ConnectMethods'

    @classmethod
    def _connected(
        cls,
        config: AppServerConfig,
        endpoint: Endpoint,
        handler: ServerRequestHandler | None,
        reconnect: Reconnect | bool,
    ) -> Self:
        session = open_session(config, endpoint, handler, reconnect, initialize_call)
        session.start()  # on failure it has closed what it opened
        client = cls(
            session.current_rpc,
            config.request_timeout,
            local_filesystem=session.local_filesystem,
            experimental_api=session.experimental_api,
        )
        client.server_version = session.server_version
        client._session = session
        client._finalizer = stop_when_collected(client, session)
        return client

    def close(self) -> None:
        """End the connection this client opened (``connect*``); idempotent.

        A client from ``Codex.client`` is closed with its Codex: calling this on one raises RuntimeError.
        """
        session = self._session
        if session is None:
            raise _borrowed(self, "Codex")
        if self._finalizer is not None:
            self._finalizer.detach()
        session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, name: str, params: object, result: object, fields: Fields, whole: object = OMIT) -> object:
        """Send ``name`` with the ``fields`` (or ``whole`` params) valid for ``params``; parse the ``result``."""
        wire = _wire_params(name, params, fields, whole, self._local_filesystem, self._experimental_api)
        try:
            raw = self._call(name, wire)
        except JsonRpcError as exc:
            again = _without_unwritten_turns(params, fields, exc)
            if again is not None:
                return self._request(name, params, result, again)
            raise method_not_found(exc, name, self.server_version) from None
        return parse_response(name, result, raw, self.server_version)

    def _call(self, name: str, wire: object) -> object:
        """Send checked params; the raw answer (an error answer raises its :class:`JsonRpcError`)."""
        return self._rpc_now().call(name, wire, timeout=self._request_timeout)  # type: ignore[arg-type]

    def request(self, method: str, params: Mapping[str, object] | None = None) -> object:
        """Send any client request, e.g. one newer than this SDK's schema; return the decoded answer as is.

        The escape hatch: ``params`` is a mapping of JSON values (or None), sent
        as given; the answer is not validated (usually a ``dict``). Errors are
        those of the typed methods: an error answer raises its
        :class:`JsonRpcError` subclass, an unknown method
        :class:`MethodNotFoundError`, params that are not JSON
        :class:`ParamsValidationError`, and an experimental method, or params
        of a known method setting an experimental field (a top-level key),
        without ``AppServerConfig(experimental_api=True)``
        :class:`ExperimentalApiError` (both before anything is sent). Every
        method of the pinned schema has a typed method, which validates params
        and answer: prefer it.
        """
        wire = raw_params(method, params, self._experimental_api)
        try:
            return self._call(method, wire)
        except JsonRpcError as exc:
            raise method_not_found(exc, method, self.server_version) from None

    def notify(self, method: str, params: Mapping[str, object] | None = None) -> None:
        """Send any client notification (no answer); ``params`` as for :meth:`request`."""
        self._rpc_now().notify(method, raw_params(method, params, self._experimental_api))

    def _pages(self, fetch: Callable[..., Page[T]], fields: Mapping[str, object]) -> Iterator[T]:
        """Every item of a paged list: ``fetch`` page after page, following ``next_cursor`` until it is empty."""
        cursor: str | Omit = OMIT
        while True:
            page = fetch(**fields, cursor=cursor)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor


class AsyncRequester(ConnectMethods[AsyncServerRequestHandler | ServerRequestHandler]):
    """Base of the generated asyncio client; the reader thread resolves futures.

    ``connect`` returns the connection, starting the server on first use
    (AsyncCodex initialises lazily). ``AsyncCodex.client`` hands one out that
    uses the AsyncCodex's connection; the ``connect*`` classmethods make one
    with a connection of its own, opened on first use or by ``start()`` /
    ``async with``, ended by ``close()``.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[RpcConnection]],
        request_timeout: float | None = None,
        *,
        local_filesystem: bool = False,
        experimental_api: bool = False,
    ) -> None:
        self._connect = connect
        self._request_timeout = request_timeout
        self._local_filesystem = local_filesystem
        self._experimental_api = experimental_api
        self.server_version: str | None = None
        """The server's codex version (from its ``initialize`` answer), once known."""
        self._session: Session | None = None  # the connection this client opens itself (connect*)
        self._starter: AsyncStarter | None = None
        self._finalizer: weakref.finalize[[Session], object] | None = None

    # -- a connection of its own (see README "Connecting to a running app-server"): the connect*
    # classmethods are ConnectMethods'

    @classmethod
    def _connected(
        cls,
        config: AppServerConfig,
        endpoint: Endpoint,
        handler: AsyncServerRequestHandler | ServerRequestHandler | None,
        reconnect: Reconnect | bool,
    ) -> Self:
        session = open_session(config, endpoint, handler, reconnect, initialize_call)
        starter = AsyncStarter(session, lambda: setattr(client, "server_version", session.server_version))
        client = cls(
            starter.rpc,
            config.request_timeout,
            local_filesystem=session.local_filesystem,
            experimental_api=session.experimental_api,
        )
        client._session, client._starter = session, starter
        client._finalizer = stop_when_collected(client, session)
        return client

    async def start(self) -> v2_all.InitializeResponse:
        """Connect and initialise now (else the first call does); idempotent. Only for a client of its own (``connect*``)."""
        if self._starter is None:
            raise _borrowed(self, "AsyncCodex")
        return await self._starter.start()

    async def close(self) -> None:
        """End the connection this client opened (``connect*``); idempotent.

        A client from ``AsyncCodex.client`` is closed with its AsyncCodex: calling this on one raises RuntimeError.
        """
        session = self._session
        if session is None:
            raise _borrowed(self, "AsyncCodex")
        if self._finalizer is not None:
            self._finalizer.detach()
        await in_worker_thread(session.close)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _request(self, name: str, params: object, result: object, fields: Fields, whole: object = OMIT) -> object:
        """Send ``name`` with the ``fields`` (or ``whole`` params) valid for ``params``; parse the ``result``."""
        wire = _wire_params(name, params, fields, whole, self._local_filesystem, self._experimental_api)
        try:
            raw = await self._call(name, wire)
        except JsonRpcError as exc:
            again = _without_unwritten_turns(params, fields, exc)
            if again is not None:
                return await self._request(name, params, result, again)
            raise method_not_found(exc, name, self.server_version) from None
        return parse_response(name, result, raw, self.server_version)

    async def _call(self, name: str, wire: object) -> object:
        """Send checked params; the raw answer (an error answer raises its :class:`JsonRpcError`), never cancelled."""
        import asyncio

        rpc = await self._connect()
        # Sent by the connection's sender thread: the loop never waits for the server to read (the
        # request_timeout below bounds the sending too).
        request = rpc.request_soon(name, wire, self._request_timeout)  # type: ignore[arg-type]
        try:
            return await _answer(request, self._request_timeout)
        except BaseException as exc:  # cancelled, timed out, or the error answer itself (then a no-op)
            rpc.abandon(name, wire, request)  # type: ignore[arg-type]
            if isinstance(exc, asyncio.TimeoutError):
                raise CodexTimeoutError(f"no response to {name!r} within {self._request_timeout} s") from None
            raise

    async def request(self, method: str, params: Mapping[str, object] | None = None) -> object:
        """Send any client request, e.g. one newer than this SDK's schema; return the decoded answer as is.

        The escape hatch, as :meth:`AppServerClient.request <SyncRequester.request>`: params a mapping of
        JSON values (or None), the answer not validated, errors as the typed methods raise them.
        """
        wire = raw_params(method, params, self._experimental_api)
        try:
            return await self._call(method, wire)
        except JsonRpcError as exc:
            raise method_not_found(exc, method, self.server_version) from None

    async def notify(self, method: str, params: Mapping[str, object] | None = None) -> None:
        """Send any client notification (no answer); ``params`` as for :meth:`request`."""
        wire = raw_params(method, params, self._experimental_api)
        (await self._connect()).notify(method, wire)

    async def _pages(self, fetch: Callable[..., Awaitable[Page[T]]], fields: Mapping[str, object]) -> AsyncIterator[T]:
        """Every item of a paged list: ``fetch`` page after page, following ``next_cursor`` until it is empty."""
        cursor: str | Omit = OMIT
        while True:
            page = await fetch(**fields, cursor=cursor)
            for item in page.data:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor


async def _answer(request: Future[object], timeout: float | None) -> object:
    """The answer of ``request``, awaited without ever cancelling it.

    ``asyncio.wrap_future`` would cancel the request with the awaiting task,
    and a cancelled request loses its late answer, which
    :meth:`~._rpc.RpcConnection.abandon` hands on (the turn an abandoned
    ``turn/start`` started must still be interrupted).
    """
    if not request.done():
        import asyncio

        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        request.add_done_callback(lambda _: wake_threadsafe(loop, ready))
        await asyncio.wait_for(ready, timeout)
    return request.result()
