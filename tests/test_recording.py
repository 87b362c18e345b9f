"""The delivery log: ordering, generations and waiting without polling."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import Headers

from pytest_cloudevents.recording import Delivery, DeliveryLog


def delivery(seq: int, **fields: object) -> Delivery:
    return Delivery(
        seq=seq,
        received_at=time.monotonic(),
        timestamp=datetime.now(timezone.utc),
        method="POST",
        path="/",
        query="",
        headers=Headers(),
        body=b"",
        remote_addr="127.0.0.1",
        **fields,  # type: ignore[arg-type]
    )


def test_deliveries_are_kept_in_arrival_order_whatever_order_they_finish() -> None:
    log = DeliveryLog()
    (s1, g, _, _), (s2, _, _, _) = log.begin(), log.begin()
    assert log.record(delivery(s2), g)
    assert log.record(delivery(s1), g)
    assert [d.seq for d in log] == [s1, s2]


def test_a_delivery_from_before_clear_is_never_recorded_after_it() -> None:
    log = DeliveryLog()
    seq, generation, _, cancelled = log.begin()
    log.clear()
    assert cancelled.is_set()  # its delay, if any, is cut short
    assert not log.record(delivery(seq), generation)
    assert len(log) == 0
    assert not log.begin().cancelled.is_set()  # the next generation starts uncancelled
    log.cancel_in_flight()
    assert log.begin().cancelled.is_set()


def test_wait_wakes_on_record_and_times_out() -> None:
    log = DeliveryLog()
    seq, generation, _, _ = log.begin()
    ready = threading.Event()

    def later() -> None:
        ready.wait(1)
        log.record(delivery(seq), generation)

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    ready.set()
    count, ok = log.wait(len, lambda n: n >= 1, timeout=10)
    thread.join()
    assert ok and count == 1
    assert time.monotonic() - started < 5
    count, ok = log.wait(len, lambda n: n >= 2, timeout=0.05)
    assert not ok and count == 1


def test_summary_names_what_a_person_needs() -> None:
    d = delivery(3, outcome="faulted", status=None, fault="disconnect")
    assert d.summary() == "#3 POST / - type=- id=- -> faulted no response fault=disconnect"
    with pytest.raises(ValueError, match="carries 0 events"):
        _ = d.event


def test_describe_shows_only_the_last_deliveries() -> None:
    log = DeliveryLog()
    for _ in range(5):
        seq, generation, _, _ = log.begin()
        log.record(delivery(seq), generation)
    text = log.describe(limit=2)
    assert "3 earlier deliveries not shown" in text
    assert "#5 POST" in text and "#2 POST" not in text
