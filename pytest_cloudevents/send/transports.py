"""Deliver to a WSGI or ASGI application in-process, with no socket.

A WSGI app (Flask, Django, functions-framework's `create_app`) is called through
werkzeug's test machinery; an ASGI app (FastAPI, Starlette) through httpx's
`ASGITransport` (extra `httpx`). An app whose `__call__` is a coroutine function is ASGI;
any other callable is WSGI. What the app raises propagates to the test, as in the
frameworks' own test clients.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from werkzeug.test import EnvironBuilder, run_wsgi_app

from pytest_cloudevents.extras import require

__all__ = ["App", "Reply", "as_app", "call_asgi", "call_wsgi"]


@dataclass(frozen=True)
class App:
    """An in-process target: the application and the protocol it speaks."""

    app: Any
    kind: Literal["wsgi", "asgi"]

    def __repr__(self) -> str:
        return f"<{self.kind.upper()} app {self.app!r}>"


@dataclass(frozen=True)
class Reply:
    """What an app answered."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: the body was longer than the client reads (`max_response`): `body` is its start
    cut: bool = False


def as_app(target: object) -> App | None:
    """`target` as an in-process app, or None when it is not callable."""
    if isinstance(target, App):
        return target
    if not callable(target) or isinstance(target, type):
        return None
    call = target if inspect.isroutine(target) else type(target).__call__
    kind: Literal["wsgi", "asgi"] = "asgi" if inspect.iscoroutinefunction(call) else "wsgi"
    return App(target, kind)


def call_wsgi(app: Any, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Reply:
    """One request through a WSGI app, as werkzeug's test client makes it."""
    builder = EnvironBuilder(
        path=url.removeprefix("http://testserver"),
        base_url="http://testserver",
        method=method,
        headers=list(headers.items()),
        data=body,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    chunks, status, answer = run_wsgi_app(app, environ, buffered=True)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Reply(int(status.split(" ", 1)[0]), list(answer.items()), data)


async def call_asgi(
    app: Any, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> Reply:
    """One request through an ASGI app, with httpx's `ASGITransport`."""
    httpx = require("httpx", "delivering to an ASGI app")
    transport = httpx.ASGITransport(app=app)
    request = httpx.Request(method, url, headers=list(headers.items()), content=body)
    response = await transport.handle_async_request(request)
    try:
        data = await response.aread()
    finally:
        await response.aclose()
    return Reply(response.status_code, list(response.headers.multi_items()), data)
