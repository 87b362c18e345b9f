"""The receiver's own HTTP/1.1 server: h11 on an asyncio loop in one thread.

One loop thread does all the I/O: keep-alive and pipelining, chunked bodies, raw header
names exactly as sent. A delivery held by a `delay` is a timer on the loop, not a thread;
user code (rules' predicates and handlers) runs in a small thread pool, so a slow handler
never stalls other deliveries, while a delivery with no user code is answered on the loop
directly. Idle connections are closed after `IDLE_TIMEOUT` seconds, a request must arrive
whole within `REQUEST_TIMEOUT`, and past `MAX_CONNECTIONS` new connections are answered 503
and closed at once. `stop()` closes every connection and joins every thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Final
from urllib.parse import unquote, urlsplit

import h11

from .app import CUT, ELAPSED, GONE, Answer, DeliveryApp, Hold, HoldEnd, Request
from .wire import HeaderMap

__all__ = ["IDLE_TIMEOUT", "MAX_CONNECTIONS", "REQUEST_TIMEOUT", "Server"]

#: Seconds an idle keep-alive connection stays open.
IDLE_TIMEOUT: float = 5.0
#: Seconds a request (head and body) may take to arrive once it has begun.
REQUEST_TIMEOUT: float = 30.0
#: Open connections past which new ones are answered 503 and closed.
MAX_CONNECTIONS: int = 1000
#: Bodies larger than this are decoded in the pool rather than on the loop.
_DECODE_ON_LOOP: Final[int] = 64 * 1024
#: Bytes a client may pipeline ahead while a delivery is being answered.
_MAX_AHEAD: Final[int] = 1024 * 1024
_REFUSED: Final[bytes] = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)
_BODY_METHODS: Final[frozenset[bytes]] = frozenset({b"POST", b"PUT", b"PATCH"})


def _advance(steps: Generator[Hold, HoldEnd, Answer], value: HoldEnd | None) -> Hold | Answer:
    """One step of a delivery: the next Hold, or the final Answer."""
    try:
        return steps.send(value)  # type: ignore[arg-type]  # None starts the generator
    except StopIteration as done:
        answer: Answer = done.value
        return answer


class _Connection(asyncio.Protocol):
    """One client connection: h11 parses, the app answers, one request at a time."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.h11 = h11.Connection(h11.SERVER)
        self.transport: asyncio.Transport | None = None
        self.peer: str | None = None
        self.busy = False  # a request is being answered
        self.gone = False
        self.head: h11.Request | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.hold: asyncio.Future[HoldEnd] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None

    # -- transport events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.accepted += 1
        if self.server.closing:
            transport.abort()
            return
        if len(self.server.connections) >= MAX_CONNECTIONS:
            transport.write(_REFUSED)
            transport.close()
            return
        self.server.connections.add(self)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else None
        self._arm(IDLE_TIMEOUT)

    def data_received(self, data: bytes) -> None:
        if self.h11.their_state is h11.IDLE and not self.busy and self.head is None:
            self._arm(REQUEST_TIMEOUT)  # a request begins: it must arrive whole in time
        self.h11.receive_data(data)
        if self.busy:
            if len(self.h11.trailing_data[0]) > _MAX_AHEAD and self.transport is not None:
                self.transport.pause_reading()
            return
        self._process()

    def eof_received(self) -> bool:
        self._client_left()
        return True  # keep the write side open: an answer may still be owed

    def connection_lost(self, exc: Exception | None) -> None:
        self._client_left()
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def _client_left(self) -> None:
        if self.gone:
            return
        self.gone = True
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
                if self.h11.they_are_waiting_for_100_continue:
                    self.transport.write(
                        self.h11.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                if self._declared_length() > self.server.app.options.max_body:
                    self._start(self._request())  # 413 at once; the connection then closes
                    return
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size <= self.server.app.options.max_body:
                    self.body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self._start(self._request())
                return
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                return

    def _declared_length(self) -> int:
        assert self.head is not None
        for name, value in self.head.headers:
            if name == b"content-length":
                return int(value)
        return 0

    def _request(self, *, incomplete: bool = False, malformed: str | None = None) -> Request:
        head = self.head
        assert head is not None
        headers = HeaderMap()
        lowered = headers.lowered
        for raw_name, value in head.headers.raw_items():  # names exactly as sent
            name = raw_name.decode("latin-1").lower()
            text = value.decode("latin-1")
            lowered[name] = f"{lowered[name]}, {text}" if name in lowered else text
        target = urlsplit(head.target.decode("latin-1"))
        limit = self.server.app.options.max_body
        declared = self._declared_length() if b"content-length" in dict(head.headers) else None
        too_large = self.size > limit or (declared is not None and declared > limit)
        return Request(
            method=head.method.decode("ascii", "replace"),
            path=unquote(target.path or "/", encoding="latin-1"),
            headers=headers,
            body=b"" if too_large else b"".join(self.body),
            query=target.query,
            remote_addr=self.peer,
            too_large=too_large,
            declared_length=declared,
            malformed=malformed,
            incomplete=incomplete,
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

    def _start(self, request: Request) -> None:
        self.busy = True
        if self.timer is not None:
            self.timer.cancel()
        self.task = asyncio.get_running_loop().create_task(self._deliver(request))
        self.server.tasks.add(self.task)
        self.task.add_done_callback(self.server.tasks.discard)

    async def _deliver(self, request: Request) -> None:
        app = self.server.app
        pooled = bool(
            app.handler is not None or len(app.rules) or len(request.body) > _DECODE_ON_LOOP
        )
        loop = asyncio.get_running_loop()
        steps = app.deliver(request)
        value: HoldEnd | None = None
        while True:
            if pooled:
                step = await loop.run_in_executor(self.server.pool, _advance, steps, value)
            else:
                step = _advance(steps, value)
            if isinstance(step, Answer):
                break
            value = await self._hold(step)
        self._respond(step, malformed=request.malformed is not None or request.incomplete)

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
        timer = loop.call_later(step.seconds, _settle, self.hold, ELAPSED)
        try:
            return await self.hold
        finally:
            timer.cancel()
            self.server.holds.pop(self.hold, None)
            self.hold = None

    def _respond(self, answer: Answer, *, malformed: bool) -> None:
        transport = self.transport
        self.head = None
        if transport is None or transport.is_closing():
            return
        if answer.status is None or malformed:
            if answer.status is not None:
                self._write_raw(answer)
            self._close()
            return
        try:
            headers = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.framed_headers()
            ]
            transport.write(
                self.h11.send(h11.Response(status_code=answer.status, headers=headers))
                + self.h11.send(h11.Data(data=answer.body))
                + self.h11.send(h11.EndOfMessage())
            )
        except h11.LocalProtocolError:
            self._close()
            return
        if (
            self.gone
            or self.h11.our_state is h11.MUST_CLOSE
            or self.h11.their_state is not h11.DONE
        ):
            self._close()  # the client left, Connection: close, or a body we did not read
            return
        self.h11.start_next_cycle()
        self.busy = False
        transport.resume_reading()
        self._arm(IDLE_TIMEOUT)
        self._process()  # a pipelined request may be waiting

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


def _settle(future: asyncio.Future[HoldEnd], end: HoldEnd) -> None:
    if not future.done():
        future.set_result(end)


class Server:
    """The delivery app served on `host:port` from a loop thread (see the module doc).

    The socket is bound in the constructor, so an address that cannot be bound raises
    `OSError` naming it, in the caller's thread."""

    def __init__(self, host: str, port: int, app: DeliveryApp) -> None:
        self.app = app
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.holds: dict[asyncio.Future[HoldEnd], threading.Event] = {}
        #: connections accepted so far (a keep-alive client reuses one)
        self.accepted = 0
        self.closing = False
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.socket = socket.create_server((host, port), family=family, backlog=512)
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.port: int = self.socket.getsockname()[1]
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"ce-user-{self.port}")
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ce-receiver-{self.port}", daemon=True
        )
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        listening = self.loop.create_server(lambda: _Connection(self), sock=self.socket)
        self.listener = self.loop.run_until_complete(listening)
        self._ready.set()
        self.loop.run_forever()

    def cut_holds(self) -> None:
        """Wake every hold whose cancel event is set (after reset() or on stop())."""
        if not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                self.loop.call_soon_threadsafe(self._cut)

    def _cut(self) -> None:
        for future, cancel in list(self.holds.items()):
            if cancel.is_set():
                _settle(future, CUT)

    def stop(self) -> None:
        """Close the listener and every connection, end every task, join the threads."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(2)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(2)
        self.loop.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for worker in list(getattr(self.pool, "_threads", ())):
            worker.join(0.5)  # idle workers end at once; one stuck in user code is left

    async def _shutdown(self) -> None:
        self.closing = True
        self.listener.close()
        self._cut()
        for _ in range(50):  # connections accepted meanwhile are aborted as they arrive
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=0.5)
            await asyncio.sleep(0)  # let the aborted transports call connection_lost
            if not self.connections and not self.tasks:
                break
        await self.listener.wait_closed()
