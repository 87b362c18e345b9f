"""Mock mode for `requests`, through `responses`.

Differences from the real server, all from `responses`: a `disconnect` raises
`requests.ConnectionError`; a `delay` waits for the delay or the request's read timeout,
whichever is shorter, and raises `requests.ReadTimeout` when the timeout is shorter (the
delivery is then `abandoned`); urllib3 retries by status are replayed without any backoff
or `Retry-After` wait, and exceptions are not retried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import responses

from ..app import CUT, ELAPSED, GONE, DeliveryApp, Hold, HoldEnd, Request
from ..wire import HeaderMap

__all__ = ["register"]

_METHODS = ("POST", "PUT", "PATCH", "HEAD", "OPTIONS", "GET", "DELETE")


def register(mock: responses.RequestsMock, pattern: re.Pattern[str], app: DeliveryApp) -> None:
    """Answer every request to URLs matching `pattern` with `app`."""

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        read_timeout = _read_timeout(getattr(request, "req_kwargs", {}))
        timed_out = False

        def hold(step: Hold) -> HoldEnd:
            nonlocal timed_out
            seconds = step.seconds
            if read_timeout is not None and read_timeout < seconds:
                timed_out, seconds = True, read_timeout
            if step.cancel.wait(seconds):
                return CUT
            return GONE if timed_out else ELAPSED

        answer = app.run(_request(request, app.options.max_body), hold)
        if timed_out:
            raise requests.ReadTimeout(
                f"Read timed out (read timeout={read_timeout})", request=request
            )
        if answer.status is None:
            raise requests.ConnectionError(
                "Connection aborted: the sink closed the connection without a response",
                request=request,
            )
        return answer.status, dict(answer.headers), answer.body

    for method in _METHODS:
        mock.add_callback(method, pattern, callback=callback, content_type=None)


def _request(request: requests.PreparedRequest, limit: int) -> Request:
    """The app's view of an intercepted request, as the real server would build it."""
    parts = urlsplit(str(request.url))
    body = _body(request.body)
    headers = HeaderMap()
    for name, value in request.headers.items():  # every header as sent, `_` names too
        headers.lowered[name.lower()] = value
    headers.lowered["content-length"] = str(len(body))
    return Request(
        method=str(request.method).upper(),
        path=unquote(parts.path or "/", encoding="latin-1"),
        headers=headers,
        body=b"" if len(body) > limit else body,
        query=parts.query,
        remote_addr="127.0.0.1",
        too_large=len(body) > limit,
        declared_length=len(body),
    )


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
