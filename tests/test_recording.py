"""The delivery log: ordering, generations and waiting without polling."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import FrozenInstanceError, replace
from datetime import datetime, timezone

import pytest
from helpers import attr

from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.recording.log import DeliveryLog
from pytest_cloudevents.wire import Headers


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


def accepted(seq: int, *types: str) -> Delivery:
    from pytest_cloudevents.events import build

    events = [
        build({"id": f"{seq}-{i}", "source": "/", "type": t, "specversion": "1.0"}, None)
        for i, t in enumerate(types)
    ]
    return delivery(seq, outcome="accepted", events=events)


def test_deliveries_are_kept_in_arrival_order_whatever_order_they_finish() -> None:
    log = DeliveryLog()
    (s1, g, _, _), (s2, _, _, _) = log.begin(), log.begin()
    assert log.settle(accepted(s2, "b"), g)
    assert log.settle(accepted(s1, "a"), g)
    assert [d.seq for d in log.snapshot()] == [s1, s2]
    assert [attr(e, "type") for e in log.events()] == ["a", "b"]


def test_a_pending_delivery_is_in_the_log_until_it_settles() -> None:
    log = DeliveryLog()
    seq, generation, _, _ = log.begin()
    held = delivery(seq)
    log.add(held, generation)
    assert log.snapshot() == [held] and held.outcome == "pending"
    assert log.events() == []
    settled = replace(held, outcome="accepted", events=accepted(seq, "x").events)
    assert log.settle(settled, generation)
    assert log.snapshot() == [settled] and len(log.events()) == 1
    assert held.outcome == "pending"  # a reader's copy never changes under it


def test_a_delivery_is_frozen_for_its_readers() -> None:
    with pytest.raises(FrozenInstanceError):
        delivery(1).outcome = "accepted"  # type: ignore[misc]


def test_a_delivery_from_before_clear_is_never_recorded_after_it() -> None:
    log = DeliveryLog()
    seq, generation, _, cancelled = log.begin()
    log.add(delivery(seq), generation)
    log.clear()
    assert cancelled.is_set()  # its delay, if any, is cut short
    assert not log.settle(accepted(seq, "x"), generation)
    assert len(log) == 0 and log.events() == []
    assert not log.begin().cancelled.is_set()  # the next generation starts uncancelled
    log.cancel_in_flight()
    assert log.begin().cancelled.is_set()


def test_wait_wakes_on_settle_and_times_out() -> None:
    log = DeliveryLog()
    seq, generation, _, _ = log.begin()
    ready = threading.Event()

    def later() -> None:
        ready.wait(1)
        log.settle(accepted(seq, "x"), generation)

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    ready.set()
    found, ok = log.wait_events(lambda e: True, lambda n: n >= 1, timeout=10)
    thread.join()
    assert ok and len(found) == 1
    assert time.monotonic() - started < 5
    found, ok = log.wait_events(lambda e: True, lambda n: n >= 2, timeout=0.05)
    assert not ok and len(found) == 1


def test_waits_look_only_at_new_events() -> None:
    """The matcher runs once per accepted event however often the waiter wakes."""
    log = DeliveryLog()
    looked: list[str] = []
    done = threading.Event()

    def matches(event: object) -> bool:
        looked.append(attr(event, "id"))
        return True

    def feed() -> None:
        for _ in range(50):
            seq, generation, _, _ = log.begin()
            log.settle(accepted(seq, "x"), generation)
        done.set()

    thread = threading.Thread(target=feed)
    thread.start()
    found, ok = log.wait_events(matches, lambda n: n >= 50, timeout=10)
    thread.join()
    assert ok and len(found) == 50
    assert len(looked) == 50 and len(set(looked)) == 50


def test_an_event_settled_late_is_found_in_arrival_order() -> None:
    log = DeliveryLog()
    (s1, g, _, _), (s2, _, _, _) = log.begin(), log.begin()
    log.settle(accepted(s2, "second"), g)
    found, _ = log.wait_events(lambda e: True, lambda n: n >= 1, timeout=1)
    assert [attr(e, "type") for e in found] == ["second"]
    log.settle(accepted(s1, "first"), g)
    found, ok = log.wait_events(lambda e: True, lambda n: n >= 2, timeout=1)
    assert ok and [attr(e, "type") for e in found] == ["first", "second"]


def test_summary_names_what_a_person_needs() -> None:
    d = delivery(3, outcome="faulted", status=None, fault="disconnect")
    assert d.summary() == "#3 POST / - type=- id=- -> faulted no response fault=disconnect"
    assert d.summary(1).startswith("#1 POST")
    with pytest.raises(ValueError, match="carries 0 events"):
        _ = d.event


def test_describe_numbers_from_one_and_shows_only_the_last_deliveries() -> None:
    log = DeliveryLog()
    log.clear()  # the sequence numbers go on; the numbers shown start again
    for _ in range(5):
        seq, generation, _, _ = log.begin()
        log.settle(delivery(seq, outcome="rejected"), generation)
    text = log.describe(limit=2)
    assert "3 earlier deliveries not shown" in text
    assert "#5 POST" in text and "#2 POST" not in text


def test_a_wait_for_one_id_looks_only_at_that_id() -> None:
    """`assert_received(id=...)` must not cost a scan of the whole log."""
    log = DeliveryLog()
    for _ in range(200):
        seq, generation, _, _ = log.begin()
        log.settle(accepted(seq, "x"), generation)
    looked: list[str] = []

    def matches(event: object) -> bool:
        looked.append(attr(event, "id"))
        return True

    found, ok = log.wait_events(matches, lambda n: n >= 1, 1, keys=[("id", "150-0")])
    assert ok and [attr(e, "id") for e in found] == ["150-0"]
    assert looked == ["150-0"]
    found, ok = log.wait_events(matches, lambda n: n >= 1, 0, keys=[("id", "missing")])
    assert not ok and found == []


def test_a_wait_on_type_or_source_looks_only_at_those_events() -> None:
    """Issue 27: `assert_received(type=...)` scanned the whole log (1.28 s at 1M deliveries
    for one match); it looks at the smallest index entry among the attributes it fixes."""
    log = DeliveryLog()
    for n in range(300):
        seq, generation, _, _ = log.begin()
        log.settle(accepted(seq, "rare" if n == 123 else "common"), generation)
    looked: list[str] = []

    def matches(event: object) -> bool:
        looked.append(attr(event, "type"))
        return bool(attr(event, "type") == "rare")

    keys = [("source", "/"), ("type", "rare")]  # the source is shared by all: type is smaller
    found, ok = log.wait_events(matches, lambda n: n >= 1, 1, keys=keys)
    assert ok and [attr(e, "id") for e in found] == [f"{124}-0"]
    assert looked == ["rare"]


def test_the_indexes_keep_arrival_order_when_a_held_delivery_settles_late() -> None:
    log = DeliveryLog()
    (s1, g, _, _), (s2, _, _, _) = log.begin(), log.begin()
    log.settle(accepted(s2, "t"), g)
    found, ok = log.wait_events(lambda e: True, lambda n: n >= 1, 0, keys=[("type", "t")])
    assert [attr(e, "id") for e in found] == [f"{s2}-0"]
    log.settle(accepted(s1, "t"), g)  # answered after the later one
    found, ok = log.wait_events(lambda e: True, lambda n: n >= 2, 0, keys=[("type", "t")])
    assert ok and [attr(e, "id") for e in found] == [f"{s1}-0", f"{s2}-0"]


def test_the_matcher_says_which_id_it_requires() -> None:
    from pytest_cloudevents import match

    assert match(id="a").required("id") == "a"
    assert (match(type="t") & match(id="a")).required("id") == "a"
    assert (match(id="a") | match(id="b")).required("id") is None
    assert match(id=re.compile("a")).required("id") is None


def test_a_delivery_begun_by_the_app_equals_one_built_by_its_constructor() -> None:
    """`Delivery.arrived` skips the frozen dataclass's `__init__` for speed: it must set
    exactly the fields the constructor sets, to the same defaults (a new field breaks this
    test, not the recording)."""
    import dataclasses
    from datetime import datetime, timezone

    from pytest_cloudevents.recording.delivery import Delivery
    from pytest_cloudevents.wire import Headers

    now, headers = datetime.now(timezone.utc), Headers({"ce-id": "1"})
    fast = Delivery.arrived(7, 1.5, now, "POST", "/p", "q=1", headers, b"{}", "127.0.0.1", None)
    built = Delivery(
        seq=7, received_at=1.5, timestamp=now, method="POST", path="/p", query="q=1",
        headers=headers, body=b"{}", remote_addr="127.0.0.1",
    )  # fmt: skip
    assert fast.__dict__ == built.__dict__
    assert sorted(fast.__dict__) == sorted(f.name for f in dataclasses.fields(Delivery))
    assert fast.events is not built.events  # each has its own lists


def test_the_after_test_check_reads_only_troubled_deliveries_numbered_in_arrival_order() -> None:
    """`troubled()` gives the rejected and `error` deliveries with their number in the
    log (arrival order, whatever order they settled in), so the three check points of
    every test cost what they report, not the log's size; a clear forgets them."""
    log = DeliveryLog()
    arrivals = [log.begin() for _ in range(4)]
    g = arrivals[0].generation
    log.settle(replace(delivery(arrivals[3].seq), outcome="error"), g)
    log.settle(accepted(arrivals[0].seq, "ok"), g)
    log.settle(replace(delivery(arrivals[1].seq), outcome="rejected"), g)
    log.settle(accepted(arrivals[2].seq, "ok"), g)
    assert [(n, d.outcome) for n, d in log.troubled()] == [(2, "rejected"), (4, "error")]
    log.clear()
    assert log.troubled() == []
