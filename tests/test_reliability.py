"""Reliability under load, bad input and churn. Bounded in count and time, loopback only."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from helpers import attr, binary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_cloudevents import Receiver

SENDERS, PER_SENDER = 8, 500


def test_concurrent_senders_lose_nothing_and_keep_their_order() -> None:
    with Receiver(wait_timeout=60) as receiver:

        def sender(n: int) -> list[int]:
            statuses = []
            with requests.Session() as session:
                for i in range(PER_SENDER):
                    headers = binary(ce_id=f"s{n}-{i}", ce_source=f"/sender/{n}")
                    statuses.append(
                        session.post(receiver.url, headers=headers, timeout=10).status_code
                    )
            return statuses

        with ThreadPoolExecutor(SENDERS) as pool:
            results = list(pool.map(sender, range(SENDERS)))
        assert all(status == 202 for statuses in results for status in statuses)
        events = receiver.wait_for(count=SENDERS * PER_SENDER, timeout=30)
        ids = [attr(e, "id") for e in events]
        assert len(ids) == SENDERS * PER_SENDER
        assert len(set(ids)) == len(ids), "an event was recorded twice"
        per_sender: dict[str, list[int]] = defaultdict(list)
        for event_id in ids:
            sender_id, index = event_id.split("-")
            per_sender[sender_id].append(int(index))
        assert all(order == list(range(PER_SENDER)) for order in per_sender.values())


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
