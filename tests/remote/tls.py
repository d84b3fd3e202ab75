"""TLS in front of a real app-server, for the ``wss://`` tests: a self-signed certificate and a terminator.

* :func:`self_signed_certificate` makes a certificate for 127.0.0.1 with the
  ``openssl`` command (``None`` where there is none: the tests skip).
* :class:`TlsTerminator` listens on 127.0.0.1 with TLS and pipes each
  connection's bytes to and from a plain TCP address (codex's
  ``ws://127.0.0.1:PORT``), as a reverse proxy in front of a server does.
  asyncio and ``ssl`` from the standard library, on a thread of its own.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> Certificate | None:
    """A fresh self-signed certificate (and key) valid for ``host``; None without an ``openssl`` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=IP:{host}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return Certificate(cert, key)


class TlsTerminator:
    """``wss://127.0.0.1:PORT`` (``url``) in front of the plain ``ws://`` server at ``target``; ``with`` runs it."""

    def __init__(self, certificate: Certificate, target_host: str, target_port: int) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificate.cert, certificate.key)
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, name="tls-terminator", daemon=True)
        self.connections = 0
        self.url = ""

    def __enter__(self) -> TlsTerminator:
        self._thread.start()
        assert self._ready.wait(10), "the TLS terminator did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._context)
        )
        self.url = f"wss://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()
