"""``wss://`` against real TLS: codex on ``ws://127.0.0.1`` behind a local TLS terminator with a self-signed certificate.

The client trusts the certificate through the ``ssl_context`` it is given
and runs a real turn (streaming while it sends requests: TLS records read
and written at once); without that context the certificate is refused with
an error that says so and what to pass.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from codex_app_server import (
    AppServerClient,
    AsyncAppServerClient,
    AsyncCodex,
    Codex,
    InvalidRequestError,
    TransportClosedError,
    TurnStatus,
)
from codex_app_server.generated.v2_all import TurnCompletedEvent

from tests.sdk.support import Blocking, LoopThread, RoutedProvider, agent_deltas
from tests.support.fake_provider import final_text
from tests.support.fake_ws_server import FakeWsServer

from .conftest import CODEX_BIN, requires_remote
from .servers import Server, ws_server
from .test_websocket_unit import echo_size
from .tls import Certificate, TlsTerminator, self_signed_certificate

pytestmark = [*requires_remote, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    made = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("no openssl command to make a self-signed certificate")
    return made


@pytest.fixture(scope="module")
def backend(module_provider: RoutedProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert CODEX_BIN is not None
    with ws_server(CODEX_BIN, module_provider, tmp_path_factory.mktemp("wss-backend")) as server:
        yield server


@pytest.fixture(scope="module")
def terminator(certificate: Certificate, backend: Server) -> Iterator[TlsTerminator]:
    assert backend.url is not None
    address = urlsplit(backend.url)
    assert address.hostname is not None and address.port is not None
    with TlsTerminator(certificate, address.hostname, address.port) as running:
        yield running


def trusting(certificate: Certificate) -> ssl.SSLContext:
    """What a user passes for a server with a private CA or a self-signed certificate."""
    return ssl.create_default_context(cafile=str(certificate.cert))


def open_codex(flavor: str, url: str, certificate: Certificate, loop: LoopThread) -> Codex | Blocking:
    if flavor == "sync":
        return Codex.connect(url, ssl_context=trusting(certificate))
    client = AsyncCodex.connect(url, ssl_context=trusting(certificate))
    loop.run(client.start())
    return Blocking(client, loop)


def test_a_real_turn_over_wss(
    flavor: str,
    terminator: TlsTerminator,
    backend: Server,
    certificate: Certificate,
    provider: RoutedProvider,
    loop: LoopThread,
) -> None:
    before = terminator.connections
    chunks = [f"secure {n} " for n in range(40)]
    provider.enqueue(final_text("".join(chunks), chunks=chunks))
    codex = open_codex(flavor, terminator.url, certificate, loop)
    try:
        assert codex.metadata.user_agent.startswith("codex_app_server/")
        thread = codex.thread_start(cwd=str(backend.cwd))
        events = []
        for event in thread.turn("Stream over TLS.").stream():
            events.append(event)
            if len(events) % 10 == 0:  # requests go out while the stream comes in: TLS both ways at once
                assert thread.id in codex.client.thread_loaded_list().data
    finally:
        codex.close()
    assert agent_deltas(events) == chunks
    last = events[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.status == TurnStatus.completed
    assert terminator.connections == before + 1, "the connection went through the TLS terminator"


def test_a_message_above_the_frame_limit_over_tls(terminator: TlsTerminator, certificate: Certificate) -> None:
    with Codex.connect(terminator.url, ssl_context=trusting(certificate)) as codex:
        with pytest.raises(InvalidRequestError, match="invalid thread id"):
            codex.client.thread_read(thread_id="x" * (17 * 1024 * 1024))  # fragments, split into TLS records
        assert codex.client.thread_loaded_list() is not None


def test_the_low_level_clients_take_the_context_too(
    terminator: TlsTerminator, certificate: Certificate, loop: LoopThread
) -> None:
    with AppServerClient.connect(terminator.url, ssl_context=trusting(certificate)) as client:
        assert isinstance(client.thread_loaded_list().data, list)

    async def scenario() -> list[str]:
        async with AsyncAppServerClient.connect(terminator.url, ssl_context=trusting(certificate)) as client:
            return (await client.thread_loaded_list()).data

    assert isinstance(loop.run(scenario()), list)


def test_an_untrusted_certificate_is_a_clear_error(terminator: TlsTerminator) -> None:
    with pytest.raises(TransportClosedError) as caught:
        Codex.connect(terminator.url)  # the system's CAs do not know the self-signed certificate
    message = str(caught.value)
    assert terminator.url in message
    assert "TLS certificate is not trusted (self-signed certificate)" in message
    assert "pass ssl_context" in message
    assert isinstance(caught.value.__cause__.__cause__, ssl.SSLCertVerificationError)  # the original, kept


def test_a_context_trusting_another_certificate_is_refused(terminator: TlsTerminator, tmp_path: Path) -> None:
    other = self_signed_certificate(tmp_path)
    assert other is not None
    with pytest.raises(TransportClosedError, match="TLS certificate is not trusted"):
        Codex.connect(terminator.url, ssl_context=trusting(other))


def test_a_context_for_a_url_without_tls_is_refused(certificate: Certificate) -> None:
    for url in ("ws://127.0.0.1:9", "unix://"):
        with pytest.raises(ValueError, match=r"ssl_context is for wss:// URLs; (ws|unix):// does not use TLS"):
            Codex.connect(url, ssl_context=trusting(certificate))


def test_big_messages_both_ways_and_calls_from_many_threads_over_tls(certificate: Certificate) -> None:
    """A websockets TLS server echoing sizes: records read and written at once, from many threads, stay in order."""
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(certificate.cert, certificate.key)
    with FakeWsServer(echo_size, ssl=served) as server:
        url = server.url.replace("ws://", "wss://")
        with Codex.connect(url, ssl_context=trusting(certificate)) as codex:
            rpc = codex._session.rpc
            assert rpc is not None

            def echo(size: int) -> object:
                return rpc.call("size/echo", {"blob": "x" * size, "answerBytes": size})

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(echo, [(n % 7 + 1) * 100_000 for n in range(40)]))
            big = echo(20 << 20)
    for n, answer in enumerate(answers):
        size = (n % 7 + 1) * 100_000
        assert isinstance(answer, dict) and answer["got"] == size and len(answer["blob"]) == size
    assert isinstance(big, dict) and big["got"] == 20 << 20 and len(big["blob"]) == 20 << 20
