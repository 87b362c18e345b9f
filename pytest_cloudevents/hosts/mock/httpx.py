"""Mock mode for httpx, sync and async, through `respx` (extra `httpx`).

A `disconnect` raises `httpx.RemoteProtocolError` (what httpx raises when a server closes
the connection without a response); a `delay` longer than the request's read timeout
raises `httpx.ReadTimeout`. With `httpx.AsyncClient` the delay is awaited: the event loop
runs on meanwhile. httpx retries nothing by itself.
"""

from __future__ import annotations

import contextvars
import re
from typing import Any

import httpx
import respx

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.exchange import Answer
from pytest_cloudevents.hosts.mock.intercept import Intercepted, app_request

__all__ = ["Router", "register"]

#: True while the router resolves a request of an async client.
_ASYNC: contextvars.ContextVar[bool] = contextvars.ContextVar("cloudevents_async", default=False)
_LOOPBACK = "cloudevents-loopback"


class Router(respx.MockRouter):
    """respx's router, telling its side effects whether the client awaits them."""

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _ASYNC.set(True)
        try:
            return await super().async_handler(request)
        finally:
            _ASYNC.reset(token)


def start(loopback: re.Pattern[str]) -> Router:
    """A started router that lets loopback through and fails any other unmatched URL."""
    router = Router(assert_all_called=False, assert_all_mocked=True)
    router.route(url__regex=loopback.pattern, name=_LOOPBACK).pass_through()
    router.start()
    return router


def register(router: respx.MockRouter, pattern: re.Pattern[str], app: DeliveryApp) -> None:
    """Answer every request to URLs matching `pattern` with `app` (before loopback passes)."""

    def side_effect(request: httpx.Request) -> Any:
        if _ASYNC.get():
            return _answer_async(request, app)
        intercepted = _intercepted(request, request.read(), app)
        return _reply(request, intercepted, intercepted.run())

    loopback = router.routes.pop(_LOOPBACK, None)  # type: ignore[no-untyped-call]
    router.route(url__regex=pattern.pattern).mock(side_effect=side_effect)
    if loopback is not None:  # sinks are matched first, even on a loopback prefix
        router.routes.add(loopback, name=_LOOPBACK)


async def _answer_async(request: httpx.Request, app: DeliveryApp) -> httpx.Response:
    intercepted = _intercepted(request, await request.aread(), app)
    return _reply(request, intercepted, await intercepted.run_async())


def _intercepted(request: httpx.Request, body: bytes, app: DeliveryApp) -> Intercepted:
    timeout = request.extensions.get("timeout", {}).get("read")
    return Intercepted(
        app,
        app_request(
            request.method,
            str(request.url),
            request.headers.multi_items(),
            body,
            app.max_body,
        ),
        float(timeout) if isinstance(timeout, (int, float)) else None,
    )


def _reply(request: httpx.Request, intercepted: Intercepted, answer: Answer) -> httpx.Response:
    if intercepted.timed_out:
        raise httpx.ReadTimeout(
            f"timed out (read timeout={intercepted.read_timeout})", request=request
        )
    if answer.status is None:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    return httpx.Response(answer.status, headers=answer.headers, content=answer.body)
