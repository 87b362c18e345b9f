"""Mock mode for httpx, sync and async, through `respx` (extra `httpx`).

A `disconnect` raises `httpx.RemoteProtocolError` (what httpx raises when a server closes
the connection without a response); a `delay` longer than the request's read timeout
raises `httpx.ReadTimeout`. With `httpx.AsyncClient` the delay is awaited: the event loop
runs on meanwhile. httpx retries nothing by itself.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable
from typing import Any

import httpx
import respx
from respx.models import RouteList

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.exchange import Answer
from pytest_cloudevents.hosts.mock.intercept import Intercepted, app_request

__all__ = ["Router", "register", "release", "start", "stop"]

#: True while the router resolves a request of an async client.
_ASYNC: contextvars.ContextVar[bool] = contextvars.ContextVar("cloudevents_async", default=False)
_LOOPBACK = "cloudevents-loopback"
_SINKS = "cloudevents-sinks"


class Router(respx.MockRouter):
    """respx's router, telling its side effects whether the client awaits them, with the
    sinks it answers for (`sinks`: patterns and apps, matched in order). A `dormant`
    router (held for the next test, see `stop`) passes every request through."""

    sinks: list[tuple[re.Pattern[str], DeliveryApp]]
    dormant: bool
    made: RouteList  # its own two routes

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _ASYNC.set(True)
        try:
            return await super().async_handler(request)
        finally:
            _ASYNC.reset(token)


#: Stopped routers, by the loopback pattern they let through, kept for the next test:
#: making one and its routes (respx's call lists are mocks) costs more than a whole test.
_IDLE: dict[str, list[Router]] = {}
#: A router held started after its test, dormant, for the next test that mocks httpx:
#: starting one patches twelve httpcore methods, a third of a test's cost (`release`).
_HELD: dict[str, Router] = {}


def start(loopback: re.Pattern[str]) -> Router:
    """A started router that answers for its sinks, lets loopback through and fails any
    other unmatched URL.

    It mocks httpcore (respx's default: answers stream as a server's do). Its two routes
    are made once: the first answers for whichever sink matches (a sink's URL is matched
    as respx matches `url__regex`), the second lets loopback through."""
    router = _HELD.pop(loopback.pattern, None)
    if router is not None:
        router.dormant = False
        return router
    idle = _IDLE.get(loopback.pattern)
    if idle:
        router = idle.pop()
    else:
        router = Router(assert_all_called=False, assert_all_mocked=True)
        router.sinks, router.dormant = [], False
        router.route(name=_SINKS).mock(side_effect=_dispatcher(router))
        router.route(url__regex=loopback.pattern, name=_LOOPBACK).pass_through()
        router.made = RouteList(router.routes)
    router.start()  # its routes are kept as they are now; `stop` returns to them
    return router


def stop(router: Router, loopback: re.Pattern[str], *, hold: bool = False) -> None:
    """Stop a router from `start` (its sinks and the routes added since are dropped), to
    be used again. With `hold`, it stays started but dormant (every request passes
    through, as with no mock) until the next `start` takes it or `release` stops it."""
    router.sinks = []
    if hold:
        router.routes[:] = router.made
        router.reset()
        router.dormant = True
        previous = _HELD.pop(loopback.pattern, None)
        _HELD[loopback.pattern] = router
        if previous is not None:
            _stop(previous, loopback.pattern)
        return
    _stop(router, loopback.pattern)


def release() -> None:
    """Stop the routers held for a next test (httpx is not patched any more)."""
    while _HELD:
        pattern, router = _HELD.popitem()
        _stop(router, pattern)


def _stop(router: Router, pattern: str) -> None:
    router.dormant = False
    router.stop()
    _IDLE.setdefault(pattern, []).append(router)


def register(router: Router, pattern: re.Pattern[str], app: DeliveryApp) -> None:
    """Answer every request to URLs matching `pattern` with `app` (before loopback passes
    and before any route added to the router)."""
    router.sinks.append((pattern, app))


def _dispatcher(router: Router) -> Callable[[httpx.Request], Any]:
    """`_dispatch` for `router`, as a plain function (respx reads a side effect's
    signature at every call: a partial's takes twice as long)."""

    def side_effect(request: httpx.Request) -> Any:
        return _dispatch(router, request)

    return side_effect


def _dispatch(router: Router, request: httpx.Request) -> Any:
    """The sinks' route: the answer of the first sink whose pattern matches, else None
    (respx then tries the next route)."""
    if router.dormant:  # held between tests: as if nothing were mocked
        return request
    url = request.url
    text = str(url if url.raw_path else url.copy_with(path="/"))
    for pattern, app in router.sinks:
        if pattern.search(text) is not None:
            if _ASYNC.get():
                return _answer_async(request, text, app)
            intercepted = _intercepted(request, text, request.read(), app)
            return _reply(request, intercepted, intercepted.run())
    return None


async def _answer_async(request: httpx.Request, url: str, app: DeliveryApp) -> httpx.Response:
    intercepted = _intercepted(request, url, await request.aread(), app)
    return _reply(request, intercepted, await intercepted.run_async())


def _intercepted(request: httpx.Request, url: str, body: bytes, app: DeliveryApp) -> Intercepted:
    timeout = request.extensions.get("timeout", {}).get("read")
    return Intercepted(
        app,
        app_request(
            request.method,
            url,
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
