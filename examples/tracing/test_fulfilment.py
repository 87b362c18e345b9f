"""Trace propagation: the consumer, called in-process, must carry the incoming event's
trace into the event it emits; `same_trace(event)` checks it."""

import pytest

pytest.importorskip("flask", reason="install flask to run this example")

from fulfilment import create_app

from pytest_cloudevents import same_trace


@pytest.fixture
def order(ce_events):
    return ce_events.make(
        "com.example.order.created", subject="o-3", traceparent=ce_events.traceparent()
    )


def test_the_follow_up_event_continues_the_trace(ce_client, ce_receiver, order):
    app = create_app(ce_receiver.url)
    assert ce_client.send(order, to=app).is_ack
    ce_receiver.assert_received(
        type="com.example.payment.requested", subject="o-3", traceparent=same_trace(order)
    )


def test_a_consumer_that_starts_a_new_trace_is_caught(ce_client, ce_receiver, order):
    app = create_app(ce_receiver.url, propagate=False)
    assert ce_client.send(order, to=app).is_ack
    with pytest.raises(AssertionError, match="the trace was not propagated"):
        ce_receiver.assert_received(
            type="com.example.payment.requested", traceparent=same_trace(order), timeout=0.5
        )
