"""Issue 26, client: `timeout` bounds each attempt in all, not each read. A server that
drips its answer a byte at a time, or sends `100 Continue` forever, held a send with
`timeout=1` as long as it liked (12 s measured, unbounded). Each test server is a raw socket
on loopback that stops by itself after at most 20 s."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from pytest_cloudevents import AsyncClient, Client, EventFactory, Outcome
from pytest_cloudevents.errors import DeadlineExceeded

Behaviour = Callable[[socket.socket, threading.Event], None]


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """A head, then a body of 1,000 bytes one byte every 0.2 s."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    while not stop.wait(0.2):
        conn.sendall(b"x")


def drip_head(conn: socket.socket, stop: threading.Event) -> None:
    """The status line and headers, a byte every 0.2 s."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 500:
        if stop.wait(0.2):
            return
        conn.sendall(bytes([byte]))


def endless_continue(conn: socket.socket, stop: threading.Event) -> None:
    """`100 Continue` every 0.2 s, never a final answer."""
    while not stop.wait(0.2):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")


BEHAVIOURS = {"drip-body": drip, "drip-head": drip_head, "endless-100": endless_continue}


@pytest.fixture(params=list(BEHAVIOURS))
def slow_server(request: pytest.FixtureRequest) -> Iterator[str]:
    behaviour: Behaviour = BEHAVIOURS[request.param]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    stop = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + 20
        conns = []
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conns.append(conn)
                conn.recv(65536)  # the request (small)
                with contextlib.suppress(OSError):  # the client shut the connection down
                    behaviour(conn, stop)
        finally:
            for conn in conns:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    listener.close()
    thread.join(25)


EVENT = EventFactory(1).make("com.example.slow", data={"n": 1})


def test_client_timeout_is_a_total_deadline(slow_server: str) -> None:
    with Client(slow_server, timeout=1) as client:
        started = time.monotonic()
        result = client.send(EVENT)
        took = time.monotonic() - started
    assert result.outcome is Outcome.UNDELIVERED
    assert isinstance(result.error, DeadlineExceeded), result.error
    assert "timeout=1s" in str(result.error)
    assert took < 5, f"the send took {took:.1f}s against timeout=1"


def test_async_client_timeout_is_a_total_deadline(slow_server: str) -> None:
    pytest.importorskip("httpx", reason="AsyncClient needs the httpx extra")

    async def send() -> tuple[object, float]:
        async with AsyncClient(slow_server, timeout=1) as client:
            started = time.monotonic()
            result = await client.send(EVENT)
            return result, time.monotonic() - started

    result, took = asyncio.run(send())
    assert getattr(result, "outcome", None) is Outcome.UNDELIVERED
    assert isinstance(getattr(result, "error", None), DeadlineExceeded)
    assert took < 5, f"the send took {took:.1f}s against timeout=1"


def test_a_fast_answer_is_not_cut_by_the_watchdog(ce_receiver) -> None:  # type: ignore[no-untyped-def]
    """Many sends in a row: the deadline of one never reaches the next on the same
    connection."""
    with Client(ce_receiver.url, timeout=0.3) as client:
        for i in range(200):
            assert client.send(EventFactory(i).make("com.example.fast")).is_ack
    assert len(ce_receiver.deliveries) == 200
