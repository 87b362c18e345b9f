"""Issue 26, framing: RFC 9112 message framing as the server's own policy (DESIGN.md "The
server"), on httptools. Raw sockets on loopback; every read is bounded by a timeout."""

from __future__ import annotations

import gc
import logging
import re
import socket
from collections.abc import Iterator

import pytest
from helpers import binary
from test_server import message, read_responses, server_sockets, wait_until

from pytest_cloudevents import Receiver, faults
from pytest_cloudevents.control import Standalone
from pytest_cloudevents.hosts.server import Limits

HEAD = (
    "POST / HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: {id}\r\nce-source: /f\r\n"
    "ce-type: com.example.f\r\nContent-Type: application/json\r\n"
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(check_rejected=False, max_body=1024) as r:
        yield r


def connect(receiver: Receiver) -> socket.socket:
    return socket.create_connection(("127.0.0.1", receiver.port), timeout=5)


def status_lines(answer: bytes) -> list[bytes]:
    """The status lines of the responses in `answer`."""
    return re.findall(rb"(?:^|\n)(HTTP/1\.1 \d{3} [^\r]*)\r\n", answer)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (bounded by the timeout)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


SMUGGLED = b"POST /smuggled HTTP/1.1\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    ("framing", "body"),
    [
        ("Content-Length: 48\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
        ("Content-Length: 2\r\nContent-Length: 2\r\n", b"{}"),
        ("Content-Length: 3, 5\r\n", b"{}"),
        ("Content-Length: abc\r\n", b"{}"),
        ("Content-Length: -1\r\n", b"{}"),
        ("Transfer-Encoding: gzip\r\n", b"{}"),
        ("Transfer-Encoding: gzip, chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
        ("X-Nul: a\x00b\r\nContent-Length: 2\r\n", b"{}"),
    ],
    ids=["cl-and-te", "duplicate-cl", "cl-list", "cl-not-a-number", "cl-negative",
         "te-gzip", "te-gzip-chunked", "nul-in-a-header"],
)  # fmt: skip
def test_smuggling_shapes_are_400_close_and_are_recorded(
    receiver: Receiver, framing: str, body: bytes
) -> None:
    """CL+TE kept the connection and ran the smuggled request; head-level errors were
    answered 400 but never recorded. Now: 400, the connection closed, one delivery recorded
    malformed-http, and nothing smuggled behind it runs."""
    with connect(receiver) as sock:
        sock.sendall(HEAD.format(id="s").encode() + framing.encode() + b"\r\n" + body + SMUGGLED)
        answer = read_all(sock)  # the server closes the connection
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert len(status_lines(answer)) == 1, "one answer: the rest of the bytes never ran"
    [delivery] = receiver.assert_rejected("malformed-http")
    assert delivery.status == 400 and delivery.path == "/"


def test_a_request_line_that_is_not_http_gets_a_plain_400_and_is_not_recorded(
    receiver: Receiver,
) -> None:
    with connect(receiver) as sock:
        sock.sendall(b"\x16\x03\x01\x00 not http at all\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Content-Type: text/plain; charset=utf-8" in answer
    assert receiver.deliveries == []


@pytest.mark.parametrize("write", [None, 4096, 1000], ids=["one-write", "4k-writes", "1k-writes"])
def test_a_head_over_the_bound_is_431_however_it_is_split(
    receiver: Receiver, write: int | None
) -> None:
    """The same 41 KB head was accepted in one write and refused 400 in 4 KiB writes."""
    head = HEAD.format(id="big") + "".join(f"x-pad-{i}: {'v' * 400}\r\n" for i in range(100))
    data = head.encode() + b"Content-Length: 2\r\n\r\n{}"
    assert len(data) > 40_000
    with connect(receiver) as sock:
        step = write or len(data)
        try:
            for at in range(0, len(data), step):
                sock.sendall(data[at : at + step])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the last piece: what was answered is read below
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:100]
    [delivery] = receiver.assert_rejected("head-too-large")
    assert delivery.status == 431


def test_a_head_just_under_the_bound_is_accepted(receiver: Receiver) -> None:
    limit = Limits().max_head
    pad = "v" * (limit - 2000)
    with connect(receiver) as sock:
        sock.sendall(
            (HEAD.format(id="ok") + f"x-pad: {pad}\r\n").encode() + b"Content-Length: 2\r\n\r\n{}"
        )
        [answer] = read_responses(sock, 1)
    assert answer.startswith(b"HTTP/1.1 202")


@pytest.mark.parametrize("fault", ["status", "delay"])
def test_pipelined_requests_then_a_half_close_are_each_answered_or_abandoned(
    receiver: Receiver, fault: str
) -> None:
    """Three pipelined requests then a half-close lost two silently with a rule injected
    (with a delay: one abandoned, two unrecorded). Each is recorded now: answered when the
    answer needs no wait, abandoned when it would have waited for a client that left."""
    receiver.inject(faults.status(503) if fault == "status" else faults.delay(0.05))
    with connect(receiver) as sock:
        sock.sendall(b"".join(message(f"h-{i}") for i in range(3)))
        sock.shutdown(socket.SHUT_WR)
        answers = read_all(sock)
    assert wait_until(
        lambda: (
            len(receiver.deliveries) == 3
            and all(d.outcome != "pending" for d in receiver.deliveries)
        )
    )
    deliveries = receiver.deliveries
    assert sorted(d.headers["ce-id"] for d in deliveries) == ["h-0", "h-1", "h-2"]
    if fault == "status":
        assert [line[:12] for line in status_lines(answers)] == [b"HTTP/1.1 503"] * 3
        assert {d.outcome for d in deliveries} == {"faulted"}
    else:
        assert {d.outcome for d in deliveries} == {"abandoned"}


def test_requests_queued_when_the_connection_is_reset_are_recorded_abandoned(
    receiver: Receiver,
) -> None:
    receiver.inject(faults.delay(5))
    with connect(receiver) as sock:
        sock.sendall(b"".join(message(f"r-{i}") for i in range(3)))
        assert wait_until(lambda: len(receiver.deliveries) >= 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert wait_until(lambda: [d.outcome for d in receiver.deliveries] == ["abandoned"] * 3), (
        receiver.deliveries
    )


def test_no_100_continue_before_a_413(receiver: Receiver) -> None:
    """`100 Continue` was sent, then 413: the client sent a body only to have it refused."""
    with connect(receiver) as sock:
        sock.sendall(
            HEAD.format(id="c").encode() + b"Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n"
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert b"100 Continue" not in answer
    receiver.assert_rejected("body-too-large")


def test_100_continue_comes_once_the_head_is_accepted(receiver: Receiver) -> None:
    with connect(receiver) as sock:
        sock.sendall(
            HEAD.format(id="c").encode() + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"{}")
        [answer] = read_responses(sock, 1)
    assert answer.startswith(b"HTTP/1.1 202")


def test_a_chunked_body_past_max_body_is_413_at_once(receiver: Receiver) -> None:
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    with connect(receiver) as sock:
        sock.sendall(
            HEAD.format(id="big").encode() + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 2
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    receiver.assert_rejected("body-too-large")


@pytest.mark.parametrize("target", ["//double/slash", "//a/b?x=1", "/a//b/"])
def test_the_target_is_recorded_as_sent(receiver: Receiver, target: str) -> None:
    """`//double/slash` was recorded as `/slash` (read as an authority)."""
    with connect(receiver) as sock:
        sock.sendall(message("t").replace(b"POST / ", f"POST {target} ".encode(), 1))
        [answer] = read_responses(sock, 1)
    assert answer.startswith(b"HTTP/1.1 202")
    [delivery] = receiver.deliveries
    assert delivery.path == target.partition("?")[0]
    assert delivery.query == target.partition("?")[2]


def test_trailers_of_a_chunked_body_are_not_taken_as_headers(receiver: Receiver) -> None:
    with connect(receiver) as sock:
        sock.sendall(
            HEAD.format(id="tr").encode()
            + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nce-id: forged\r\n\r\n"
        )
        [answer] = read_responses(sock, 1)
    assert answer.startswith(b"HTTP/1.1 202")
    [event] = receiver.events
    assert event.get_attributes()["id"] == "tr"


def test_http_1_0_and_connection_close_are_answered_then_closed(receiver: Receiver) -> None:
    for version, extra in (("HTTP/1.0", ""), ("HTTP/1.1", "Connection: close\r\n")):
        with connect(receiver) as sock:
            data = message("v", extra=extra).replace(b"HTTP/1.1", version.encode(), 1)
            sock.sendall(data + message("after"))
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 202") and b"Connection: close" in answer
        assert len(status_lines(answer)) == 1
    assert [d.headers["ce-id"] for d in receiver.deliveries] == ["v", "v"]


# -- TLS: sockets in their handshake belong to the server ------------------------------------


def test_stop_closes_sockets_still_in_their_tls_handshake(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pytest.importorskip("trustme", reason="TLS receivers need the tls extra")
    """350 handshake-stage sockets stayed open after stop() until the garbage collector
    ran ("Task was destroyed but it is pending!"). Now stop() closes every one."""
    receiver = Receiver(tls=True)
    port = receiver.port
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(50)]
    for sock in stalled[:25]:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello
    try:
        assert wait_until(lambda: receiver._server.accepted >= 50)
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            receiver.stop()
            assert server_sockets(port) == [], "every socket of the stopped server is closed"
            gc.collect()
        assert "Task was destroyed" not in caplog.text
        for sock in stalled:
            sock.settimeout(5)
            try:
                left = sock.recv(100)
            except ConnectionResetError:  # aborted: closed with a reset
                left = b""
            assert left == b"", "the server closed its side"
    finally:
        for sock in stalled:
            sock.close()


def test_a_tls_handshake_that_stalls_is_closed_after_the_bound() -> None:
    pytest.importorskip("trustme", reason="TLS receivers need the tls extra")
    with Receiver(tls=True, limits=Limits(idle_timeout=0.3)) as receiver:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
            assert sock.recv(100) == b"", "the server gave up on the handshake"
        assert wait_until(lambda: not receiver._server.connections)


def test_a_failed_tls_handshake_is_closed_and_others_are_still_served() -> None:
    """Plain HTTP (and garbage) sent to a TLS receiver fails its handshake: that socket is
    closed at once, the failure is not a delivery, and HTTPS producers are still served."""
    pytest.importorskip("trustme", reason="TLS receivers need the tls extra")
    import requests

    with Receiver(tls=True) as receiver:
        for junk in (message("plain"), b"\x16\x03\x01\x00\x05hello"):
            with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
                sock.sendall(junk)
                try:
                    left = read_all(sock)
                except ConnectionResetError:
                    left = b""
                assert b"202" not in left
        assert receiver.deliveries == []
        assert wait_until(lambda: not receiver._server.connections)
        answer = requests.post(
            receiver.url, headers=binary(), data=b"{}", verify=receiver.ca_bundle, timeout=5
        )
        assert answer.status_code == 202
        assert len(receiver.deliveries) == 1


# -- server-sent events: a client that does not read is dropped ------------------------------


def test_an_event_stream_client_that_never_reads_is_dropped() -> None:
    """20 server-sent-event clients that never read grew the server by 2.2 GB. A client is
    dropped once its unread bytes pass Limits.max_stream_buffer; deliveries go on."""
    with Standalone(check_rejected=False, limits=Limits(max_stream_buffer=64 * 1024)) as receiver:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", receiver.port))
        sock.sendall(f"GET {receiver._prefix}stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert wait_until(lambda: len(receiver._server.connections) == 1)
        [stream] = receiver._server.connections
        big = b'{"pad": "' + b"x" * 20_000 + b'"}'
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as producer:
            for i in range(200):
                producer.sendall(message(f"sse-{i}", big))
                read_responses(producer, 1)
                if stream not in receiver._server.connections:  # dropped
                    break
        assert stream not in receiver._server.connections, "the stream client was dropped"
        assert len(receiver.deliveries) == i + 1 < 200, "deliveries went on meanwhile"
        sock.close()


def test_an_absolute_target_that_is_no_url_is_kept_as_sent(receiver: Receiver) -> None:
    """`http://[x/a` made urlsplit raise ValueError where the target is read (outside the
    parser's callbacks when the client then left: the exception escaped the connection)."""
    with connect(receiver) as sock:
        sock.sendall(message("bad-url").replace(b"POST / ", b"POST http://[x/a ", 1))
        [answer] = read_responses(sock, 1)
    assert answer.startswith(b"HTTP/1.1 202")
    assert receiver.deliveries[0].path == "http://[x/a"
    with connect(receiver) as sock:  # cut short: the abandoned request is read the same way
        sock.sendall(message("cut", b"{}").replace(b"POST / ", b"POST http://[y/b ", 1)[:-1])
    assert wait_until(lambda: len(receiver.deliveries) == 2)
    assert receiver.deliveries[1].path == "http://[y/b"
    assert receiver.deliveries[1].outcome == "abandoned"
