"""The Dapr recipe: the app publishes to a receiver that answers as its sidecar (204, the
envelope's topic and pubsubname), and the sidecar's delivery reaches the app as Dapr
delivers: routed by the app's own `/dapr/subscribe`, structured, its answers read as Dapr
reads them (RETRY, DROP, SUCCESS, 404)."""

import pytest

pytest.importorskip("dapr.ext.fastapi", reason="pip install 'pytest-cloudevents[examples]'")

import storefront as checkout

from pytest_cloudevents import platforms

DAPR = platforms.dapr(app_id="checkout", retry=2, duration="PT1S")


@pytest.fixture(autouse=True)
def fresh():
    checkout.TAKEN.clear()
    checkout.WAREHOUSE["up"] = True


def test_the_app_publishes_through_its_sidecar(make_ce_receiver, monkeypatch):
    sidecar = make_ce_receiver(platform="dapr", app_id="checkout")
    monkeypatch.setenv("DAPR_HTTP_ENDPOINT", sidecar.url.rstrip("/"))
    assert checkout.publish_order({"id": "O1", "items": ["book"]}) == 204
    (event,) = sidecar.wait_for(type="com.example.order.placed")
    assert event.get_attributes()["topic"] == "orders"
    assert event.get_attributes()["pubsubname"] == "pubsub"


def order(ce_events, **data):
    return ce_events.make("com.example.order.placed", data={"id": "O2", "items": ["pen"], **data})


def test_success(ce_client, ce_events):
    result = ce_client.deliver(order(ce_events), to=checkout.app, platform=DAPR, topic="orders")
    assert result.verdict == "delivered" and result.route == "/events/pubsub/orders"
    assert checkout.TAKEN == ["O2"]


def test_retry_while_the_warehouse_is_down(ce_client, ce_events):
    checkout.WAREHOUSE["up"] = False
    result = ce_client.deliver(order(ce_events), to=checkout.app, platform=DAPR, topic="orders")
    assert [a.reading for a in result.attempts] == ["retry"] * 3
    assert result.gaps == [1.0, 1.0]
    assert result.verdict == "dead-lettered"  # the subscription's deadLetterTopic


def test_drop_an_order_that_can_never_be_taken(ce_client, ce_events):
    result = ce_client.deliver(
        order(ce_events, items=[]), to=checkout.app, platform=DAPR, topic="orders"
    )
    assert [a.reading for a in result.attempts] == ["drop"]
    assert result.dead_letter is not None  # dropped messages go to the dead-letter topic too


def test_404_is_a_drop_not_a_retry(ce_client, ce_events):
    result = ce_client.deliver(
        order(ce_events, shop="other"), to=checkout.app, platform=DAPR, topic="orders"
    )
    assert [a.status for a in result.attempts] == [404]
    assert result.attempts[0].reading == "drop"
