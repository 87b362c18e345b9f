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

import requests
import responses

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.hosts.mock.intercept import Intercepted, app_request

__all__ = ["METHODS", "register"]

METHODS = ("POST", "PUT", "PATCH", "HEAD", "OPTIONS", "GET", "DELETE")


def register(mock: responses.RequestsMock, pattern: re.Pattern[str], app: DeliveryApp) -> None:
    """Answer every request to URLs matching `pattern` with `app`."""

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        intercepted = Intercepted(
            app,
            app_request(
                str(request.method),
                str(request.url),
                request.headers.items(),
                _body(request.body),
                app.max_body,
            ),
            _read_timeout(getattr(request, "req_kwargs", {})),
        )
        answer = intercepted.run()
        if intercepted.timed_out:
            raise requests.ReadTimeout(
                f"Read timed out (read timeout={intercepted.read_timeout})", request=request
            )
        if answer.status is None:
            raise requests.ConnectionError(
                "Connection aborted: the sink closed the connection without a response",
                request=request,
            )
        return answer.status, dict(answer.headers), answer.body

    for method in METHODS:
        mock.add_callback(method, pattern, callback=callback, content_type=None)


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
