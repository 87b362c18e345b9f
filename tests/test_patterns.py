"""Compression bounds, source + id uniqueness and trace propagation."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest
import requests
from helpers import binary

from pytest_cloudevents import Client, EventFactory, Receiver, match, same_trace
from pytest_cloudevents.config import Options
from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.driver import drive
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.recording.store import LocalRecording
from pytest_cloudevents.wire import Headers

MAX = 1024 * 1024


def test_a_zip_bomb_is_413_within_max_body_of_memory() -> None:
    """A 10 KB gzip body that inflates to 10 MiB against max_body = 1 MiB: refused as
    body-too-large, and decoding it never holds much more than max_body."""
    bomb = gzip.compress(b" " * (10 * MAX))
    assert len(bomb) < 12 * 1024
    recording = LocalRecording(Options(max_body=MAX))
    app = DeliveryApp(recording)
    headers = Headers({**binary(), "content-encoding": "gzip"})
    tracemalloc.start()
    try:
        answer = drive(app.deliver(Request("POST", "/", headers, bomb)), lambda hold: "elapsed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status == 413
    [delivery] = recording.log.snapshot()
    assert delivery.codes == ["body-too-large"] and delivery.content_encoding == "gzip"
    assert peak < 1.5 * MAX, f"decoding the bomb held {peak / MAX:.2f}x max_body"


def test_a_corrupt_or_truncated_body_is_invalid_encoding(ce_receiver: Receiver) -> None:
    good = gzip.compress(b'{"n": 1}')
    for body in (b"\x1f\x8b garbage", good[:-6]):
        headers = {**binary(), "content-encoding": "gzip"}
        assert requests.post(ce_receiver.url, headers=headers, data=body).status_code == 400
    ce_receiver.assert_rejected("invalid-encoding", count=2)


def test_compress_is_checked(ce_receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="'gzip', 'deflate' or None"):
        Client(compress="br")
    event = EventFactory(1).make("com.example.t", data={"n": 1})
    with Client(ce_receiver.url) as client:
        assert client.send(event, compress="gzip").is_ack
        with pytest.raises(ValueError, match="'gzip', 'deflate' or None"):
            client.send(event, compress="zip")
    assert ce_receiver.deliveries[0].content_encoding == "gzip"


def test_retries_are_not_duplicates_but_a_reused_id_is(ce_receiver: Receiver) -> None:
    factory = EventFactory(1)
    order = factory.make("com.example.order.created", id="o-1", data={"total": 3})
    with Client(ce_receiver.url) as client:
        client.send(order)
        client.send(order)  # a retry: the same event again
        ce_receiver.assert_unique()
        with pytest.raises(AssertionError, match=r"delivery #2 re-sends delivery #1"):
            ce_receiver.assert_unique(retries=False)
        client.send(factory.make("com.example.order.shipped", id="o-1", data={"total": 3}))
    [group] = ce_receiver.duplicates()
    assert len(group) == 3
    with pytest.raises(AssertionError) as info:
        ce_receiver.assert_unique()
    text = str(info.value)
    assert "source '/pytest-cloudevents' + id 'o-1' names two different events" in text
    assert "delivery #1 and delivery #3" in text
    assert "type ('com.example.order.created' != 'com.example.order.shipped')" in text


def test_same_trace_matches_the_trace_not_the_span() -> None:
    factory = EventFactory(2)
    parent = factory.traceparent()
    order = factory.make("com.example.order.created", traceparent=parent)
    child = factory.make("com.example.paid", traceparent=parent[:36] + "00f067aa0ba902b7-01")
    stranger = factory.make("com.example.paid", traceparent=factory.traceparent())
    assert child == match(traceparent=same_trace(order))
    assert child == match(traceparent=same_trace(parent))
    [why] = match(traceparent=same_trace(order)).explain(stranger)
    assert "the trace was not propagated" in why
    [missing] = match(traceparent=same_trace(order)).explain(factory.make("com.example.x"))
    assert "it is missing" in missing
    with pytest.raises(ValueError, match="carries a traceparent"):
        same_trace(factory.make("com.example.x"))
    with pytest.raises(ValueError, match="valid W3C traceparent"):
        same_trace("00-00000000000000000000000000000000-00f067aa0ba902b7-01")
