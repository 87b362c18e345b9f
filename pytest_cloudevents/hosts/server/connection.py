"""One client connection of the receiver's server: h11 parses, the delivery app answers,
one request at a time; holds are timers on the loop, user code runs in the server's pool."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import Any, Final, Protocol
from urllib.parse import unquote, urlsplit

import h11

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.driver import Delivering, advance, drive_async
from pytest_cloudevents.delivery.exchange import CUT, ELAPSED, GONE, Answer, Hold, HoldEnd, Request
from pytest_cloudevents.hosts.server.limits import Limits
from pytest_cloudevents.hosts.server.mount import Mount, Stream
from pytest_cloudevents.tls import TLSInfo, describe_peer
from pytest_cloudevents.wire import Headers

__all__ = ["Connection", "Server", "settle"]


class Server(Protocol):
    """What a connection needs of the server that accepted it."""

    app: DeliveryApp
    mount: Mount | None
    connections: set[Connection]
    tasks: set[asyncio.Task[None]]
    holds: dict[asyncio.Future[HoldEnd], threading.Event]
    accepted: int
    closing: bool
    limits: Limits

    @property
    def pool(self) -> Executor:
        """Where user code runs."""


#: Bytes a client may pipeline ahead while a delivery is being answered.
_MAX_AHEAD: Final[int] = 1024 * 1024
_REFUSED: Final[bytes] = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)
_BODY_METHODS: Final[frozenset[bytes]] = frozenset({b"POST", b"PUT", b"PATCH"})


class Connection(asyncio.Protocol):
    """One client connection: h11 parses, the app answers, one request at a time."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.h11 = h11.Connection(h11.SERVER)
        self.transport: asyncio.Transport | None = None
        self.peer: str | None = None
        self.busy = False  # a request is being answered
        self.gone = False
        self.head: h11.Request | None = None
        self.declared: int | None = None  # the Content-Length of the current request
        self.body: list[bytes] = []
        self.size = 0
        self.hold: asyncio.Future[HoldEnd] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.left: asyncio.Event | None = None  # made for a mount's request
        self.tls: TLSInfo | None = None

    # -- transport events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.accepted += 1
        if self.server.closing:
            transport.abort()
            return
        if len(self.server.connections) >= self.server.limits.max_connections:
            transport.write(_REFUSED)
            transport.close()
            return
        self.server.connections.add(self)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else None
        self.tls = describe_peer(transport.get_extra_info("ssl_object"))
        self._arm(self.server.limits.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if self.h11.their_state is h11.IDLE and not self.busy and self.head is None:
            self._arm(
                self.server.limits.request_timeout
            )  # a request begins: it must arrive whole in time
        self.h11.receive_data(data)
        if self.busy:
            if len(self.h11.trailing_data[0]) > _MAX_AHEAD and self.transport is not None:
                self.transport.pause_reading()
            return
        self._process()

    def eof_received(self) -> bool:
        self._client_left()
        # keep the write side open: an answer may still be owed (TLS cannot half-close)
        return self.tls is None

    def connection_lost(self, exc: Exception | None) -> None:
        self._client_left()
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def _client_left(self) -> None:
        if self.gone:
            return
        self.gone = True
        if self.left is not None:
            self.left.set()
        if self.hold is not None and not self.hold.done():
            self.hold.set_result(GONE)
        if not self.busy and self.head is not None:  # the body never ended: abandoned
            self._start(self._request(incomplete=True))
        elif not self.busy:
            self._close()

    # -- parsing ---------------------------------------------------------------------------

    def _process(self) -> None:
        """Feed h11's events until it needs more data or a request is complete."""
        while not self.busy and self.transport is not None:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._malformed(str(exc) or type(exc).__name__)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.head, self.body, self.size = event, [], 0
                self.declared = _content_length(event)
                if self.h11.they_are_waiting_for_100_continue:
                    self.transport.write(
                        self.h11.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                if (self.declared or 0) > self.server.app.max_body:
                    self._start(self._request())  # 413 at once; the connection then closes
                    return
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size <= self.server.app.max_body:
                    self.body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                if not self._start(self._request()):
                    return  # answered later, by a task
                # answered at once: go on with any pipelined request
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                return

    def _request(self, *, incomplete: bool = False, malformed: str | None = None) -> Request:
        head = self.head
        assert head is not None
        headers = Headers(  # names exactly as sent
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in head.headers.raw_items()
        )
        target = urlsplit(head.target.decode("latin-1"))
        return Request.from_http(
            head.method.decode("ascii", "replace"),
            unquote(target.path or "/", encoding="latin-1"),
            headers,
            b"".join(self.body),
            max_body=self.server.app.max_body,
            received=self.size,
            declared_length=self.declared,
            query=target.query,
            remote_addr=self.peer,
            malformed=malformed,
            incomplete=incomplete,
            tls=self.tls,
        )

    def _malformed(self, reason: str) -> None:
        """Broken framing: a message-carrying request is recorded and answered 400 by the
        app; anything else gets a plain 400. The connection then closes."""
        if self.head is not None and self.head.method in _BODY_METHODS:
            self._start(self._request(malformed=reason))
            return
        if self.transport is not None:
            body = f"malformed HTTP/1.1 request: {reason}\n".encode()
            self.transport.write(
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain;"
                b" charset=utf-8\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
        self._close()

    # -- answering -------------------------------------------------------------------------

    def _start(self, request: Request) -> bool:
        """Deliver a request; True when it was answered at once (no user code to run and
        no hold), False when a task will answer it."""
        self.busy = True
        if self.timer is not None:
            self.timer.cancel()
        mount = self.server.mount
        if (
            mount is not None
            and not request.malformed
            and not request.incomplete
            and mount.owns(request.path)
        ):
            self._spawn(self._mounted(mount, request))
            return False
        app = self.server.app
        pooled = app.needs_thread(request)  # the app says whether user code runs
        steps = app.deliver(request)
        first: Hold | Answer | None = None
        if not pooled:
            first = advance(steps, None)
            if isinstance(first, Answer):
                return self._respond(first, request, resume=False)
        self._spawn(self._deliver(steps, first, pooled, request))
        return False

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _mounted(self, mount: Mount, request: Request) -> None:
        """A request for the mount (never recorded): its answer, or its stream."""
        self.left = asyncio.Event()
        if self.gone:
            self.left.set()
        try:
            reply: Answer | Stream = await mount.handle(request, self.left)
        except Exception as exc:  # a bug in the mount: answer, never leave the client hanging
            body = f"internal error: {type(exc).__name__}: {exc}\n".encode("utf-8", "replace")
            reply = Answer(500, [("Content-Type", "text/plain; charset=utf-8")], body)
        if isinstance(reply, Answer):
            self._respond(reply, request, resume=True)
            return
        await self._stream(reply)

    async def _stream(self, stream: Stream) -> None:
        """Send a streamed response chunk by chunk, then close the connection."""
        transport = self.transport
        try:
            if transport is None or transport.is_closing():
                return
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers]
            transport.write(
                self.h11.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))
            )
            async for chunk in stream.chunks:
                if self.gone or transport.is_closing():
                    break
                transport.write(self.h11.send(h11.Data(data=chunk)))
        except h11.LocalProtocolError:
            pass
        finally:
            aclose = getattr(stream.chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            self._close()

    async def _deliver(
        self, steps: Delivering, first: Hold | Answer | None, pooled: bool, request: Request
    ) -> None:
        pool = self.server.pool
        loop = asyncio.get_running_loop()

        async def in_pool(steps: Delivering, value: HoldEnd | None) -> Hold | Answer:
            return await loop.run_in_executor(pool, advance, steps, value)

        try:
            answer = await drive_async(
                steps, self._hold, first=first, run=in_pool if pooled else None
            )
        except Exception:  # the pool was shut down (stop): nothing more to answer
            self._close()
            return
        self._respond(answer, request, resume=True)

    async def _hold(self, step: Hold) -> HoldEnd:
        """Hold a delivery on the loop: a timer, cut short by reset/stop or the client
        leaving."""
        if step.cancel.is_set():
            return CUT
        if self.gone:
            return GONE
        loop = asyncio.get_running_loop()
        self.hold = loop.create_future()
        self.server.holds[self.hold] = step.cancel
        if step.cancel.is_set():  # a reset between the first check and the registration
            settle(self.hold, CUT)
        timer = loop.call_later(step.seconds, settle, self.hold, ELAPSED)
        try:
            return await self.hold
        finally:
            timer.cancel()
            self.server.holds.pop(self.hold, None)
            self.hold = None

    def _respond(self, answer: Answer, request: Request, *, resume: bool) -> bool:
        """Write the answer; True when the connection is ready for the next request.
        With `resume`, go on at once with any request pipelined behind this one."""
        transport = self.transport
        self.head = None
        if transport is None or transport.is_closing():
            return False
        if answer.status is None or request.malformed is not None or request.incomplete:
            if answer.status is not None:
                self._write_raw(answer)
            self._close()
            return False
        try:
            headers = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.framed_headers()
            ]
            transport.write(
                self.h11.send(
                    h11.Response(
                        status_code=answer.status,
                        headers=headers,
                        reason=answer.reason.encode("latin-1"),
                    )
                )
                + self.h11.send(h11.Data(data=answer.body))
                + self.h11.send(h11.EndOfMessage())
            )
        except h11.LocalProtocolError:
            self._close()
            return False
        if (
            self.gone
            or self.h11.our_state is h11.MUST_CLOSE
            or self.h11.their_state is not h11.DONE
        ):
            self._close()  # the client left, Connection: close, or a body we did not read
            return False
        self.h11.start_next_cycle()
        self.busy = False
        transport.resume_reading()
        self._arm(self.server.limits.idle_timeout)
        if resume:
            self._process()  # a pipelined request may be waiting
        return True

    def _write_raw(self, answer: Answer) -> None:
        """An answer after broken framing, which h11 will not send on a failed connection."""
        assert self.transport is not None
        lines = [f"HTTP/1.1 {answer.status} {answer.reason}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in answer.framed_headers()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.transport.write(head + answer.body)

    # -- timers and closing ----------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        if self.busy:
            return
        if self.head is not None:  # a request that never finished arriving: abandoned
            self._start(self._request(incomplete=True))
            return
        self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def _content_length(head: h11.Request) -> int | None:
    for name, value in head.headers:
        if name == b"content-length":
            return int(value)
    return None


def settle(future: asyncio.Future[HoldEnd], end: HoldEnd) -> None:
    if not future.done():
        future.set_result(end)
