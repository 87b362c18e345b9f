"""`Client` sends CloudEvents over real HTTP with `requests` (or in-process to a WSGI or
ASGI app) and returns a `Result`: ACK, NACK or UNDELIVERED, with the reply event when the
response carries one."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, final

import requests
from urllib3 import exceptions as urllib3_errors
from urllib3.util import Retry

from pytest_cloudevents.config import default
from pytest_cloudevents.errors import RetryAfterTooLong
from pytest_cloudevents.events import CloudEvent, EventLike
from pytest_cloudevents.extras import require
from pytest_cloudevents.platforms.contract import Call, Delivered, Response, run
from pytest_cloudevents.send.deadline import attempts
from pytest_cloudevents.send.message import Message, Sender, platform_response, too_large
from pytest_cloudevents.send.result import (
    Outcome,
    Result,
    ValidationError,
    classify,
    redact,
    undelivered,
)
from pytest_cloudevents.send.retry import CountingAdapter, Tries, counting, retry_of
from pytest_cloudevents.send.transports import App, Reply, call_asgi, call_wsgi
from pytest_cloudevents.tls import chosen_verify
from pytest_cloudevents.validate import check_seconds
from pytest_cloudevents.wire.compression import Inflater

__all__ = ["Client", "Outcome", "Result", "ValidationError", "redact"]


@final
class Client(Sender):
    """A real CloudEvents sender over `requests`, for testing consumers.

    `target` is the default URL or in-process app (or give `to=` per send); `mode` is
    "binary" or "structured"; `timeout` bounds each attempt in seconds, in all (a
    server that drips its answer is cut there: `DeadlineExceeded`);
    `retry` a urllib3 `Retry`, a number of retries (Knative's status set) or None;
    `headers` are sent with every message; `session` a `requests.Session` to use instead of
    the client's own; `validate=False` sends events that break the spec (otherwise they
    are UNDELIVERED and nothing is sent). Redirects are never followed.

    An app target is a WSGI callable (Flask, Django, functions-framework) or an ASGI one
    (FastAPI, Starlette; extra `httpx`, run through an anyio blocking portal); the same
    bytes go in, the same `Result` comes out, retries included.
    """

    def __init__(
        self,
        target: str | object | None = None,
        *,
        mode: str = "binary",
        timeout: float = default("send_timeout"),
        retry: Retry | int | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        validate: bool = True,
        verify: bool | str = True,
        compress: str | None = None,
        max_retry_after: float = default("max_retry_after"),
        max_response: int = default("max_response"),
    ) -> None:
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
        if session is not None and not isinstance(session, requests.Session):
            raise TypeError(f"session must be a requests.Session (or None), not {session!r}")
        self.retry = retry_of(retry)
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            # the client sends exactly what the test says: no ~/.netrc credentials, no
            # proxy from the environment (a session the user gives is used as given)
            session.trust_env = False
        self.session = session
        if self._own_session or retry is not None:
            adapter = CountingAdapter(
                max_retries=counting(self.retry), max_retry_after=self.max_retry_after
            )
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        self._portal: contextlib.ExitStack | None = None
        self._portal_call: Any = None
        self._single_session: requests.Session | None = None

    # -- sending -------------------------------------------------------------------------

    def send(
        self,
        event: EventLike,
        *,
        to: str | object | None = None,
        mode: str | None = None,
        headers: Mapping[str, str] | None = None,
        path: str | None = None,
        compress: str | None = None,
    ) -> Result:
        """Send one event; returns ACK, NACK or UNDELIVERED with the reply, if any.
        `path` is the request path for an app target (default "/")."""
        return self._deliver(self.event_message(event, to, mode, headers, path, compress))

    def request(
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
        result = self.send(event, to=to, mode=mode, headers=headers, path=path, compress=compress)
        return result.reply, result

    def send_batch(
        self,
        events: Iterable[EventLike],
        *,
        to: str | object | None = None,
        path: str | None = None,
        compress: str | None = None,
    ) -> Result:
        """Send events in one `application/cloudevents-batch+json` message."""
        return self._deliver(self.batch_message(events, to, path, compress))

    def send_raw(
        self,
        headers: Mapping[str, str],
        body: bytes | str,
        *,
        to: str | object | None = None,
        method: str = "POST",
        path: str | None = None,
    ) -> Result:
        """Send a message exactly as given (for malformed-message tests); no checks."""
        return self._deliver(self.raw_message(headers, body, to, method, path))

    def replay(
        self,
        recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        to: str | object | None = None,
        mode: str | None = None,
        path: str | None = None,
    ) -> list[Result]:
        """Send recorded events (conformance YAML as cloudevents/conformance, Knative's
        eventshub or `export` wrote them, or JSON lines; files or folders, folders in name
        order), one request each, in order: each in its recorded mode with its transport
        headers (`mode=` "binary"/"structured" to choose), nothing checked (a recorded
        malformed message replays malformed). The client's headers add to each (redacted
        credentials are left out, so the client supplies them). Returns each `Result`;
        a file that cannot be read raises ValueError naming it, before anything is sent."""
        messages = self.replay_messages(recordings, to, mode, path)
        return [self._deliver(message) for message in messages]

    def deliver(
        self,
        event: EventLike | Sequence[EventLike],
        *,
        to: str | object | None = None,
        platform: str | object,
        topic: str | None = None,
        time_scale: float = 0.0,
        path: str | None = None,
    ) -> Delivered:
        """Deliver `event` to the consumer at `to` (a URL or an app) the way `platform`
        delivers: its mode, headers and added attributes, its reading of every answer, its
        retry schedule and dead-lettering (see `platforms`). Time is virtual: the schedule
        is computed and reported, and slept for `time_scale` times its length (0: not at
        all). `topic` is the Dapr topic (the app's `/dapr/subscribe` routes it; a bulk
        subscription takes a list of events); `path` an app target's path ("/")."""
        plan, _ = self.plan_of(event, to, platform, topic)
        scale = check_seconds("time_scale", time_scale)
        return run(plan, lambda call: self.exchange(call, to=to, path=path), time.sleep, scale)

    def exchange(
        self, call: Call, *, to: str | object | None = None, path: str | None = None
    ) -> Response:
        """One request a platform makes (`platforms.contract.Call`), one attempt: the
        client's own retries do not apply (the platform has its own)."""
        message = self.call_message(call, to, path)
        started = time.monotonic()
        if message.app is not None:
            reply = self._call(message, message.app)
            return platform_response(
                reply.status, reply.headers, reply.body, None, time.monotonic() - started
            )
        verify = {"verify": chosen_verify(self.verify)}  # the platform session is the client's
        sent = self._transfer(self._single(), message, call.timeout or self.timeout, verify)
        elapsed = time.monotonic() - started
        if isinstance(sent, BaseException):
            return platform_response(None, (), b"", sent, elapsed)
        response, body, _ = sent
        return platform_response(
            response.status_code, list(response.headers.items()), body, None, elapsed
        )

    def _single(self) -> requests.Session:
        """The session of platform calls: the client's own when it makes no retries, else
        one of a single attempt each."""
        if self._own_session and not self.retry.total:
            return self.session
        if self._single_session is None:
            session = requests.Session()
            session.trust_env = False
            adapter = CountingAdapter(max_retries=counting(retry_of(None)))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._single_session = session
        return self._single_session

    def close(self) -> None:
        """Close the client's own session (a session given to it is left open) and the
        portal of ASGI deliveries."""
        if self._single_session is not None:
            self._single_session.close()
            self._single_session = None
        if self._own_session:
            self.session.close()
        if self._portal is not None:
            self._portal.close()
            self._portal = None

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------

    def _deliver(self, message: Message | Result) -> Result:
        if isinstance(message, Result):
            return message
        if message.app is not None:
            return self._to_app(message, message.app)
        started = time.monotonic()
        extra: dict[str, Any] = {}
        if self._own_session or self.verify is not True:
            extra["verify"] = chosen_verify(self.verify)
        sent = self._transfer(self.session, message, self.timeout, extra)
        if isinstance(sent, BaseException):
            return undelivered(
                message.url,
                sent,
                elapsed=time.monotonic() - started,
                attempts=self._attempts(message.url, None),
            )
        response, body, cut = sent
        result = classify(
            message.url,
            response.status_code,
            response.headers,
            body,
            elapsed=time.monotonic() - started,
            attempts=self._attempts(message.url, response),
        )
        if cut:
            result = replace(result, error=too_large(self.max_response))
        adapter = self.session.get_adapter(message.url)
        stopped = adapter.stopped() if isinstance(adapter, CountingAdapter) else None
        return result if stopped is None else replace(result, error=RetryAfterTooLong(stopped))

    def _transfer(
        self,
        session: requests.Session,
        message: Message,
        timeout: float,
        extra: dict[str, Any],
    ) -> tuple[requests.Response, bytes, bool] | BaseException:
        """One request on `session`, `timeout` seconds in all for each attempt, and at most
        `max_response` of the decoded body read: the response, the body and whether it was
        cut, or the transport error (a deadline's own when it ran out). A URL no request
        can go to raises ValueError."""
        try:
            with attempts(timeout) as scope:  # each attempt: timeout seconds in all
                response = session.request(
                    message.method,
                    message.url,
                    headers=message.headers,
                    data=message.body,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,  # the body is read below, at most max_response of it
                    **extra,
                )
                with response:
                    body, cut = _read_bounded(response, self.max_response)
                    scope.finish()  # before the connection returns to the pool
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise ValueError(f"cannot send to {message.url!r}: {exc}") from exc
        except (requests.RequestException, urllib3_errors.HTTPError) as exc:
            return scope.error() if scope.expired and not _timed_out(exc) else exc
        return response, body, cut

    def _to_app(self, message: Message, app: App) -> Result:
        started = time.monotonic()
        tries = Tries(self.retry, message, self.max_retry_after)
        while True:
            tries.count += 1
            reply = self._call(message, app)
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
                return tries.finish(result)
            time.sleep(wait)

    def _call(self, message: Message, app: App) -> Reply:
        args = (app.app, message.method, message.url, message.headers, message.body)
        if app.kind == "wsgi":
            return call_wsgi(*args)
        if self._portal is None:
            require("anyio", "delivering to an ASGI app")
            from anyio.from_thread import start_blocking_portal

            stack = contextlib.ExitStack()
            self._portal_call = stack.enter_context(start_blocking_portal()).call
            self._portal = stack
        reply: Reply = self._portal_call(call_asgi, *args)
        return reply

    def _attempts(self, url: str, response: requests.Response | None) -> int:
        adapter = self.session.get_adapter(url)
        if isinstance(adapter, CountingAdapter):
            return adapter.attempts()
        retries = getattr(getattr(response, "raw", None), "retries", None)
        history = getattr(retries, "history", None)
        return 1 + len(history) if history else 1

    def __repr__(self) -> str:
        return f"<Client target={self._shown_target()!r} mode={self.mode}>"


def _timed_out(error: BaseException) -> bool:
    """Whether urllib3's own (per-read or connect) timeout ended the attempt."""
    return isinstance(
        error, (requests.Timeout, urllib3_errors.TimeoutError, TimeoutError, socket.timeout)
    )


def _read_bounded(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the decoded body, and whether there was more: the raw
    bytes are read and decoded here, so a compressed bomb costs at most `limit`."""
    inflater = Inflater(response.headers, limit)
    for chunk in response.raw.stream(64 * 1024, decode_content=False):
        if inflater.feed(chunk):
            break
    return inflater.body, inflater.cut
