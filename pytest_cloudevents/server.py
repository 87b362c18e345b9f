"""The receiver's HTTP host: the delivery application served on a socket.

For now werkzeug's threaded WSGI server, one thread per connection; the host turns a WSGI
environ into a `Request`, holds delays on a thread, and closes the socket for a
`disconnect`.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import get_input_stream

from .app import CUT, ELAPSED, GONE, DeliveryApp, Hold, HoldEnd, Request
from .wire import HeaderMap

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Server"]


def _headers(environ: Mapping[str, Any]) -> HeaderMap:
    """The headers of a WSGI request, in one pass over its environ."""
    headers = HeaderMap()
    lowered = headers.lowered
    for key, value in environ.items():
        if key[:5] == "HTTP_":
            lowered[key[5:].replace("_", "-").lower()] = value
        elif (key == "CONTENT_TYPE" or key == "CONTENT_LENGTH") and value:
            lowered[key.replace("_", "-").lower()] = value
    return headers


def _content_length(environ: WSGIEnvironment) -> int | None:
    try:
        return max(0, int(environ["CONTENT_LENGTH"]))
    except (KeyError, ValueError, TypeError):
        return None


def _read(environ: WSGIEnvironment, most: int) -> bytes:
    """The body, up to `most` bytes. Without Content-Length or chunked framing a request
    has an empty body (RFC 9112, section 6.3): it is never read until the client closes."""
    length = _content_length(environ)
    if not environ.get("wsgi.input_terminated"):
        if not length:
            return b""
        data: bytes = environ["wsgi.input"].read(min(length, most))
        return data
    stream = get_input_stream(environ, safe_fallback=False)
    chunks: list[bytes] = []
    size = 0
    while size < most:
        chunk = stream.read(min(65536, most - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _client_gone(sock: socket.socket | None) -> bool:
    """True when the peer has closed its side (readable, and nothing to read)."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _WSGIHost:
    """The WSGI side of the server: environ in, the app's answer out."""

    def __init__(self, app: DeliveryApp) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        limit = self.app.options.max_body
        length = _content_length(environ)
        too_large = length is not None and length > limit
        body = b"" if too_large else _read(environ, limit + 1)
        request = Request(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            path=str(environ.get("PATH_INFO", "/")) or "/",
            headers=_headers(environ),
            body=body,
            query=str(environ.get("QUERY_STRING", "")),
            remote_addr=environ.get("REMOTE_ADDR"),
            too_large=too_large or len(body) > limit,
            declared_length=length,
        )
        sock = environ.get("werkzeug.socket")
        sock = sock if isinstance(sock, socket.socket) else None

        def hold(step: Hold) -> HoldEnd:
            if step.cancel.wait(step.seconds):
                return CUT
            return GONE if _client_gone(sock) else ELAPSED

        answer = self.app.run(request, hold)
        if answer.status is None:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        start_response(f"{answer.status} {answer.reason}", answer.framed_headers())
        return [answer.body]


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the delivery log is the record."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class Server(ThreadedWSGIServer):
    """werkzeug's threaded server running the delivery app from a daemon thread, keeping
    track of its request threads so that `stop` can join them."""

    def __init__(self, host: str, port: int, app: DeliveryApp) -> None:
        super().__init__(host, port, _WSGIHost(app), _QuietHandler)
        self._live: set[threading.Thread] = set()
        self._live_lock = threading.Lock()
        self.port: int = self.server_address[1]
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"ce-receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._run_request,
            args=(request, client_address),
            name="ce-receiver-request",
            daemon=True,
        )
        with self._live_lock:
            self._live.add(thread)
        thread.start()

    def _run_request(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.discard(threading.current_thread())

    def stop(self) -> None:
        """Stop accepting, close the socket and join the threads."""
        self.shutdown()
        self._thread.join(1.0)
        deadline = time.monotonic() + 0.5
        with self._live_lock:
            threads = list(self._live)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def log(self, type: str, message: str, *args: Any) -> None:
        return None
