"""The handle a login returns (``Codex.login_api_key()``, ``login_chatgpt()``, ``login_device_code()``).

A login answers at once with what the user needs (an auth URL, a device
code) and completes later, when codex sends ``account/login/completed``
(at once for an API key; once the user signed in, in the browser, for
ChatGPT). The generated wrappers register for that notification before
they send ``account/login/start`` (:class:`._waiters.Expectation`), so
:meth:`LoginHandle.wait` never misses it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ._errors import CodexTimeoutError, JsonRpcError, LoginError, LoginRequiredError, ResponseValidationError
from ._rpc import JsonObject
from ._waiters import Expectation

# Named through v2_all, which imports a model on first use.
from .generated import v2_all
from .generated.client import AppServerClient, AsyncAppServerClient

__all__ = ["AsyncLoginHandle", "LoginHandle", "account_or_none", "async_account_or_none", "check_signed_in"]

logger = logging.getLogger("codex_app_server")

R = TypeVar("R", bound=BaseModel)


def check_signed_in(account: v2_all.GetAccountResponse | None) -> None:
    """Raise :class:`LoginRequiredError` when the provider needs an OpenAI login and codex has none.

    Checked before a client's first turn: codex itself would retry for
    minutes instead of failing the turn. None (the server could not say) passes.
    """
    if account is not None and account.requires_openai_auth and account.account is None:
        raise LoginRequiredError()


def account_or_none(read: Callable[[], v2_all.GetAccountResponse]) -> v2_all.GetAccountResponse | None:
    """The server's ``account/read`` answer, or None when it gives no usable one in time (the turn then goes ahead)."""
    try:
        return read()
    except (JsonRpcError, ResponseValidationError, CodexTimeoutError) as exc:  # the turn's own request says more
        logger.debug("reading the account before the first turn failed (not checked): %s", exc)
        return None


async def async_account_or_none(
    read: Callable[[], Awaitable[v2_all.GetAccountResponse]],
) -> v2_all.GetAccountResponse | None:
    """:func:`account_or_none`, awaited."""
    try:
        return await read()
    except (JsonRpcError, ResponseValidationError, CodexTimeoutError) as exc:  # the turn's own request says more
        logger.debug("reading the account before the first turn failed (not checked): %s", exc)
        return None


class _LoginCommon(Generic[R]):
    """What LoginHandle and AsyncLoginHandle share: the answer, the login id, matching the completion."""

    def __init__(self, response: R, login_id: str | None, expectation: Expectation) -> None:
        self.response: R = response
        """The answer to ``account/login/start``: ``auth_url`` (ChatGPT in a browser), ``user_code`` and
        ``verification_url`` (device code), or nothing more (an API key)."""
        self.login_id: str | None = login_id
        """The login's id; None for an API key login (it has none)."""
        self._expectation = expectation
        self._completion: v2_all.AccountLoginCompletedNotification | None = None
        self._cancelled = False

    @property
    def done(self) -> bool:
        """True once ``wait()`` saw the login complete (successfully or not)."""
        return self._completion is not None

    def _matches(self, params: JsonObject) -> bool:
        completion = _decode(params)
        return completion is not None and completion.login_id == self.login_id

    def _finish(self, params: JsonObject) -> v2_all.AccountLoginCompletedNotification:
        completion = _decode(params)
        assert completion is not None  # _matches decoded it
        self._completion = completion
        self._expectation.close()
        return self._result()

    def _result(self) -> v2_all.AccountLoginCompletedNotification:
        completion = self._completion
        assert completion is not None
        if not completion.success:
            raise LoginError(self.login_id, completion.error, cancelled=self._cancelled)
        return completion

    def _timed_out(self, timeout: float | None) -> CodexTimeoutError:
        what = "login" if self.login_id is None else f"login {self.login_id}"
        return CodexTimeoutError(
            f"{what} did not complete within {timeout} s; it is still in progress: wait() again or cancel() it"
        )

    def __repr__(self) -> str:
        state = "done" if self.done else "pending"
        return f"{type(self).__name__}(login_id={self.login_id!r}, {state})"


def _decode(params: JsonObject) -> v2_all.AccountLoginCompletedNotification | None:
    try:
        return v2_all.AccountLoginCompletedNotification.model_validate(params)
    except ValidationError as exc:
        logger.debug("account/login/completed did not validate: %s", exc.error_count())
        return None


class LoginHandle(_LoginCommon[R]):
    """A login in progress, from ``Codex.login_api_key()`` / ``login_chatgpt()`` / ``login_device_code()``:
    show the user ``response`` (the auth URL or device code), then ``wait()``; as a context manager
    (``with codex.login_chatgpt() as login:``) it cancels the login on exit unless it completed.
    """

    def __init__(self, client: AppServerClient, response: R, login_id: str | None, expectation: Expectation) -> None:
        super().__init__(response, login_id, expectation)
        self._client = client

    def wait(self, timeout: float | None = None) -> v2_all.AccountLoginCompletedNotification:
        """Block until the login completes and return codex's ``account/login/completed``.

        Raises :class:`LoginError` when it failed or was cancelled,
        ``TimeoutError`` after ``timeout`` seconds (the login goes on: wait
        again or cancel it), :class:`TransportClosedError` when the app-server
        is gone. ``None`` waits as long as it takes.
        """
        if self._completion is not None:
            return self._result()
        try:
            params = self._expectation.wait(self._matches, timeout)
        except TimeoutError:
            raise self._timed_out(timeout) from None
        return self._finish(params)

    def cancel(self) -> v2_all.CancelLoginAccountStatus:
        """Cancel the login (``account/login/cancel``): ``canceled``, or ``not_found`` when it already ended.

        codex then completes it unsuccessfully, so a later :meth:`wait`
        raises :class:`LoginError` with ``cancelled=True``. An API key login
        has nothing to cancel (``not_found``, nothing sent).
        """
        if self.login_id is None or self._completion is not None:
            return v2_all.CancelLoginAccountStatus.not_found
        self._cancelled = True
        return self._client.account_login_cancel(login_id=self.login_id).status

    def __enter__(self) -> LoginHandle[R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._completion is None:
            try:
                self.cancel()
            except Exception as exc:  # the app-server may be gone: leaving must not raise over the real error
                logger.debug("cancelling login %s on exit: %s", self.login_id, exc)
        self._expectation.close()


class AsyncLoginHandle(_LoginCommon[R]):
    """A login in progress of an ``AsyncCodex`` client: the same members as ``LoginHandle``, coroutines
    where it blocks; ``async with`` cancels the login on exit unless it completed.
    """

    def __init__(
        self, client: AsyncAppServerClient, response: R, login_id: str | None, expectation: Expectation
    ) -> None:
        super().__init__(response, login_id, expectation)
        self._client = client

    async def wait(self, timeout: float | None = None) -> v2_all.AccountLoginCompletedNotification:
        """Wait until the login completes and return codex's ``account/login/completed`` (as ``LoginHandle.wait``)."""
        if self._completion is not None:
            return self._result()
        try:
            params = await self._expectation.wait_async(self._matches, timeout)
        except TimeoutError:
            raise self._timed_out(timeout) from None
        return self._finish(params)

    async def cancel(self) -> v2_all.CancelLoginAccountStatus:
        """Cancel the login (``account/login/cancel``); as ``LoginHandle.cancel``."""
        if self.login_id is None or self._completion is not None:
            return v2_all.CancelLoginAccountStatus.not_found
        self._cancelled = True
        return (await self._client.account_login_cancel(login_id=self.login_id)).status

    async def __aenter__(self) -> AsyncLoginHandle[R]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._completion is None:
            try:
                await self.cancel()
            except Exception as exc:
                logger.debug("cancelling login %s on exit: %s", self.login_id, exc)
        self._expectation.close()
