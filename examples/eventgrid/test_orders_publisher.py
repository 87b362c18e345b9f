"""The Event Grid recipe: the producer publishes with azure-eventgrid to a receiver that
answers as an Event Grid topic (no option but the key), and the webhook is delivered to as
Event Grid delivers (the handshake, then structured POSTs, retried on its schedule)."""

import pytest

pytest.importorskip("azure.eventgrid", reason="pip install 'pytest-cloudevents[examples]'")

from orders_publisher import STORED, create_webhook, publish_orders

from pytest_cloudevents import faults, platforms

KEY = "c2VjcmV0LWtleS1vZi10aGUtdG9waWM="


def test_the_producer_publishes_to_event_grid(make_ce_receiver):
    topic = make_ce_receiver(platform="eventgrid", key=KEY)
    publish_orders(topic.publish_url(), KEY, [{"order_id": "A1"}, {"order_id": "A2"}])
    events = topic.wait_for(type="com.example.order.placed", count=2)
    assert [e.get_data()["order_id"] for e in events] == ["A1", "A2"]


def test_a_wrong_key_is_refused_as_event_grid_refuses_it(make_ce_receiver):
    from azure.core.exceptions import ClientAuthenticationError

    topic = make_ce_receiver(platform="eventgrid", key=KEY)
    with pytest.raises(ClientAuthenticationError):
        publish_orders(topic.publish_url(), "not-the-key", [{"order_id": "A1"}])
    topic.assert_rejected("unauthorized")


def test_the_webhook_takes_deliveries_and_survives_a_retry(ce_client, ce_events):
    STORED.clear()
    app = create_webhook()
    order = ce_events.make("com.example.order.placed", data={"order_id": "B7"})
    result = ce_client.deliver(order, to=app, path="/events", platform="eventgrid")
    assert result.verdict == "delivered" and STORED == ["B7"]

    app.config["down"] = True
    result = ce_client.deliver(
        order, to=app, path="/events", platform=platforms.eventgrid(max_attempts=3)
    )
    assert result.verdict == "dropped"
    assert result.gaps == [30.0, 30.0]  # a 503 waits at least 30 s; virtual time, not slept


def test_the_receiver_is_a_webhook_too(ce_receiver, ce_client, ce_events):
    """ce_receiver answers the handshake; a fault plays the webhook's bad minute."""
    ce_receiver.inject(faults.status(500), times=2)
    order = ce_events.make("com.example.order.placed", data={"order_id": "C3"})
    result = ce_client.deliver(order, to=ce_receiver.url, platform="eventgrid")
    assert [a.status for a in result.attempts] == [500, 500, 202]
    assert result.gaps == [10.0, 30.0]
