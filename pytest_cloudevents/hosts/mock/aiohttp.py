"""Mock mode for aiohttp, through `aioresponses` (extra `aiohttp`).

A `disconnect` raises `aiohttp.ServerDisconnectedError`; a `delay` longer than the
request's read timeout (`timeout=aiohttp.ClientTimeout(...)` given to the request, as
aioresponses does not see the session's) raises `aiohttp.SocketTimeoutError`, aiohttp's
own read timeout. Delays are awaited: the event loop runs on meanwhile. A response without
a Content-Type gets aioresponses' `application/json`.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.hosts.mock.intercept import Intercepted, app_request
from pytest_cloudevents.hosts.mock.requests import METHODS

__all__ = ["register", "start"]

_NEEDS_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters


class _Response(aiohttp.ClientResponse):
    """A response aioresponses can build on aiohttp 3.14 too: aioresponses 0.7.9 does not
    pass the `stream_writer` that aiohttp 3.14 requires (aioresponses issue #289), and a
    mocked request has sent nothing (output size 0)."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        if _NEEDS_WRITER:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class Mock(aioresponses):
    """aioresponses that let loopback through (but for a sink's own prefix) and refuse
    other unmatched URLs; its own `passthrough` takes prefixes, too coarse for loopback."""

    def __init__(self, loopback: re.Pattern[str]) -> None:
        super().__init__()
        self.loopback = loopback
        self.sinks: list[re.Pattern[str]] = []

    async def _request_mock(
        self, orig_self: aiohttp.ClientSession, method: str, url: Any, *args: Any, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        full = str(orig_self._build_url(url))
        if self.loopback.match(full) and not any(p.match(full) for p in self.sinks):
            response: aiohttp.ClientResponse = await self.patcher.temp_original(
                orig_self, method, url, *args, **kwargs
            )
            return response
        return await super()._request_mock(orig_self, method, url, *args, **kwargs)


def start(loopback: re.Pattern[str]) -> Mock:
    """Started aioresponses that let loopback through and refuse other unmatched URLs."""
    mock = Mock(loopback)
    mock.start()
    return mock


def register(mock: Mock, pattern: re.Pattern[str], app: DeliveryApp) -> None:
    """Answer every request to URLs matching `pattern` with `app`."""
    mock.sinks.append(pattern)

    for method in METHODS:

        async def callback(url: URL, *, _method: str = method, **kwargs: Any) -> CallbackResult:
            headers, body = _message(kwargs)
            intercepted = Intercepted(
                app,
                app_request(_method, str(url), headers, body, app.max_body),
                _read_timeout(kwargs.get("timeout")),
            )
            answer = await intercepted.run_async()
            if intercepted.timed_out:
                raise aiohttp.SocketTimeoutError(
                    f"Timeout on reading data from socket (read timeout={intercepted.read_timeout})"
                )
            if answer.status is None:
                raise aiohttp.ServerDisconnectedError()
            content_type = next(
                (v for k, v in answer.headers if k.lower() == "content-type"), "application/json"
            )
            return CallbackResult(
                status=answer.status,
                headers=dict(answer.headers),
                body=answer.body,
                content_type=content_type,
                response_class=_Response,
            )

        mock.add(pattern, method, callback=callback, repeat=True)


def _read_timeout(timeout: object) -> float | None:
    if isinstance(timeout, aiohttp.ClientTimeout):
        limits = [t for t in (timeout.total, timeout.sock_read) if t is not None]
        return min(limits) if limits else None
    return float(timeout) if isinstance(timeout, (int, float)) else None


def _message(kwargs: Mapping[str, Any]) -> tuple[list[tuple[str, str]], bytes]:
    """The headers and body aiohttp would have sent for these request arguments."""
    given = kwargs.get("headers") or {}
    items = list(given.items()) if isinstance(given, Mapping) else list(given)
    headers = [(str(k), str(v)) for k, v in items]
    data, body_json = kwargs.get("data"), kwargs.get("json")
    default_type: str | None = None
    if body_json is not None:
        body, default_type = json.dumps(body_json).encode("utf-8"), "application/json"
    elif data is None:
        body = b""
    elif isinstance(data, str):
        body, default_type = data.encode("utf-8"), "text/plain; charset=utf-8"
    elif isinstance(data, (bytes, bytearray, memoryview)):
        body, default_type = bytes(data), "application/octet-stream"
    elif isinstance(data, Mapping):
        body = urlencode(list(data.items())).encode("ascii")
        default_type = "application/x-www-form-urlencoded"
    elif isinstance(data, Iterable):
        body = b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in data)
    else:
        raise TypeError(
            f"mock mode for aiohttp reads bytes, str, dict or json= bodies, not {type(data)!r}"
        )
    if default_type and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", default_type))
    return headers, body
