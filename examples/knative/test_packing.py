"""The Knative recipe: the service publishes to a receiver that answers as a Knative broker
(`/{namespace}/{broker}`, 202, `knativearrivaltime`), and a Trigger's delivery reaches it as
Knative delivers (binary, `Prefer: reply`, the broker's retry policy, replies in a 2xx)."""

import pytest

pytest.importorskip(
    "cloudevents.core", reason="this example is written for the cloudevents 2.x SDK"
)

from packing import announce_restock, create_app

from pytest_cloudevents import platforms

#: The broker's default delivery spec (config-br-defaults).
BROKER_DEFAULT = platforms.knative(retry=10, backoff_policy="exponential", backoff_delay="PT0.2S")


def test_the_service_publishes_to_the_broker(make_ce_receiver, monkeypatch):
    broker = make_ce_receiver(platform="knative", namespace="shop", broker="default")
    monkeypatch.setenv("K_SINK", broker.publish_url())
    assert announce_restock("SKU-1") == 202
    (event,) = broker.wait_for(type="com.example.stock.restocked")
    assert event.get_data() == {"sku": "SKU-1"}
    assert "knativearrivaltime" in event.get_attributes()


def test_a_trigger_delivers_and_takes_the_reply(ce_client, ce_events):
    order = ce_events.make("com.example.order.placed", data={"order_id": "K9"})
    result = ce_client.deliver(order, to=create_app(), platform=BROKER_DEFAULT)
    assert result.verdict == "replied"
    assert result.reply.get_data() == {"order_id": "K9"}


def test_a_malformed_event_is_not_retried(ce_client):
    """400, not 500: Knative retries a 5xx (ten times, here) and the malformed event
    with it; `pytest-cloudevents check URL --platform knative` scores this."""
    result = ce_client.send_raw({"ce-specversion": "1.0"}, b"", to=create_app())
    assert result.status == 400


def test_the_retry_schedule_of_the_broker_default(ce_receiver, ce_client, ce_events):
    from pytest_cloudevents import faults

    ce_receiver.inject(faults.status(503), times=3)
    result = ce_client.deliver(ce_events.make("com.example.order.placed"), to=ce_receiver.url,
                               platform=BROKER_DEFAULT)  # fmt: skip
    assert result.verdict == "delivered" and result.gaps == [0.2, 0.4, 0.8]
