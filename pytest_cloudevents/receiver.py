"""The one WSGI application that decodes, checks, records and answers every delivery,
and `Receiver`, which serves it with werkzeug on loopback from a daemon thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import get_input_stream

from .conformance import Violation
from .faults import Delay, Disconnect, Fault, Flaky, Reply, Status, Throttle
from .recording import Delivery, DeliveryOutcome
from .sink import Sink, SinkOptions
from .wire import HeaderMap, decode, encode

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["CHANNEL_KEY", "Channel", "DeliveryApp", "Receiver"]

#: Methods that always carry a message (an empty binary-mode body is a valid event).
BODY_METHODS = ("POST", "PUT", "PATCH")
ALLOW = "POST, PUT, PATCH, OPTIONS, HEAD"
#: The environ key of the side channel between the application and an in-process caller.
CHANNEL_KEY = "pytest_cloudevents.channel"


@dataclass
class Channel:
    """A side channel for a caller that runs the application in-process (mock mode).

    The caller sets `read_timeout`; the application sets `dropped` (disconnect) and
    `timed_out` (a delay longer than the read timeout). A shared object, because
    werkzeug's test runner copies the environ.
    """

    read_timeout: float | None = None
    dropped: bool = False
    timed_out: bool = False


@dataclass
class _Answer:
    outcome: DeliveryOutcome
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes = b""
    fault: str | None = None


class DeliveryApp:
    """The WSGI application of a `Sink`: every delivery is decoded, checked, recorded
    and answered here, for the real server and for mock mode alike."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method == "HEAD":
            return _send(start_response, 200, [], b"")
        if method == "OPTIONS":
            return _send(start_response, 200, _handshake(environ), b"")
        length = _content_length(environ)
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        if method not in BODY_METHODS and not length and not chunked:
            return _send(start_response, 405, [("Allow", ALLOW)], b"method not allowed\n")

        seq, generation, arrived, cancel = self.sink.log.begin()
        headers = HeaderMap.from_environ(environ)
        limit = self.sink.options.max_body
        body = b"" if length > limit else _read(environ, limit + 1)
        delivery = Delivery(
            seq=seq,
            received_at=arrived,
            timestamp=datetime.now(timezone.utc),
            method=method,
            path=str(environ.get("PATH_INFO", "/")) or "/",
            query=str(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body if len(body) <= limit else b"",
            remote_addr=environ.get("REMOTE_ADDR"),
        )
        if length > limit or len(body) > limit:
            size = length if length > limit else f"over {limit}"
            delivery.violations = [
                Violation(
                    "body-too-large",
                    None,
                    f"the body is {size} bytes; this receiver accepts at most {limit}"
                    " (raise max_body / cloudevents_max_body)",
                )
            ]
            answer: _Answer | None = _rejection(delivery, 413)
        else:
            decoded = decode(headers, body, strict=self.sink.options.strict)
            delivery.mode = decoded.mode
            delivery.warnings = decoded.warnings
            if decoded.ok:
                delivery.events = decoded.events
                answer = self._answer(delivery, environ, cancel)
            else:
                delivery.violations = decoded.violations
                answer = _rejection(delivery, decoded.status)
        if answer is None:  # cut short by reset() or stop(): never recorded
            _drop(environ)
            return _send(start_response, 500, [], b"")
        delivery.outcome, delivery.status, delivery.fault = (
            answer.outcome,
            answer.status,
            answer.fault,
        )
        self.sink.log.record(delivery, generation)
        if answer.status is None:
            _drop(environ)
            return _send(start_response, 500, [], b"")
        return _send(start_response, answer.status, answer.headers, answer.body)

    def _answer(
        self, delivery: Delivery, environ: WSGIEnvironment, cancel: threading.Event
    ) -> _Answer | None:
        """Fault rules first, then the handler, then the default acknowledgement."""
        fault = self.sink.rules.pick(delivery)
        if fault is not None:
            return self._apply(fault, delivery, environ, cancel)
        return self._handle(delivery, environ, cancel)

    def _apply(
        self,
        fault: Fault,
        delivery: Delivery,
        environ: WSGIEnvironment,
        cancel: threading.Event,
        name: str | None = None,
    ) -> _Answer | None:
        name = name or fault.name
        if isinstance(fault, Delay):
            if _wait(fault.seconds, environ, cancel):
                return None
            if fault.then is not None:
                return self._apply(fault.then, delivery, environ, cancel, name)
            answer = self._handle(delivery, environ, cancel)
            if answer is not None and answer.fault is None:
                answer.fault = name
            return answer
        if isinstance(fault, Status):
            return _Answer("faulted", fault.code, list(fault.headers), fault.body, name)
        if isinstance(fault, Throttle):
            headers = [("Retry-After", fault.retry_after)]
            return _Answer("faulted", 429, headers, b"too many requests\n", name)
        if isinstance(fault, Disconnect):
            return _Answer("faulted", None, [], b"", name)
        if isinstance(fault, Reply):
            reply_headers, body = encode(fault.event, fault.mode)
            outcome: DeliveryOutcome = "accepted" if 200 <= fault.status <= 299 else "faulted"
            return _Answer(outcome, fault.status, list(reply_headers.items()), body, name)
        raise TypeError(f"cannot apply {fault!r}")  # pragma: no cover - Flaky is unwrapped

    def _handle(
        self, delivery: Delivery, environ: WSGIEnvironment, cancel: threading.Event
    ) -> _Answer | None:
        handler = self.sink.handler
        if handler is not None:
            for event in delivery.events:
                try:
                    result = handler(event)
                    if isinstance(result, Flaky):
                        raise TypeError("a handler returns a plain fault, not faults.flaky(...)")
                except Exception as exc:  # a user's handler: any error is reported
                    delivery.error = exc
                    return _Answer("error", 500, [], f"handler raised {exc!r}\n".encode())
                if result is None:
                    continue
                if isinstance(result, (Status, Throttle, Delay, Disconnect, Reply)):
                    return self._apply(result, delivery, environ, cancel)
                if hasattr(result, "get_attributes"):
                    reply_headers, body = encode(result, "binary")
                    return _Answer("accepted", 200, list(reply_headers.items()), body)
                delivery.error = TypeError(
                    f"a handler returns None, a CloudEvent or a fault, not {result!r}"
                )
                return _Answer("error", 500, [], f"{delivery.error}\n".encode())
        return _Answer("accepted", self.sink.options.ack_status, [], b"")


def _rejection(delivery: Delivery, status: int) -> _Answer:
    lines = [f"rejected: {len(delivery.violations)} violation(s) of the CloudEvents spec"]
    lines += [str(v) for v in delivery.violations]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return _Answer("rejected", status, [("Content-Type", "text/plain; charset=utf-8")], body)


_PHRASES = {s.value: s.phrase for s in HTTPStatus}


def _send(
    start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    phrase = _PHRASES.get(status, "Unknown")
    names = {k.lower() for k, _ in headers}
    if "content-length" not in names:
        headers = [*headers, ("Content-Length", str(len(body)))]
    start_response(f"{status} {phrase}", headers)
    return [body]


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _read(environ: WSGIEnvironment, most: int) -> bytes:
    length = _content_length(environ)
    if length and not environ.get("wsgi.input_terminated"):
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


def _handshake(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The CloudEvents webhook abuse-protection handshake (OPTIONS)."""
    headers = [("Allow", ALLOW)]
    origin = environ.get("HTTP_WEBHOOK_REQUEST_ORIGIN")
    if origin:
        headers += [("WebHook-Allowed-Origin", str(origin)), ("WebHook-Allowed-Rate", "*")]
    return headers


def _wait(seconds: float, environ: WSGIEnvironment, cancel: threading.Event) -> bool:
    """Hold a delivery; True when reset() or stop() cut it short."""
    channel = environ.get(CHANNEL_KEY)
    timeout = channel.read_timeout if isinstance(channel, Channel) else None
    if isinstance(channel, Channel) and timeout is not None and timeout < seconds:
        channel.timed_out = True
        seconds = timeout
    return cancel.wait(seconds)


def _drop(environ: WSGIEnvironment) -> None:
    """Close the connection without a response (or tell the in-process caller to)."""
    channel = environ.get(CHANNEL_KEY)
    if isinstance(channel, Channel):
        channel.dropped = True
        return
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the delivery log is the record."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, keeping track of its request threads so that
    `stop` can join them."""

    def __init__(self, host: str, port: int, app: DeliveryApp) -> None:
        super().__init__(host, port, app, _QuietHandler)
        self._live: set[threading.Thread] = set()
        self._live_lock = threading.Lock()

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

    def join_requests(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._live_lock:
            threads = list(self._live)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class Receiver(Sink):
    """A recording CloudEvents receiver: a real HTTP server on loopback.

    Listening as soon as it is constructed; `stop()` (or leaving `with`) shuts it down
    in well under a second. Options:

    - `host`/`port`: bind address (loopback by default) and port (0: an ephemeral one);
    - `advertise_host`: the host name put into `url` (for services in containers);
    - `strict`: reject messages that break a MUST rule (default) or only warn;
    - `ack_status`: the 2xx status of the default acknowledgement (202);
    - `wait_timeout`: default seconds for `wait_for` and `assert_received` (5.0);
    - `max_body`: bodies over this many bytes are rejected with 413 (10 MiB);
    - `check_rejected`: fail the test on rejected deliveries it never looked at.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise_host: str | None = None,
        strict: bool = True,
        ack_status: int = 202,
        wait_timeout: float = 5.0,
        max_body: int = 10 * 1024 * 1024,
        check_rejected: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(
            SinkOptions(strict, ack_status, wait_timeout, max_body, check_rejected), seed=seed
        )
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be an address such as '127.0.0.1', not {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (any free port) or 1..65535, not {port!r}")
        self.app = DeliveryApp(self)
        self._server = _Server(host, port, self.app)
        self.host = host
        self.port: int = self._server.server_address[1]
        self.advertise_host = advertise_host
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"ce-receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def url(self) -> str:
        """The base URL to give the service under test, e.g. `http://127.0.0.1:PORT/`."""
        return self.url_for("/")

    def url_for(self, path: str = "/") -> str:
        """The URL of `path` on this receiver; any path is accepted and recorded."""
        host = self.advertise_host or self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        """Stop serving: cut in-flight delays, close the socket, join the threads."""
        if self._stopped:
            return
        self._stopped = True
        self.log.cancel_in_flight()
        self._server.shutdown()
        self._thread.join(1.0)
        self._server.join_requests(0.5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Receiver {self.url}>"
