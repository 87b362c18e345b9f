"""One client connection of the receiver's server: httptools (llhttp) parses, the plugin
keeps the framing policy, the delivery app answers the requests in the order they came.

The policy (DESIGN.md, "The server"):
- RFC 9112 framing: `Content-Length` with `Transfer-Encoding`, a duplicate or non-numeric
  `Content-Length`, or a transfer coding other than `chunked` is answered 400 and the
  connection closed; a head over `Limits.max_head` is 431 however it is split across reads;
  a request whose method and target were read is recorded even when its framing broke;
- pipelined requests are answered in order; those still queued when the client goes away are
  recorded `abandoned`, never dropped; `Expect: 100-continue` is answered only once the head
  is accepted and every earlier request has been answered;
- TLS is started by the connection itself (`loop.start_tls`), so a socket still in its
  handshake belongs to the server and is closed by `stop()`;
- a stream (server-sent events) whose client does not read is dropped once its send buffer
  passes a bound.
Holds are timers on the loop; user code runs in the server's pool."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import ssl
import threading
import time
from collections import deque
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import Any, Final, Protocol
from urllib.parse import unquote, urlsplit

import httptools

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
    tls: ssl.SSLContext | None

    @property
    def pool(self) -> Executor:
        """Where user code runs."""


#: Bytes of requests a client may pipeline ahead while one is being answered.
_MAX_AHEAD: Final[int] = 1024 * 1024
#: Bytes fed to the parser at a time while a head is being read (the 431 bound's grain).
_SLICE: Final[int] = 4096
_REFUSED: Final[bytes] = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)
_CONTINUE: Final[bytes] = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY: Final[frozenset[int]] = frozenset({204, 304})
#: The heads of answers with no header and no body, by (status, kept alive).
_BARE: dict[tuple[int, bool], bytes] = {}
#: Seconds a connection left with unread input stays open for the client to read its answer.
_LINGER: Final[float] = 1.0


class _Stop(Exception):
    """Raised from a parser callback: feed this connection's parser no more."""


class Connection(asyncio.Protocol):
    """One client connection (see the module doc)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.max_body = server.app.max_body
        self.max_head = server.limits.max_head
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.peer: str | None = None
        self.tls: TLSInfo | None = None
        self.queue: deque[tuple[Request | Answer, bool]] = deque()  # received, not begun
        self.ahead = 0  # body bytes in the queue
        self.busy = False  # a request is being answered
        self.stopped = False  # the parser is fed no more (broken framing, close, upgrade)
        self.gone = False  # the client closed its side
        self.paused = False
        self.early: list[bytes] | None = None  # TLS data before start_tls returned
        self.unread = False  # input was left unread: close gently (lingering)
        self.hold: asyncio.Future[HoldEnd] | None = None
        # when the connection expires (loop time): the server's sweep closes it then
        self.expires = math.inf
        self.left: asyncio.Event | None = None  # made for a mount's request
        # the message being read
        self.in_head = True  # no message begun, or its head is not complete
        self.head_seen = 0  # bytes fed while in the head
        self.headers: Headers | None = None  # once the head is complete
        self.url = b""
        self.method: bytes | None = None
        self.fields: list[bytes] = []  # name, value, name, value, ... as read
        self.body: list[bytes] = []
        self.size = 0
        self.declared: int | None = None
        self.continue_owed = False

    # -- transport events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server = self.server
        server.accepted += 1
        if server.closing:
            transport.abort()
            return
        if len(server.connections) >= server.limits.max_connections:
            transport.write(_REFUSED)
            transport.close()
            return
        server.connections.add(self)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else None
        self._arm(server.limits.idle_timeout)
        if server.tls is not None:
            transport.pause_reading()  # start_tls resumes it with the TLS layer in place
            self.early = []
            self._spawn(self._handshake(transport, server.tls))

    async def _handshake(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            secured = await loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self.server.limits.idle_timeout,
            )
        except asyncio.CancelledError:  # stop(): the socket closes with the task
            raw.abort()
            self.connection_lost(None)
            raise
        except Exception:  # a failed or timed-out handshake
            raw.abort()
            self.connection_lost(None)
            return
        if secured is None:  # the connection closed during the handshake
            self.connection_lost(None)
            return
        self.transport = secured
        self.tls = describe_peer(secured.get_extra_info("ssl_object"))
        early, self.early = self.early, None
        if early:  # what arrived between the handshake's end and this task's turn
            self.data_received(b"".join(early))

    def data_received(self, data: bytes) -> None:
        if self.early is not None:  # TLS: the secured transport is not ours yet
            self.early.append(data)
            return
        if self.stopped:
            return
        if not self.busy and not self.queue and self.in_head and not self.head_seen:
            # a request must arrive in time (`_arm`, inline: every request passes here)
            self.expires = time.monotonic() + self.server.limits.request_timeout
        try:
            if self.in_head and len(data) <= _SLICE:  # the common case: one small read
                self.head_seen += len(data)
                self.parser.feed_data(data)
                if self.in_head and self.head_seen > self.max_head:
                    self._head_too_large()
            elif self.in_head:  # in slices: a head over the bound is seen in any split
                view = memoryview(data)
                while view and self.in_head:
                    piece, view = view[:_SLICE], view[_SLICE:]
                    self.head_seen += len(piece)
                    self.parser.feed_data(piece)
                    if self.in_head and self.head_seen > self.max_head:
                        self._head_too_large()
                        break
                if view and not self.stopped:
                    self.parser.feed_data(view)
            else:
                self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.stopped = True  # answered, then closed: the plugin does not upgrade
        except httptools.HttpParserCallbackError:
            if not self.stopped:  # a bug of the plugin's callbacks: never hang the client
                self._broken("the request could not be read")
        except httptools.HttpParserError as exc:
            self._broken(str(exc) or type(exc).__name__)
        if self.ahead > _MAX_AHEAD and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._next()

    def eof_received(self) -> bool:
        self._client_left()
        # keep the write side open: answers may still be owed (TLS cannot half-close)
        return self.tls is None and self.server.tls is None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._client_left()
        self.server.connections.discard(self)
        self.expires = math.inf

    def _client_left(self) -> None:
        if self.gone:
            return
        self.gone = True
        if self.left is not None:
            self.left.set()
        if self.hold is not None and not self.hold.done():
            self.hold.set_result(GONE)
        if self.method is not None and not self.stopped:  # a request cut short: abandoned
            self.queue.append((self._request(incomplete=True), False))
        self.stopped = True
        self._next()

    # -- parser callbacks (httptools calls them from feed_data) ----------------------------

    def on_message_begin(self) -> None:
        self.url, self.method, self.fields, self.body = b"", None, [], []
        self.size, self.declared, self.headers = 0, None, None
        self.continue_owed = False

    def on_url(self, url: bytes) -> None:
        self.url += url  # llhttp may hand the target in pieces
        if self.method is None:
            self.method = self.parser.get_method()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_head:  # trailers of a chunked body are not headers of the request
            self.fields += (name, value)

    def _head_size(self) -> int:
        """The bytes of the head read so far (the target and the header lines)."""
        return len(self.url) + sum(map(len, self.fields)) + 2 * len(self.fields)

    def on_headers_complete(self) -> None:
        self.in_head = False
        # what was fed while in the head bounds the head: counted only when that is over
        if self.head_seen > self.max_head and self._head_size() > self.max_head:
            self._head_too_large()
            raise _Stop
        headers = self.headers = _read_headers(self.fields)
        lowered = headers.lowered
        coding = lowered.get("transfer-encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            self._broken("a transfer coding other than chunked")
            raise _Stop
        length = lowered.get("content-length")
        if length is not None:
            self.declared = int(length)  # llhttp allows digits only, and only once
        if (self.declared or 0) > self.max_body:
            self._queue(self._request(), keep=False, unread=True)  # 413, the body unread
            raise _Stop
        expect = lowered.get("expect")
        if (
            expect is not None
            and expect.strip().lower() == "100-continue"
            and self.parser.get_http_version() == "1.1"
        ):
            self.continue_owed = True
            self._continue()

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_body:  # a chunked body past the bound: 413 at once
            self._queue(self._request(), keep=False, unread=True)
            raise _Stop
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep = self.parser.should_keep_alive()
        if keep:  # `_queue`, inline: every request passes here
            request = self._request()
            self.ahead += len(request.body)
            self.queue.append((request, True))
            self.continue_owed = False
        else:
            self._queue(self._request(), keep=False)
        self.in_head, self.head_seen, self.method = True, 0, None
        if not keep:
            raise _Stop

    # -- building requests -----------------------------------------------------------------

    def _queue(self, item: Request | Answer, *, keep: bool, unread: bool = False) -> None:
        if not keep:
            self.stopped = True
        self.unread = self.unread or unread
        if isinstance(item, Request):
            self.ahead += len(item.body)
        self.queue.append((item, keep))
        self.continue_owed = False

    def _request(
        self, *, incomplete: bool = False, malformed: str | None = None, too_long: bool = False
    ) -> Request:
        path, query = _split_target(self.url.decode("latin-1"))
        method = self.method or b""
        return Request.from_http(
            _METHODS.get(method) or method.decode("ascii", "replace"),
            path,
            _read_headers(self.fields) if self.headers is None else self.headers,
            b"".join(self.body),
            max_body=self.max_body,
            received=self.size,
            declared_length=self.declared,
            query=query,
            remote_addr=self.peer,
            malformed=malformed,
            head_too_large=too_long,
            incomplete=incomplete,
            tls=self.tls,
        )

    def _broken(self, reason: str) -> None:
        """Broken framing: a request whose method and target were read is recorded and
        answered 400 by the app; anything else gets a plain 400. The connection then closes
        once every earlier request is answered."""
        if self.stopped:
            return
        if self.method is not None:
            self._queue(self._request(malformed=reason), keep=False, unread=True)
        else:
            body = f"malformed HTTP/1.1 request: {reason}\n".encode()
            answer = Answer(400, [("Content-Type", "text/plain; charset=utf-8")], body)
            self._queue(answer, keep=False, unread=True)

    def _head_too_large(self) -> None:
        if self.stopped:
            return
        reason = f"the request head is over {self.max_head} bytes"
        if self.method is not None:
            self._queue(self._request(malformed=reason, too_long=True), keep=False, unread=True)
        else:
            body = f"{reason}\n".encode()
            answer = Answer(431, [("Content-Type", "text/plain; charset=utf-8")], body)
            self._queue(answer, keep=False, unread=True)

    # -- answering -------------------------------------------------------------------------

    def _next(self) -> None:
        """Begin the requests received, in order, while each is answered at once."""
        if self.transport is None:  # the connection is lost: never answered, abandoned
            while self.queue:
                item, _ = self.queue.popleft()
                if isinstance(item, Request):
                    self._abandon(item)
            return
        while not self.busy and self.queue:
            item, keep = self.queue.popleft()
            if isinstance(item, Request):
                self.ahead -= len(item.body)
                if not self._start(item, keep):
                    return
            else:
                self._write(item, keep=False, head=False)
        if self.busy:
            return
        if self.stopped:
            self._close()
            return
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        if self.continue_owed:
            self._continue()
        if self.in_head and not self.head_seen:
            self.expires = time.monotonic() + self.server.limits.idle_timeout  # `_arm`

    def _continue(self) -> None:
        """`100 Continue` for the request being read, once nothing is answered before it."""
        if self.continue_owed and not self.busy and not self.queue and not self.size:
            self.continue_owed = False
            if self.transport is not None:
                self.transport.write(_CONTINUE)

    def _start(self, request: Request, keep: bool) -> bool:
        """Deliver a request; True when it was answered at once (no user code to run and
        no hold), False when a task will answer it."""
        self.busy = True
        self.expires = math.inf  # the answer's own bounds hold it (holds, user code)
        mount = self.server.mount
        if (
            mount is not None
            and not request.malformed
            and not request.incomplete
            and mount.owns(request.path)
        ):
            self._spawn(self._mounted(mount, request, keep))
            return False
        app = self.server.app
        if app.needs_thread(request):  # the app says whether user code runs
            self._spawn(self._deliver(None, None, request, keep))
            return False
        started = app.deliver(request)
        if isinstance(started, Answer):  # the common case: answered at once
            self._respond(started, request, keep)
            return True
        first = advance(started, None)
        if isinstance(first, Answer):
            self._respond(first, request, keep)
            return True
        self._spawn(self._deliver(started, first, request, keep))
        return False

    def _abandon(self, request: Request) -> None:
        """Record a request that will never be answered (the client is gone): the app
        settles an incomplete request before anything could hold it or run user code."""
        gone = request if request.incomplete else dataclasses.replace(request, incomplete=True)
        if gone.carries_message:
            self.server.app.deliver(gone)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _mounted(self, mount: Mount, request: Request, keep: bool) -> None:
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
            self._respond(reply, request, keep)
            self._next()
            return
        await self._stream(reply)

    async def _stream(self, stream: Stream) -> None:
        """Send a streamed response chunk by chunk (chunked coding), then close. A client
        whose unread bytes pass `Limits.max_stream_buffer` is dropped."""
        transport = self.transport
        bound = self.server.limits.max_stream_buffer
        try:
            if transport is None or transport.is_closing():
                return
            lines = ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Connection: close"]
            lines += [f"{k}: {v}" for k, v in stream.headers]
            transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            async for chunk in stream.chunks:
                if self.gone or transport.is_closing():
                    break
                if chunk:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                if transport.get_write_buffer_size() > bound:
                    transport.abort()  # a client that does not read: dropped
                    break
            else:
                if not transport.is_closing():
                    transport.write(b"0\r\n\r\n")
        except (UnicodeEncodeError, RuntimeError):
            pass
        finally:
            aclose = getattr(stream.chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            self.stopped = True
            self.busy = False
            self._close()

    async def _deliver(
        self,
        steps: Delivering | None,
        first: Hold | None,
        request: Request,
        keep: bool,
    ) -> None:
        """Answer a delivery that holds (`steps`, its `first` hold taken), or one that runs
        user code (`steps` None: every step of it runs in the server's pool)."""
        pool = self.server.pool
        loop = asyncio.get_running_loop()

        async def in_pool(steps: Delivering, value: HoldEnd | None) -> Hold | Answer:
            return await loop.run_in_executor(pool, advance, steps, value)

        try:
            if steps is None:
                started = await loop.run_in_executor(pool, self.server.app.deliver, request)
                answer = await drive_async(started, self._hold, run=in_pool)
            else:
                answer = await drive_async(steps, self._hold, first=first)
        except Exception:  # the pool was shut down (stop): nothing more to answer
            self._close()
            return
        self._respond(answer, request, keep)
        self._next()

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

    def _respond(self, answer: Answer, request: Request, keep: bool) -> None:
        """Write the answer (none when its status is None: the fault closes the
        connection), then make ready for the next request."""
        self.busy = False
        if answer.status is None:
            self.stopped = True
            self._close()
            return
        keep = keep and not request.malformed and not request.incomplete
        self._write(answer, keep=keep, head=request.method == "HEAD")

    def _write(self, answer: Answer, *, keep: bool, head: bool) -> None:
        """Write one answer; a connection not kept closes once it is written."""
        transport = self.transport
        if not keep:
            self.stopped = True
        if transport is None or transport.is_closing():
            return
        status = answer.status or 500
        if not answer.headers and not answer.body and status not in _NO_BODY:
            bare = _BARE.get((status, keep))  # the common answer: a status, nothing else
            if bare is None:
                close = "" if keep else "Connection: close\r\n"
                line = f"HTTP/1.1 {status} {answer.reason}\r\nContent-Length: 0\r\n"
                bare = _BARE[(status, keep)] = (line + close + "\r\n").encode("latin-1")
            transport.write(bare)
            return
        lines = [f"HTTP/1.1 {status} {answer.reason}"]
        lines += [f"{k}: {v}" for k, v in answer.headers]
        if status not in _NO_BODY:
            lines.append(f"Content-Length: {len(answer.body)}")
        if not keep:
            lines.append("Connection: close")
        try:
            data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:  # checked when the answer was built; never half-written
            self.stopped = True
            self._close()
            return
        if not head and status not in _NO_BODY:
            data += answer.body
        transport.write(data)

    # -- timers and closing ----------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        """Expire in `seconds` (no timer per request: the server sweeps its connections)."""
        self.expires = time.monotonic() + seconds

    def expire(self) -> None:
        """The server's sweep found this connection past `expires`."""
        self.expires = math.inf
        if self.busy:
            return
        if self.method is not None and not self.stopped:  # a request that never arrived whole
            self._queue(self._request(incomplete=True), keep=False)
            self._next()
            return
        self.stopped = True
        if self.transport is not None:
            self.transport.close()

    def _close(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.unread and not self.gone and transport.can_write_eof():
            # the client may still be sending what was not read: end the write side and
            # let it read the answer before the socket closes (an abort would lose it)
            self.unread = False
            transport.write_eof()
            self._arm(_LINGER)
            return
        transport.close()


def _read_headers(fields: list[bytes]) -> Headers:
    """The header fields as read (names and values, in turn), as latin-1 text: decoded in
    one piece, joined by NUL, which llhttp refuses in a name or a value (should one pass
    anyway, the pairs are decoded one by one: reading a head never raises)."""
    try:
        return Headers.read(b"\0".join(fields[::2]), b"\0".join(fields[1::2]))
    except ValueError:
        names, values = fields[::2], fields[1::2]
        return Headers(
            [
                (n.decode("latin-1"), v.decode("latin-1"))
                for n, v in zip(names, values, strict=False)
            ]
        )


#: The methods' names, made once.
_METHODS: Final[dict[bytes, str]] = {
    m.encode(): m for m in ("POST", "PUT", "PATCH", "GET", "HEAD", "OPTIONS", "DELETE")
}


def _split_target(target: str) -> tuple[str, str]:
    """The path (percent-decoded, as sent otherwise: `//a/b` stays `//a/b`) and the query
    of a request target in origin form, or in absolute form (`http://host/path`)."""
    if target == "/":  # the common target: nothing to split or decode
        return "/", ""
    path, _, query = target.partition("?")
    if not target.startswith("/") and "://" in target:
        try:
            parts = urlsplit(target)
            path, query = parts.path or "/", parts.query
        except ValueError:  # not a URL after all (`http://[x/`): kept as sent
            pass
    if "%" in path:
        path = unquote(path, encoding="latin-1")
    return path or "/", query


def settle(future: asyncio.Future[HoldEnd], end: HoldEnd) -> None:
    if not future.done():
        future.set_result(end)
