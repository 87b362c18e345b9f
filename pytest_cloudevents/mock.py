"""Mock mode: the receiver's own WSGI application behind `responses`, no socket opened.

Every `requests` call to a sink's URL prefix runs `DeliveryApp` in-process, so decoding,
checks, recording, faults and handlers are exactly the receiver's. Differences, all from
`responses`: a `disconnect` raises `requests.ConnectionError`; a `delay` sleeps for the
delay or the request's read timeout, whichever is shorter, and raises
`requests.ReadTimeout` when the timeout is shorter; urllib3 retries by status are
replayed without any backoff or `Retry-After` wait, and exceptions are not retried.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import responses

from .receiver import CHANNEL_KEY, Channel, DeliveryApp
from .sink import Sink, SinkOptions

__all__ = ["CeMock", "MockSink"]

_METHODS = ("POST", "PUT", "PATCH", "HEAD", "OPTIONS", "GET", "DELETE")


class MockSink(Sink):
    """A recording endpoint for mock mode, with the `Receiver` interface but for `stop`.

    Built by `ce_mock.sink(url, **options)`; the options are the receiver's (`strict`,
    `ack_status`, `wait_timeout`, `max_body`, `check_rejected`).
    """

    def __init__(
        self,
        url: str,
        mock: responses.RequestsMock,
        *,
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
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "sink takes an http(s) URL prefix such as 'https://events.example.com/',"
                f" not {url!r}"
            )
        self._url = url if parts.path else url + "/"
        self.app = DeliveryApp(self)
        boundary = "" if self._url.endswith("/") else r"(?:[/?#]|$)"
        pattern = re.compile("^" + re.escape(self._url) + boundary)
        for method in _METHODS:
            mock.add_callback(method, pattern, callback=self._call, content_type=None)

    @property
    def url(self) -> str:
        """The URL prefix this sink catches."""
        return self._url

    def url_for(self, path: str = "/") -> str:
        """A URL under this sink's prefix."""
        return self._url.rstrip("/") + "/" + path.lstrip("/")

    def _call(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        channel = Channel(read_timeout=_read_timeout(getattr(request, "req_kwargs", {})))
        answer: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            answer[:] = [status, headers]
            return lambda data: None

        body = b"".join(self.app(_environ(request, channel), start_response))
        if channel.dropped:
            raise requests.ConnectionError(
                "Connection aborted: the sink closed the connection without a response",
                request=request,
            )
        if channel.timed_out:
            raise requests.ReadTimeout(
                f"Read timed out (read timeout={channel.read_timeout})", request=request
            )
        status, headers = answer
        code = int(status.split(" ", 1)[0])
        return code, {k: v for k, v in headers if k.lower() != "content-length"}, body

    def __repr__(self) -> str:
        return f"<MockSink {self._url}>"


def _environ(request: requests.PreparedRequest, channel: Channel) -> dict[str, Any]:
    """The WSGI environ the real server would build for this request."""
    parts = urlsplit(str(request.url))
    body = _body(request.body)
    https = parts.scheme == "https"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": str(request.method).upper(),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(parts.path or "/", encoding="latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if https else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        CHANNEL_KEY: channel,
    }
    for name, value in request.headers.items():
        if "_" in name:  # as werkzeug's server does: such headers never reach the app
            continue
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return environ


def _read_timeout(kwargs: Any) -> float | None:
    timeout = kwargs.get("timeout") if isinstance(kwargs, dict) else None
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    return float(timeout) if isinstance(timeout, (int, float)) else None


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, Iterable):
        return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)
    return bytes(body)


class CeMock:
    """What the `ce_mock` fixture gives: `sink(url, **options)` and the underlying
    `responses` mock (`ce_mock.responses`) for the test's other mocks. Requests to URLs
    that nothing is registered for fail with `requests.ConnectionError`, as in
    `responses`."""

    def __init__(
        self,
        mock: responses.RequestsMock,
        defaults: dict[str, Any] | None = None,
        *,
        on_sink: Callable[[MockSink], None] | None = None,
    ) -> None:
        self.responses = mock
        self._defaults = dict(defaults or {})
        self._on_sink = on_sink
        self.sinks: list[MockSink] = []

    def sink(self, url: str, **options: Any) -> MockSink:
        """Catch every request to the `url` prefix in a new `MockSink`."""
        sink = MockSink(url, self.responses, **{**self._defaults, **options})
        self.sinks.append(sink)
        if self._on_sink is not None:  # the plugin's after-test check and report
            self._on_sink(sink)
        return sink
