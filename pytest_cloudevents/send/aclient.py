"""`AsyncClient`: the `Client` for async tests, on httpx (extra `httpx`).

It shares the encoder and the result classifier with `Client` (`sending.py`) and drives
the same urllib3 `Retry` by hand (its status set, its backoff, `Retry-After`), sleeping
without blocking the event loop. Works under asyncio and trio (through anyio).
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, final

from urllib3.util import Retry

from pytest_cloudevents.config import default
from pytest_cloudevents.errors import DeadlineExceeded
from pytest_cloudevents.events import CloudEvent, EventLike
from pytest_cloudevents.extras import require
from pytest_cloudevents.platforms.contract import Call, Delivered, Response, arun
from pytest_cloudevents.send.deadline import deadline_error, total
from pytest_cloudevents.send.message import Message, Sender, platform_response, too_large
from pytest_cloudevents.send.result import Result, classify, undelivered
from pytest_cloudevents.send.retry import Tries, retry_of
from pytest_cloudevents.send.transports import App, Reply, call_asgi, call_wsgi
from pytest_cloudevents.tls import chosen_verify
from pytest_cloudevents.validate import check_bool, check_seconds
from pytest_cloudevents.wire.compression import Inflater

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncClient"]


@final
class AsyncClient(Sender):
    """A real CloudEvents sender for coroutines, built on `httpx.AsyncClient`.

    The keywords are `Client`'s; `session` is an `httpx.AsyncClient` to use as given
    instead of the client's own; `keepalive=False` opens a connection per send (nothing
    outlives the event loop of the send: what `ce_async_client` uses). A target is a URL,
    a WSGI app (called in a worker thread) or an ASGI app (called on the test's loop).
    `await client.aclose()` or `async with AsyncClient(...) as client:` closes it.
    """

    def __init__(
        self,
        target: str | object | None = None,
        *,
        mode: str = "binary",
        timeout: float = default("send_timeout"),
        retry: Retry | int | None = None,
        headers: Mapping[str, str] | None = None,
        session: httpx.AsyncClient | None = None,
        validate: bool = True,
        verify: bool | str = True,
        compress: str | None = None,
        max_retry_after: float = default("max_retry_after"),
        max_response: int = default("max_response"),
        keepalive: bool = True,
    ) -> None:
        httpx = require("httpx", "AsyncClient")
        super().__init__(
            target,
            mode=mode,
            timeout=timeout,
            headers=headers,
            validate=validate,
            verify=verify,
            compress=compress,
            max_retry_after=max_retry_after,
            max_response=max_response,
        )
        check_bool("keepalive", keepalive)
        self.keepalive = keepalive
        self._trusting: bool | str | None = None  # what the own session verifies against
        if session is not None and not isinstance(session, httpx.AsyncClient):
            raise TypeError(f"session must be an httpx.AsyncClient (or None), not {session!r}")
        self.retry = retry_of(retry)
        self._own_session = session is None
        self._session = session
        self._httpx = httpx

    @property
    def session(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` sends go through (made on first use)."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> httpx.AsyncClient:
        # like Client: no proxy or ~/.netrc from the environment, no redirects
        self._trusting = chosen_verify(self.verify)
        verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=self._trusting)
            if isinstance(self._trusting, str)
            else self._trusting
        )
        limits = (
            self._httpx.Limits()
            if self.keepalive
            else self._httpx.Limits(max_keepalive_connections=0)
        )
        made: httpx.AsyncClient = self._httpx.AsyncClient(
            trust_env=False, follow_redirects=False, verify=verify, limits=limits
        )
        return made

    async def _current_session(self) -> httpx.AsyncClient:
        """The session, remade when the plugin's CA appeared since it was made."""
        if (
            self._own_session
            and self._session is not None
            and chosen_verify(self.verify) != self._trusting
        ):
            await self._session.aclose()
            self._session = None
        return self.session

    # -- sending -------------------------------------------------------------------------

    async def send(
        self,
        event: EventLike,
        *,
        to: str | object | None = None,
        mode: str | None = None,
        headers: Mapping[str, str] | None = None,
        path: str | None = None,
        compress: str | None = None,
    ) -> Result:
        """Send one event; returns ACK, NACK or UNDELIVERED with the reply, if any."""
        return await self._deliver(self.event_message(event, to, mode, headers, path, compress))

    async def request(
        self,
        event: EventLike,
        *,
        to: str | object | None = None,
        mode: str | None = None,
        headers: Mapping[str, str] | None = None,
        path: str | None = None,
        compress: str | None = None,
    ) -> tuple[CloudEvent | None, Result]:
        """Send one event and return `(reply, result)`; reply is None without one."""
        result = await self.send(
            event, to=to, mode=mode, headers=headers, path=path, compress=compress
        )
        return result.reply, result

    async def send_batch(
        self,
        events: Iterable[EventLike],
        *,
        to: str | object | None = None,
        path: str | None = None,
        compress: str | None = None,
    ) -> Result:
        """Send events in one `application/cloudevents-batch+json` message."""
        return await self._deliver(self.batch_message(events, to, path, compress))

    async def send_raw(
        self,
        headers: Mapping[str, str],
        body: bytes | str,
        *,
        to: str | object | None = None,
        method: str = "POST",
        path: str | None = None,
    ) -> Result:
        """Send a message exactly as given (for malformed-message tests); no checks."""
        return await self._deliver(self.raw_message(headers, body, to, method, path))

    async def replay(
        self,
        recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        to: str | object | None = None,
        mode: str | None = None,
        path: str | None = None,
    ) -> list[Result]:
        """`Client.replay`, awaited: recorded events sent one after another."""
        messages = self.replay_messages(recordings, to, mode, path)
        return [await self._deliver(message) for message in messages]

    async def deliver(
        self,
        event: EventLike | Sequence[EventLike],
        *,
        to: str | object | None = None,
        platform: str | object,
        topic: str | None = None,
        time_scale: float = 0.0,
        path: str | None = None,
    ) -> Delivered:
        """`Client.deliver`, awaited: the platform's delivery of `event` to `to`."""
        import anyio

        plan, _ = self.plan_of(event, to, platform, topic)
        scale = check_seconds("time_scale", time_scale)

        async def exchange(call: Call) -> Response:
            return await self.exchange(call, to=to, path=path)

        return await arun(plan, exchange, anyio.sleep, scale)

    async def exchange(
        self, call: Call, *, to: str | object | None = None, path: str | None = None
    ) -> Response:
        """One request a platform makes, one attempt (`Client.exchange`)."""
        message = self.call_message(call, to, path)
        started = time.monotonic()
        try:
            reply = await self._call(message, call.timeout)
        except self._httpx.TransportError as exc:
            if isinstance(exc, self._httpx.UnsupportedProtocol):
                raise ValueError(f"cannot send to {message.url!r}: {exc}") from exc
            late = exc.__cause__
            error = late if isinstance(late, DeadlineExceeded) else exc
            return platform_response(None, (), b"", error, time.monotonic() - started)
        return platform_response(
            reply.status, reply.headers, reply.body, None, time.monotonic() - started
        )

    async def aclose(self) -> None:
        """Close the client's own httpx client (one given to it is left open)."""
        if self._own_session and self._session is not None:
            await self._session.aclose()
            self._session = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- helpers ---------------------------------------------------------------------------

    async def _deliver(self, message: Message | Result) -> Result:
        if isinstance(message, Result):
            return message
        import anyio

        started = time.monotonic()
        tries = Tries(self.retry, message, self.max_retry_after)
        while True:
            tries.count += 1
            try:
                reply = await self._call(message)
            except self._httpx.TransportError as exc:
                if isinstance(exc, self._httpx.UnsupportedProtocol):
                    raise ValueError(f"cannot send to {message.url!r}: {exc}") from exc
                connecting = isinstance(exc, (self._httpx.ConnectError, self._httpx.ConnectTimeout))
                wait = tries.after_error(exc, connecting=connecting)
                if wait is None:
                    late = exc.__cause__
                    return undelivered(
                        message.url,
                        late if isinstance(late, DeadlineExceeded) else exc,
                        elapsed=time.monotonic() - started,
                        attempts=tries.count,
                    )
            else:
                wait = tries.after_reply(reply)
                if wait is None:
                    result = classify(
                        message.url,
                        reply.status,
                        reply.headers,
                        reply.body,
                        elapsed=time.monotonic() - started,
                        attempts=tries.count,
                    )
                    if reply.cut:
                        result = replace(result, error=too_large(self.max_response))
                    return tries.finish(result)
            await anyio.sleep(wait)

    async def _call(self, message: Message, timeout: float | None = None) -> Reply:
        app: App | None = message.app
        if app is not None:
            args: tuple[Any, ...] = (
                app.app,
                message.method,
                message.url,
                message.headers,
                message.body,
            )
            if app.kind == "asgi":
                return await call_asgi(*args)
            import anyio.to_thread

            return await anyio.to_thread.run_sync(call_wsgi, *args)
        session = await self._current_session()
        request = session.build_request(
            message.method,
            message.url,
            headers=message.headers,
            content=message.body,
            timeout=timeout or self.timeout,
        )
        import anyio

        try:
            with anyio.fail_after(total(timeout or self.timeout)):  # each attempt: a total deadline
                response = await session.send(request, stream=True)
                # at most max_response of the decoded body: the raw bytes are read and
                # decoded here (httpx would inflate each chunk whole), so a bomb costs no more
                inflater = Inflater(response.headers, self.max_response)
                try:
                    async for chunk in response.aiter_raw():
                        if inflater.feed(chunk):
                            break
                finally:
                    await response.aclose()
        except TimeoutError:  # read as httpx's own timeout, for the retry rules
            error = deadline_error(timeout or self.timeout)
            raise self._httpx.ReadTimeout(str(error), request=request) from error
        headers = list(response.headers.multi_items())
        return Reply(response.status_code, headers, inflater.body, inflater.cut)

    def __repr__(self) -> str:
        return f"<AsyncClient target={self._shown_target()!r} mode={self.mode}>"
