"""Reliability under load, bad input and churn. Bounded in count and time, loopback only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers import attr, binary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_cloudevents import Receiver, faults, match

SENDERS, PER_SENDER = 16, 1000
MODES = ("binary", "structured", "batch")


def _message(sender: int, index: int) -> tuple[dict[str, str], bytes]:
    """Message `index` of a sender, cycling through the three modes; a batch carries two
    events. Event ids are `s<sender>-<index>-<k>`, so each sender's order can be checked."""
    mode = MODES[index % 3]
    source = f"/sender/{sender}"
    if mode == "binary":
        return binary(ce_id=f"s{sender}-{index}-0", ce_source=source), b'{"k": 0}'
    docs = [
        {
            "specversion": "1.0",
            "id": f"s{sender}-{index}-{k}",
            "source": source,
            "type": "com.example.test",
            "data": {"k": k},
        }
        for k in range(1 if mode == "structured" else 2)
    ]
    if mode == "structured":
        return {"content-type": "application/cloudevents+json"}, json.dumps(docs[0]).encode()
    return {"content-type": "application/cloudevents-batch+json"}, json.dumps(docs).encode()


def _check_all_once_in_order(ids: list[str], senders: int, per_sender: int) -> None:
    assert len(set(ids)) == len(ids), "an event was recorded twice"
    per: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for event_id in ids:
        sender, index, k = event_id.split("-")
        per[sender].append((int(index), int(k)))
    expected = [(i, k) for i in range(per_sender) for k in range(2 if i % 3 == 2 else 1)]
    assert len(per) == senders
    assert all(order == expected for order in per.values()), "a sender's order was not kept"


@pytest.mark.once
def test_concurrent_senders_lose_nothing_and_keep_their_order() -> None:
    """16 threads x 1,000 messages, binary, structured and batch mixed."""
    with Receiver(wait_timeout=120) as receiver:

        def sender(n: int) -> list[int]:
            statuses = []
            with requests.Session() as session:
                for i in range(PER_SENDER):
                    headers, body = _message(n, i)
                    response = session.post(receiver.url, headers=headers, data=body, timeout=30)
                    statuses.append(response.status_code)
            return statuses

        with ThreadPoolExecutor(SENDERS) as pool:
            results = list(pool.map(sender, range(SENDERS)))
        assert all(status == 202 for statuses in results for status in statuses)
        total = SENDERS * (PER_SENDER + PER_SENDER // 3)
        events = receiver.wait_for(count=total, timeout=60)
        _check_all_once_in_order([attr(e, "id") for e in events], SENDERS, PER_SENDER)


@pytest.mark.once
def test_senders_are_answered_while_another_thread_resets_injects_and_waits() -> None:
    """8 threads x 300 messages while a churn thread injects rules, waits and resets in a
    loop: every send is answered 202 (the rules never match them), nothing is recorded
    twice, what survives each reset keeps each sender's order, and once the churn stops a
    last round is recorded in full."""
    senders, per_sender = 8, 300
    with Receiver(wait_timeout=60) as receiver:
        done = threading.Event()
        churned = [0]

        def churn() -> None:
            while not done.is_set():
                receiver.inject(faults.status(503), when=match(type="com.example.never"))
                with pytest.raises(AssertionError):
                    receiver.wait_for(type="com.example.never", timeout=0.005)
                receiver.reset()
                churned[0] += 1

        def sender(n: int) -> list[int]:
            with requests.Session() as session:
                out = []
                for i in range(per_sender):
                    headers, body = _message(n, i)
                    out.append(session.post(receiver.url, headers=headers, data=body).status_code)
                return out

        churner = threading.Thread(target=churn)
        churner.start()
        try:
            with ThreadPoolExecutor(senders) as pool:
                statuses = [s for out in pool.map(sender, range(senders)) for s in out]
        finally:
            done.set()
            churner.join(30)
        assert not churner.is_alive() and churned[0] > 0
        assert statuses == [202] * (senders * per_sender)
        ids = [attr(e, "id") for e in receiver.events]
        assert len(set(ids)) == len(ids), "an event was recorded twice"
        per: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for event_id in ids:
            who, index, k = event_id.split("-")
            per[who].append((int(index), int(k)))
        assert all(order == sorted(order) for order in per.values()), "order was not kept"
        receiver.reset()
        with ThreadPoolExecutor(4) as pool:
            assert all(s == 202 for out in pool.map(sender, range(4)) for s in out)
        total = 4 * (per_sender + per_sender // 3)
        events = receiver.wait_for(count=total, timeout=30)
        _check_all_once_in_order([attr(e, "id") for e in events], 4, per_sender)


PROCESS_SENDER = """
import json, sys
import requests
sys.path.insert(0, sys.argv[3])
from test_reliability import _message

url, n = sys.argv[1], int(sys.argv[2])
with requests.Session() as session:
    for i in range(1000):
        headers, body = _message(n, i)
        assert session.post(url, headers=headers, data=body, timeout=30).status_code == 202
"""


@pytest.mark.once
def test_separate_processes_lose_nothing_and_keep_their_order() -> None:
    """8 processes x 1,000 messages, each its own interpreter and connection."""
    tests_dir = str(Path(__file__).parent)
    with Receiver(wait_timeout=120) as receiver:
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", PROCESS_SENDER, receiver.url, str(n), tests_dir]
            )
            for n in range(8)
        ]
        assert [p.wait(timeout=180) for p in processes] == [0] * 8
        total = 8 * (1000 + 1000 // 3)
        events = receiver.wait_for(count=total, timeout=60)
        _check_all_once_in_order([attr(e, "id") for e in events], 8, 1000)


header_names = st.one_of(
    st.sampled_from(
        [
            "ce-id",
            "ce-source",
            "ce-type",
            "ce-specversion",
            "ce-time",
            "ce-subject",
            "ce-datacontenttype",
            "content-type",
            "ce-x",
            "CE-ID",
            "transfer-encoding-x",
        ]
    ),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
)
# requests refuses header values with line breaks or leading whitespace; everything else goes.
header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=30).filter(
        lambda value: not value[:1].isspace() and not value[-1:].isspace()
    ),
    st.sampled_from(
        [
            "application/cloudevents+json",
            "application/cloudevents-batch+json",
            "application/json",
            "text/plain",
            "1.0",
            "0.3",
            "%C0%A0",
            '"quoted"',
            "%",
            "%zz",
        ]
    ),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"{}", b"[]", b"[{}]", b'{"specversion": "1.0"}', b"null", b"\xff\xfe"]),
    st.binary(min_size=2000, max_size=5000),
)


@pytest.fixture(scope="module")
def fuzz_receiver() -> Iterator[Receiver]:
    with Receiver(max_body=4096, check_rejected=False) as receiver:
        yield receiver


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH"]),
    headers=st.dictionaries(header_names, header_values, max_size=8),
    body=bodies,
)
def test_any_message_is_answered_without_5xx_and_recorded(
    fuzz_receiver: Receiver, method: str, headers: dict[str, str], body: bytes
) -> None:
    headers.pop("transfer-encoding-x", None)
    before = len(fuzz_receiver.deliveries)
    response = requests.request(method, fuzz_receiver.url, headers=headers, data=body, timeout=10)
    assert response.status_code < 500, response.text
    assert len(fuzz_receiver.deliveries) == before + 1
    delivery = fuzz_receiver.deliveries[-1]
    assert delivery.status == response.status_code
    if delivery.outcome == "rejected":
        assert delivery.violations and all(v.code in response.text for v in delivery.violations)
    else:
        assert delivery.outcome == "accepted" and delivery.events is not None


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count sockets")
def test_start_stop_cycles_leave_no_thread_or_socket(make_ce_receiver) -> None:  # type: ignore[no-untyped-def]
    threads, fds = set(threading.enumerate()), _open_fds()
    slowest = 0.0
    for i in range(200):
        receiver = make_ce_receiver()
        if i % 20 == 0:
            assert requests.post(receiver.url, headers=binary(), timeout=5).status_code == 202
        started = time.monotonic()
        receiver.stop()
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 1.0
    assert set(threading.enumerate()) - threads == set()
    assert _open_fds() <= fds + 2  # allow the test runner's own files


def test_the_receiver_never_binds_beyond_loopback_by_default() -> None:
    with Receiver() as receiver:
        assert receiver._server.socket.getsockname()[0] == "127.0.0.1"


# -- a live fuzz on raw sockets: framing, nesting and charsets -------------------------------

HEAD = (
    "POST / HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: f\r\nce-source: /f\r\n"
    "ce-type: com.example.f\r\n"
)


def _chunked(body: bytes, sizes: list[int], broken: str) -> bytes:
    """`body` in chunks of the given sizes, with one kind of broken framing (or none)."""
    out, pos = b"", 0
    for size in sizes:
        piece = body[pos : pos + size]
        pos += len(piece)
        header = {"bad-hex": b"zz", "negative": b"-1", "overlong": b"1" * 40}.get(broken)
        out += (header or f"{len(piece):x}".encode()) + b"\r\n" + piece
        out += b"XX" if broken == "no-crlf" else b"\r\n"
        if not piece:
            break
    return out + b"0\r\n\r\n"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-16",
            "application/json; charset=undefined",
            "text/plain; charset=punycode",
            "text/plain; charset=latin-1",
            "application/cloudevents+json",
            "application/cloudevents-batch+json",
            "application/octet-stream",
        ]
    ),
    body=st.one_of(
        st.binary(max_size=200),
        st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.integers(1, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
        st.sampled_from([b"NaN", b'{"x": Infinity}', b"\xff\xfe{\x00}", b'[{"specversion": {}}]']),
    ),
    framing=st.sampled_from(["length", "chunked", "bad-hex", "negative", "overlong", "no-crlf"]),
    sizes=st.lists(st.integers(0, 64), min_size=1, max_size=5),
)
def test_any_framing_nesting_or_charset_is_answered_without_5xx_and_recorded(
    fuzz_receiver: Receiver, content_type: str, body: bytes, framing: str, sizes: list[int]
) -> None:
    """Hardening items 4 and 5, live: the receiver never answers 5xx on its own, and records
    every message once with an outcome."""
    head = HEAD + f"Content-Type: {content_type}\r\n"
    if framing == "length":
        message = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    else:
        broken = "" if framing == "chunked" else framing
        message = f"{head}Transfer-Encoding: chunked\r\n\r\n".encode()
        message += _chunked(body, [*sizes, len(body)], broken)
    before = len(fuzz_receiver.deliveries)
    with socket.create_connection(("127.0.0.1", fuzz_receiver.port), timeout=10) as sock:
        sock.sendall(message)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed without an answer"
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status < 500, answer[:300]
    deliveries = fuzz_receiver.deliveries
    assert len(deliveries) == before + 1, "every message is recorded, once"
    delivery = deliveries[-1]
    assert delivery.outcome in ("accepted", "rejected") and delivery.status == status
    if delivery.outcome == "rejected":
        assert delivery.violations
