"""Platform contracts, row by row of `../shared/platforms.md` section 7's table ("Comparison"),
on the delivery side (`ce_client.deliver(..., platform=...)` to a real receiver on a socket
whose fault rules play the subscriber's answers), on the ingress side (`make_ce_receiver(
platform=...)` answering as the platform's ingress), and the schedules in virtual time.

Each test names the row (and the cell) it guards."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from pytest_cloudevents import Client, EventFactory, Receiver, event_dict, faults, platforms
from pytest_cloudevents.platforms import Delivered
from pytest_cloudevents.platforms.contract import Call, Response, Wait
from pytest_cloudevents.platforms.durations import seconds_of
from pytest_cloudevents.platforms.eventgrid import SCHEDULE
from pytest_cloudevents.wire import Headers

MakeReceiver = Callable[..., Receiver]


@pytest.fixture
def event_factory() -> EventFactory:
    return EventFactory(seed=7)


def _deliver(
    client: Client, receiver: Receiver, platform: Any, factory: EventFactory, **kw: Any
) -> Delivered:
    event = factory.make("com.example.order.placed", data={"n": 1})
    return client.deliver(event, to=receiver.url, platform=platform, **kw)


def _dapr(**kw: Any) -> platforms.Dapr:
    """Dapr with a declarative subscription to `orders` on route /orders."""
    subscription: dict[str, Any] = {"pubsubname": "pubsub", "topic": "orders", "route": "/orders"}
    subscription.update(kw.pop("subscription", {}))
    return platforms.dapr(subscriptions=[subscription], **kw)


# -- row "Success" ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_row_success_knative_any_2xx(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int
) -> None:
    ce_receiver.inject(faults.status(status))
    result = _deliver(ce_client, ce_receiver, "knative", event_factory)
    assert result.verdict == "delivered" and [a.reading for a in result.attempts] == ["success"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty body"),
        (b"[1, 2]", "a body that is no object"),
        (b'{"status": "SUCCESS"}', "SUCCESS"),
        (b'{"status": ""}', "an empty status"),
        (b'{"other": 1}', "no status"),
    ],
)
def test_row_success_dapr_2xx_and_the_body_status(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, body: bytes, why: str
) -> None:
    ce_receiver.inject(faults.status(200, body, {"Content-Type": "application/json"}))
    result = _deliver(ce_client, ce_receiver, _dapr(), event_factory, topic="orders")
    assert result.verdict == "delivered", why
    assert result.route == "/orders"


@pytest.mark.parametrize(("status", "success"), [(200, True), (204, True), (205, False)])
def test_row_success_eventgrid_200_to_204(
    ce_receiver: Receiver,
    ce_client: Client,
    event_factory: EventFactory,
    status: int,
    success: bool,
) -> None:
    ce_receiver.inject(faults.status(status), times=1)
    result = _deliver(ce_client, ce_receiver, "eventgrid", event_factory)
    assert result.attempts[0].reading == ("success" if success else "retry")
    assert result.verdict == "delivered"  # a 205 is retried, and the retry acknowledged


@pytest.mark.parametrize(("status", "success"), [(200, True), (201, True), (202, True),
                                                 (204, True), (203, False)])  # fmt: skip
def test_row_success_pubsub_push_102_200_201_202_204(
    ce_receiver: Receiver,
    ce_client: Client,
    event_factory: EventFactory,
    status: int,
    success: bool,
) -> None:
    """102 is in the list too (`Eventarc.read`); an HTTP/1.1 server cannot end a response
    with it, so it is not sent here."""
    ce_receiver.inject(faults.status(status), times=1)
    result = _deliver(ce_client, ce_receiver, "eventarc", event_factory)
    assert result.attempts[0].reading == ("success" if success else "retry")


@pytest.mark.parametrize(("status", "success"), [(200, True), (201, True), (202, True),
                                                 (204, True), (203, False)])  # fmt: skip
def test_row_success_webhook_200_201_202_204(
    ce_receiver: Receiver,
    ce_client: Client,
    event_factory: EventFactory,
    status: int,
    success: bool,
) -> None:
    ce_receiver.inject(faults.status(status))
    result = _deliver(ce_client, ce_receiver, "webhook", event_factory)
    assert result.is_success is success


# -- row "Retried" ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 408, 409, 429, 500, 503, 599])
def test_row_retried_knative_404_408_409_429_5xx(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int
) -> None:
    ce_receiver.inject(faults.status(status))
    result = _deliver(ce_client, ce_receiver, platforms.knative(retry=2), event_factory)
    assert [a.reading for a in result.attempts] == ["retry"] * 3
    assert result.verdict == "dropped" and result.reason == "retries exhausted"


def test_row_retried_knative_network_error(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.disconnect(), times=2)
    result = _deliver(ce_client, ce_receiver, platforms.knative(retry=2), event_factory)
    assert [a.status for a in result.attempts] == [None, None, 202]
    assert result.verdict == "delivered"
    ce_receiver.wait_for(count=1)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"status": "RETRY"}'),
        (200, b'{"status": "success"}'),  # statuses are case-sensitive: unknown is RETRY
        (200, b'{"status": "LATER"}'),
        (500, b""),
        (503, b""),
    ],
)
def test_row_retried_dapr_retry_unknown_and_non_2xx_but_404(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int, body: bytes
) -> None:
    ce_receiver.inject(faults.status(status, body))
    result = _deliver(ce_client, ce_receiver, _dapr(retry=1), event_factory, topic="orders")
    assert [a.reading for a in result.attempts] == ["retry", "retry"]
    assert result.verdict == "dropped"


@pytest.mark.parametrize("status", [404, 408, 429, 500, 503])
def test_row_retried_eventgrid_all_others(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int
) -> None:
    ce_receiver.inject(faults.status(status), times=1)
    result = _deliver(ce_client, ce_receiver, "eventgrid", event_factory)
    assert [a.reading for a in result.attempts] == ["retry", "success"]


@pytest.mark.parametrize("status", [400, 404, 500])
def test_row_retried_pubsub_push_all_others(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int
) -> None:
    ce_receiver.inject(faults.status(status), times=1)
    result = _deliver(ce_client, ce_receiver, "eventarc", event_factory)
    assert [a.reading for a in result.attempts] == ["retry", "success"]


@pytest.mark.parametrize(
    ("status", "retried"),
    [(408, True), (409, True), (429, True), (502, True), (400, False), (404, False)],
)
def test_row_retried_eventarc_advanced_408_409_429_5xx_only(
    ce_receiver: Receiver,
    ce_client: Client,
    event_factory: EventFactory,
    status: int,
    retried: bool,
) -> None:
    ce_receiver.inject(faults.status(status), times=1)
    result = _deliver(ce_client, ce_receiver, platforms.eventarc(retry="advanced"), event_factory)
    assert result.attempts[0].reading == ("retry" if retried else "terminal")


def test_row_retried_webhook_429_after_retry_after(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.throttle(7), times=2)
    result = _deliver(ce_client, ce_receiver, "webhook", event_factory)
    assert [a.status for a in result.attempts] == [429, 429, 202]
    assert result.gaps == [7.0, 7.0]


def test_row_retried_webhook_a_429_without_retry_after_breaks_the_spec(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(429))
    result = _deliver(ce_client, ce_receiver, "webhook", event_factory)
    assert result.verdict == "dropped" and "MUST send one" in result.reason


# -- row "Not retried" --------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 400, 401, 403, 405, 410, 413])
def test_row_not_retried_knative_3xx_and_other_4xx(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int
) -> None:
    ce_receiver.inject(faults.status(status))
    result = _deliver(ce_client, ce_receiver, platforms.knative(retry=5), event_factory)
    assert [a.reading for a in result.attempts] == ["terminal"]
    assert result.reason == "not retried"


@pytest.mark.parametrize(
    ("status", "body"), [(200, b'{"status":"DROP"}'), (404, b""), (404, b'{"status":"RETRY"}')]
)
def test_row_not_retried_dapr_drop_and_404(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int, body: bytes
) -> None:
    ce_receiver.inject(faults.status(status, body))
    result = _deliver(ce_client, ce_receiver, _dapr(retry=3), event_factory, topic="orders")
    assert [a.reading for a in result.attempts] == ["drop"]
    assert result.verdict == "dropped"


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_row_not_retried_eventgrid_400_401_403_413(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory, status: int
) -> None:
    ce_receiver.inject(faults.status(status))
    result = _deliver(ce_client, ce_receiver, "eventgrid", event_factory)
    assert [a.reading for a in result.attempts] == ["terminal"]
    assert result.verdict == "dropped"


def test_row_not_retried_webhook_410_stops(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(410))
    result = _deliver(ce_client, ce_receiver, "webhook", event_factory)
    assert [a.reading for a in result.attempts] == ["drop"] and "retired" in result.reason


# -- row "Ingress success" ----------------------------------------------------------------


def test_row_ingress_success_knative_202_with_its_attributes(
    make_ce_receiver: MakeReceiver, ce_client: Client, event_factory: EventFactory
) -> None:
    broker = make_ce_receiver(platform="knative", namespace="shop", broker="orders")
    url = broker.publish_url()
    assert url.endswith("/shop/orders")
    result = ce_client.send(event_factory.make("com.example.a"), to=url)
    assert result.status == 202 and result.body == b""
    assert result.headers["Allow"] == "POST, OPTIONS"
    (event,) = broker.wait_for(type="com.example.a")
    attributes = event.get_attributes()
    assert attributes["knativebrokerttl"] == 255
    assert str(attributes["knativearrivaltime"]).endswith("Z")


def test_row_ingress_success_dapr_204_and_its_envelope(make_ce_receiver: MakeReceiver) -> None:
    sidecar = make_ce_receiver(platform="dapr", app_id="checkout")
    answer = requests.post(sidecar.publish_url(topic="orders"), json={"orderId": 7}, timeout=5)
    assert answer.status_code == 204 and answer.content == b""
    (event,) = sidecar.wait_for(topic="orders")
    attributes = event.get_attributes()
    assert attributes["type"] == "com.dapr.event.sent"
    assert attributes["source"] == "checkout"
    assert attributes["pubsubname"] == "pubsub"
    assert attributes["datacontenttype"] == "application/json"
    assert attributes["traceid"] == attributes["traceparent"]
    assert event.get_data() == {"orderId": 7}


def test_row_ingress_success_eventgrid_200(
    make_ce_receiver: MakeReceiver, ce_client: Client, event_factory: EventFactory
) -> None:
    topic = make_ce_receiver(platform="eventgrid", key="secret-key")
    result = ce_client.send(
        event_factory.make("com.example.a"),
        to=topic.publish_url(),
        mode="structured",
        headers={"aeg-sas-key": "secret-key"},
    )
    assert result.status == 200 and json.loads(result.body) == {}
    topic.wait_for(type="com.example.a")


# -- row "Mode to subscriber" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "mode"),
    [
        (platforms.knative(), "binary"),
        (platforms.knative(format="json"), "structured"),
        (platforms.eventgrid(), "structured"),
        (platforms.eventarc(), "binary"),
        (platforms.webhook(), "binary"),
        (platforms.webhook(mode="structured"), "structured"),
    ],
)
def test_row_mode_to_subscriber(
    ce_receiver: Receiver,
    ce_client: Client,
    event_factory: EventFactory,
    platform: Any,
    mode: str,
) -> None:
    _deliver(ce_client, ce_receiver, platform, event_factory)
    (delivery,) = [d for d in ce_receiver.deliveries if d.method == "POST"]
    assert delivery.mode == mode


def test_row_mode_to_subscriber_dapr_structured_on_its_route(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    _deliver(ce_client, ce_receiver, _dapr(), event_factory, topic="orders")
    (delivery,) = ce_receiver.deliveries
    assert delivery.mode == "structured" and delivery.path == "/orders"
    attributes = delivery.events[0].get_attributes()
    assert (attributes["topic"], attributes["pubsubname"]) == ("orders", "pubsub")
    assert delivery.headers["traceparent"] == attributes["traceparent"]


def test_knative_sends_prefer_reply_and_kn_namespace_and_strips_the_ttl(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    event = event_factory.make("com.example.a", knativebrokerttl=200)
    ce_client.deliver(event, to=ce_receiver.url, platform=platforms.knative(namespace="shop"))
    (delivery,) = ce_receiver.deliveries
    assert delivery.headers["Prefer"] == "reply"
    assert delivery.headers["Kn-Namespace"] == "shop"
    attributes = delivery.events[0].get_attributes()
    assert "knativebrokerttl" not in attributes and "knativearrivaltime" in attributes


def test_eventgrid_sends_its_aeg_headers_after_the_handshake(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(503), times=1)
    result = _deliver(
        ce_client, ce_receiver, platforms.eventgrid(subscription="orders"), event_factory
    )
    assert result.handshake is not None and result.handshake.status == 200
    first, second = ce_receiver.deliveries
    assert (
        first.headers["aeg-delivery-count"] == "0" and second.headers["aeg-delivery-count"] == "1"
    )
    assert first.headers["aeg-subscription-name"] == "ORDERS"
    assert first.headers["aeg-event-type"] == "Notification"
    assert first.headers["WebHook-Request-Origin"] == "eventgrid.azure.net"
    assert first.headers["aeg-output-event-id"] == first.events[0].get_attributes()["id"]


def test_eventgrid_does_not_deliver_without_consent(
    ce_client: Client, event_factory: EventFactory
) -> None:
    """A Flask app without an OPTIONS answer of its own: Flask answers OPTIONS 200, but
    without WebHook-Allowed-Origin, which is no consent (the status alone is not)."""
    flask = pytest.importorskip("flask")
    app = flask.Flask("no_handshake")
    app.add_url_rule("/", "events", lambda: ("", 200), methods=["POST"])
    result = ce_client.deliver(event_factory.make("com.example.a"), to=app, platform="eventgrid")
    assert result.verdict == "dropped" and "handshake" in result.reason
    assert result.attempts == []


def test_eventarc_wraps_a_non_google_event_in_a_pubsub_message(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    event = event_factory.make("com.example.a", data={"n": 1}, region="eu")
    ce_client.deliver(
        event, to=ce_receiver.url, platform=platforms.eventarc(project="p", topic="t")
    )
    (got,) = ce_receiver.events
    attributes = got.get_attributes()
    assert attributes["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert attributes["source"] == "//pubsub.googleapis.com/projects/p/topics/t"
    assert attributes["id"] == event.get_attributes()["id"] and "time" in attributes
    data: Any = got.get_data()
    message = data["message"]
    assert json.loads(base64.b64decode(message["data"])) == {"n": 1}
    assert (
        message["attributes"]["type"] == "com.example.a" and message["attributes"]["region"] == "eu"
    )


# -- row "Schedule" -----------------------------------------------------------------------


def test_row_schedule_knative_default_broker_policy_exactly_in_virtual_time(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    """retry 10, exponential, PT0.2S: d*2^(k-1) as executed (zero-based), 204.6 s of
    platform time that takes no platform time to run."""
    ce_receiver.inject(faults.status(503))
    policy = platforms.knative(retry=10, backoff_policy="exponential", backoff_delay="PT0.2S")
    started = time.monotonic()
    result = _deliver(ce_client, ce_receiver, policy, event_factory)
    assert time.monotonic() - started < 10  # 204.6 s of schedule, not slept
    assert result.gaps == [round(0.2 * 2**k, 6) for k in range(10)]
    assert result.attempts[-1].at == pytest.approx(204.6)
    assert len(ce_receiver.deliveries) == 11


def test_row_schedule_knative_linear_first_retry_immediate(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(500))
    policy = platforms.knative(retry=4, backoff_policy="linear", backoff_delay="PT1S")
    assert _deliver(ce_client, ce_receiver, policy, event_factory).gaps == [0.0, 1.0, 2.0, 3.0]


def test_row_schedule_knative_retry_after_max(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    """With retryAfterMax, a 429's Retry-After lengthens the wait, up to the max; without
    it (the feature is off by default) Retry-After is ignored."""
    policy = dict(retry=2, backoff_policy="exponential", backoff_delay="PT1S")
    ce_receiver.inject(faults.throttle(30), times=2)
    capped = platforms.knative(**policy, retry_after_max="PT10S")  # type: ignore[arg-type]
    assert _deliver(ce_client, ce_receiver, capped, event_factory).gaps == [10.0, 10.0]
    ce_receiver.inject(faults.throttle(30), times=2)
    plain = platforms.knative(**policy)  # type: ignore[arg-type]
    assert _deliver(ce_client, ce_receiver, plain, event_factory).gaps == [1.0, 2.0]


def test_row_schedule_knative_without_a_delivery_spec_one_attempt(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(503))
    assert len(_deliver(ce_client, ce_receiver, "knative", event_factory).attempts) == 1


def test_row_schedule_dapr_none_by_default_and_the_resiliency_policy(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(500))
    assert (
        len(_deliver(ce_client, ce_receiver, _dapr(), event_factory, topic="orders").attempts) == 1
    )
    constant = _dapr(retry=3, duration="PT5S")
    assert (
        _deliver(ce_client, ce_receiver, constant, event_factory, topic="orders").gaps == [5.0] * 3
    )
    exponential = _dapr(retry=4, policy="exponential", duration=1, max_interval=5)
    gaps = _deliver(ce_client, ce_receiver, exponential, event_factory, topic="orders").gaps
    assert gaps == [1.0, 2.0, 4.0, 5.0]


def test_row_schedule_eventgrid_10s_to_12_hourly_within_24h(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    """10 s, 30 s, 1 m, 5 m, 10 m, 30 m, 1 h, 3 h, 6 h, then every 12 h, until the 24 h
    TTL: the 11th attempt comes at 82,000 s, a 12th would be past 86,400 s."""
    ce_receiver.inject(faults.status(500))
    result = _deliver(ce_client, ce_receiver, platforms.eventgrid(dead_letter=True), event_factory)
    assert result.gaps == [*SCHEDULE, 43200.0]
    assert result.attempts[-1].at == 82000.0
    assert result.dead_letter is not None
    assert result.dead_letter.get_attributes()["deadletterreason"] == "TimeToLiveExceeded"


def test_row_schedule_eventgrid_least_waits_and_max_attempts(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(503))  # 503: at least 30 s
    result = _deliver(ce_client, ce_receiver, platforms.eventgrid(max_attempts=3), event_factory)
    assert result.gaps == [30.0, 30.0] and result.verdict == "dropped"
    ce_receiver.reset()
    ce_receiver.inject(faults.status(408))  # 408: at least 2 minutes
    gaps = _deliver(ce_client, ce_receiver, platforms.eventgrid(max_attempts=3), event_factory).gaps
    assert gaps == [120.0, 120.0]


def test_row_schedule_pubsub_push_10s_doubling_to_600s(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(500))
    result = _deliver(ce_client, ce_receiver, platforms.eventarc(retention=3600), event_factory)
    assert result.gaps[:7] == [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0]
    assert set(result.gaps[7:]) == {600.0} and result.reason == "the message's retention ran out"
    assert result.attempts[-1].at <= 3600


def test_time_scale_sleeps_the_schedule_for_real(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(503), times=1)
    policy = platforms.knative(retry=1, backoff_policy="linear", backoff_delay=1)
    ce_receiver.inject(faults.status(503), times=1)
    started = time.monotonic()
    result = _deliver(
        ce_client,
        ce_receiver,
        platforms.knative(retry=2, backoff_policy="exponential", backoff_delay=1),
        event_factory,
        time_scale=0.2,
    )
    assert time.monotonic() - started >= 0.55  # 1 s + 2 s of schedule at a fifth
    assert result.gaps == [1.0, 2.0] and policy.backoff(1) == 0.0


# -- row "Timeout" ------------------------------------------------------------------------


def test_row_timeout_knative_delivery_timeout_is_retried(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.delay(3), times=1)
    policy = platforms.knative(retry=1, timeout="PT0.5S")
    result = _deliver(ce_client, ce_receiver, policy, event_factory)
    assert [a.status for a in result.attempts] == [None, 202]
    assert result.attempts[0].error is not None


@pytest.mark.parametrize(
    ("platform", "seconds"),
    [(platforms.eventgrid(), 30.0), (platforms.eventarc(), 10.0), (platforms.knative(), None)],
)
def test_row_timeout_each_platform_waits_its_own(platform: Any, seconds: float | None) -> None:
    """Event Grid waits 30 s, a push subscription its ack deadline (10 s); Knative none
    unless delivery.timeout (the client's own timeout then applies)."""
    plan = platform.plan(EventFactory(seed=1).make("com.example.a"), "http://x/")
    step = next(plan)
    if step.method == "OPTIONS":
        step = plan.send(Response(200, Headers([("WebHook-Allowed-Origin", "*")])))
    assert isinstance(step, Call) and step.timeout == seconds


# -- row "Dead-letter marks" --------------------------------------------------------------


def test_row_dead_letter_knative_errordest_code_and_data(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    """`knativeerrordata` is the body in padded base64, cut to 1,024 characters."""
    ce_receiver.inject(faults.status(500, b"x" * 2000))
    result = _deliver(ce_client, ce_receiver, platforms.knative(dead_letter=True), event_factory)
    assert result.verdict == "dead-lettered" and result.dead_letter is not None
    marks = result.dead_letter.get_attributes()
    assert marks["knativeerrordest"] == ce_receiver.url
    assert marks["knativeerrorcode"] == 500
    assert len(marks["knativeerrordata"]) == 1024 and marks["knativeerrordata"].startswith("eHh4")


def test_row_dead_letter_knative_sent_to_the_sink(
    make_ce_receiver: MakeReceiver, ce_client: Client, event_factory: EventFactory
) -> None:
    subscriber, sink = make_ce_receiver(), make_ce_receiver()
    subscriber.inject(faults.status(400, "no such order"))
    policy = platforms.knative(dead_letter=sink.url)
    result = _deliver(ce_client, subscriber, policy, event_factory)
    (dead,) = sink.wait_for(type="com.example.order.placed")
    # binary mode carries every attribute as a string
    assert dead.get_attributes()["knativeerrorcode"] == "400"
    assert result.dead_letter is not None
    assert result.dead_letter.get_attributes()["knativeerrorcode"] == 400


def test_row_dead_letter_knative_network_error_code_500(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.disconnect())
    result = _deliver(ce_client, ce_receiver, platforms.knative(dead_letter=True), event_factory)
    assert result.dead_letter is not None
    marks = result.dead_letter.get_attributes()
    assert marks["knativeerrorcode"] == 500
    data = base64.b64decode(marks["knativeerrordata"]).decode()
    assert data.startswith("dispatch error:")


def test_row_dead_letter_dapr_original_to_the_dead_letter_topic(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    """No marks: the envelope goes to `deadLetterTopic` as it was; without a retry policy
    a failure goes there at once."""
    ce_receiver.inject(faults.status(500))
    dapr = _dapr(subscription={"deadLetterTopic": "orders-dead"})
    result = _deliver(ce_client, ce_receiver, dapr, event_factory, topic="orders")
    assert result.verdict == "dead-lettered" and len(result.attempts) == 1
    assert result.dead_letter is not None
    assert event_dict(result.dead_letter) == event_dict(ce_receiver.deliveries[0].events[0])


def test_row_dead_letter_eventgrid_marks(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(404))
    policy = platforms.eventgrid(max_attempts=2, dead_letter=True)
    result = _deliver(ce_client, ce_receiver, policy, event_factory)
    assert result.dead_letter is not None
    marks = result.dead_letter.get_attributes()
    assert marks["deadletterreason"] == "MaxDeliveryAttemptsExceeded"
    assert marks["deliveryattempts"] == 2
    assert marks["lastdeliveryoutcome"] == "NotFound"
    assert marks["publishtime"].endswith("Z")
    ce_receiver.reset()
    ce_receiver.inject(faults.status(400))
    result = _deliver(ce_client, ce_receiver, policy, event_factory)
    assert result.dead_letter is not None
    assert result.dead_letter.get_attributes()["lastdeliveryoutcome"] == "BadRequest"
    assert (
        result.dead_letter.get_attributes()["deadletterreason"]
        == "UndeliverableDueToHttpBadRequest"
    )


def test_row_dead_letter_pubsub_after_max_delivery_attempts(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(500))
    policy = platforms.eventarc(dead_letter=True, max_delivery_attempts=5)
    result = _deliver(ce_client, ce_receiver, policy, event_factory)
    assert len(result.attempts) == 5 and result.gaps == [10.0, 20.0, 40.0, 80.0]
    assert result.dead_letter is not None
    dead: Any = result.dead_letter.get_data()
    attributes = dead["message"]["attributes"]
    assert attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    first: Any = ce_receiver.deliveries[0].events[0].get_data()
    assert first["deliveryAttempt"] == 1


# -- replies ------------------------------------------------------------------------------


def test_knative_takes_a_cloudevent_in_any_2xx_as_a_reply(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    reply = event_factory.make("com.example.order.confirmed")
    ce_receiver.inject(faults.reply(reply, status=201))
    result = _deliver(ce_client, ce_receiver, "knative", event_factory)
    assert result.verdict == "replied" and result.reply is not None
    assert event_dict(result.reply) == event_dict(reply)


def test_knative_broker_retries_a_2xx_body_that_is_no_cloudevent(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    """A Trigger's filter answers 502 for it; a channel Subscription ignores the body."""
    ce_receiver.inject(faults.status(200, "thanks"))
    trigger = _deliver(ce_client, ce_receiver, platforms.knative(retry=1), event_factory)
    assert [a.reading for a in trigger.attempts] == ["retry", "retry"]
    subscription = platforms.knative(retry=1, kind="subscription")
    assert _deliver(ce_client, ce_receiver, subscription, event_factory).verdict == "delivered"


# -- Dapr: discovery and routing ----------------------------------------------------------


def test_dapr_routes_by_cel_rules_in_order_then_default(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    pytest.importorskip("celpy", reason="the dapr extra brings cel-python")
    dapr = _dapr(
        subscription={
            "route": "/fallback",
            "routes": {
                "rules": [
                    {"match": 'event.type == "com.example.widget"', "path": "/widgets"},
                    {"match": "event.data.n > 2", "path": "/big"},
                ],
                "default": "/other",
            },
        }
    )
    cases = [("com.example.widget", 1, "/widgets"), ("com.example.gadget", 5, "/big"),
             ("com.example.gadget", 1, "/other")]  # fmt: skip
    for kind, n, path in cases:
        event = event_factory.make(kind, data={"n": n})
        result = ce_client.deliver(event, to=ce_receiver.url, platform=dapr, topic="orders")
        assert result.route == path, kind
    assert [d.path for d in ce_receiver.deliveries] == ["/widgets", "/big", "/other"]


def test_dapr_a_rule_that_fails_to_evaluate_drops_the_message(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    pytest.importorskip("celpy", reason="the dapr extra brings cel-python")
    dapr = _dapr(
        subscription={"routes": {"rules": [{"match": "event.data.missing > 1", "path": "/x"}]}}
    )
    result = _deliver(ce_client, ce_receiver, dapr, event_factory, topic="orders")
    assert result.verdict == "dropped" and "failed" in result.reason
    assert ce_receiver.deliveries == []


def test_dapr_discovers_subscriptions_from_the_app(
    ce_client: Client, event_factory: EventFactory
) -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("orders")
    subscriptions = [{"pubsubname": "pubsub", "topic": "orders", "route": "/on-order"}]
    app.add_url_rule("/dapr/subscribe", "subscribe", lambda: flask.jsonify(subscriptions))
    app.add_url_rule("/on-order", "on_order", lambda: {"status": "SUCCESS"}, methods=["POST"])
    dapr = platforms.dapr(app_id="orders")
    (found,) = dapr.subscriptions(app, client=ce_client)
    assert (found.topic, found.route) == ("orders", "/on-order")
    result = ce_client.deliver(
        event_factory.make("com.example.a"), to=app, platform=dapr, topic="orders"
    )
    assert result.verdict == "delivered" and result.route == "/on-order"
    missing = ce_client.deliver(
        event_factory.make("com.example.a"), to=app, platform=dapr, topic="x"
    )
    assert missing.verdict == "dropped" and "no topic 'x'" in missing.reason


def test_dapr_bulk_subscription_reads_statuses_per_entry(
    ce_client: Client, event_factory: EventFactory
) -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("bulk")
    seen: list[dict[str, Any]] = []

    def on_bulk() -> dict[str, Any]:
        seen.append(flask.request.get_json())
        return {
            "statuses": [{"entryId": "0", "status": "SUCCESS"}, {"entryId": "1", "status": "DROP"}]
        }

    app.add_url_rule("/orders", "bulk", on_bulk, methods=["POST"])
    dapr = _dapr(subscription={"bulkSubscribe": {"enabled": True}})
    events = [event_factory.make("com.example.a") for _ in range(3)]
    result = ce_client.deliver(events, to=app, platform=dapr, topic="orders")
    assert result.entries == {"0": "SUCCESS", "1": "DROP", "2": "RETRY"}  # a missing entry: RETRY
    (body,) = seen
    assert body["type"] == "com.dapr.event.sent.bulk" and len(body["entries"]) == 3
    assert body["entries"][0]["event"]["topic"] == "orders"


def test_dapr_sends_the_app_token(
    ce_receiver: Receiver, ce_client: Client, event_factory: EventFactory
) -> None:
    _deliver(ce_client, ce_receiver, _dapr(app_token="t0k"), event_factory, topic="orders")
    assert ce_receiver.deliveries[0].headers["dapr-api-token"] == "t0k"


# -- async --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_deliver_runs_the_same_plan(
    ce_receiver: Receiver, event_factory: EventFactory
) -> None:
    pytest.importorskip("httpx")
    from pytest_cloudevents import AsyncClient

    ce_receiver.inject(faults.status(503), times=2)
    policy = platforms.knative(retry=3, backoff_policy="exponential", backoff_delay="PT1S")
    async with AsyncClient() as client:
        result = await client.deliver(
            event_factory.make("com.example.a"), to=ce_receiver.url, platform=policy
        )
    assert result.verdict == "delivered" and result.gaps == [1.0, 2.0]


# -- arguments ----------------------------------------------------------------------------


def test_wrong_platform_arguments_raise_saying_what_to_pass(
    ce_client: Client, event_factory: EventFactory
) -> None:
    event = event_factory.make("com.example.a")
    with pytest.raises(ValueError, match="unknown platform 'kafka'"):
        ce_client.deliver(event, to="http://127.0.0.1:1/", platform="kafka")
    with pytest.raises(TypeError, match="platform takes a name"):
        ce_client.deliver(event, to="http://127.0.0.1:1/", platform=3)
    with pytest.raises(TypeError, match="topic= is Dapr's"):
        ce_client.deliver(event, to="http://127.0.0.1:1/", platform="knative", topic="t")
    with pytest.raises(ValueError, match="backoff_policy is 'exponential' or 'linear'"):
        platforms.knative(backoff_policy="fibonacci")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        platforms.knative(backoff_delay="soon")
    with pytest.raises(ValueError, match="years and months"):
        seconds_of("backoff_delay", "P1M")
    with pytest.raises(ValueError, match="max_attempts"):
        platforms.eventgrid(max_attempts=31)
    with pytest.raises(ValueError, match="no ingress"):
        Receiver(platform="eventarc")
    with pytest.raises(TypeError, match=r"platforms.knative\(namespac=...\)"):
        Receiver(platform=platforms.knative(), namespac="x")


def test_iso_durations_as_knative_writes_them() -> None:
    assert seconds_of("d", "PT0.2S") == 0.2
    assert seconds_of("d", "PT1M30S") == 90.0
    assert seconds_of("d", "P1DT1H") == 90000.0
    assert seconds_of("d", 1.5) == 1.5 and seconds_of("d", None) is None


def test_a_plan_is_a_generator_of_calls_and_waits() -> None:
    """The clients drive it; nothing in the plan opens a socket."""
    plan = platforms.knative(retry=1, backoff_policy="linear", backoff_delay=1).plan(
        EventFactory(seed=1).make("com.example.a"), "http://x/"
    )
    call = next(plan)
    assert isinstance(call, Call) and call.method == "POST"
    assert isinstance(plan.send(Response(503, Headers([]))), Wait)
    assert isinstance(plan.send(None), Call)
    with pytest.raises(StopIteration) as stop:
        plan.send(Response(202, Headers([])))
    assert stop.value.value.verdict == "delivered"


# -- as users meet it ---------------------------------------------------------------------


def test_a_users_suite_with_platform_receivers_and_deliveries(pytester: pytest.Pytester) -> None:
    """A test file as a user writes it: a producer meets a Knative broker and an Event Grid
    topic, a consumer is delivered to as Knative delivers; the failure of a consumer that
    answers 500 reads as Knative reads it."""
    pytester.makepyfile(
        test_user="""
        import requests
        from pytest_cloudevents import faults, platforms

        def test_producer_to_broker(make_ce_receiver, ce_events):
            broker = make_ce_receiver(platform="knative")
            event = ce_events.make("com.example.a")
            answer = requests.post(broker.publish_url(), headers={
                "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s",
                "ce-type": "com.example.a"}, timeout=5)
            assert answer.status_code == 202
            assert broker.wait_for(type="com.example.a")

        def test_producer_to_topic(make_ce_receiver):
            topic = make_ce_receiver(platform="eventgrid", key="K")
            answer = requests.post(topic.publish_url(), json=[], timeout=5)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "Unauthorized"
            topic.assert_rejected("unauthorized")

        def test_consumer_retried(ce_receiver, ce_client, ce_events):
            ce_receiver.inject(faults.status(503), times=2)
            result = ce_client.deliver(ce_events.make("com.example.a"), to=ce_receiver.url,
                platform=platforms.knative(retry=3, backoff_policy="linear", backoff_delay=1))
            assert result.verdict == "delivered" and result.gaps == [0.0, 1.0]

        def test_consumer_that_fails(ce_receiver, ce_client, ce_events):
            ce_receiver.inject(faults.status(500))
            result = ce_client.deliver(ce_events.make("com.example.a"), to=ce_receiver.url,
                platform=platforms.knative(retry=1))
            assert result.verdict == "delivered", result.describe()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*knative delivery to http://127.0.0.1:*/: dropped*",
            "*attempt 1 at 0s: 500 -> retry (500 is retried)*",
            "*attempt 2 at 0s: 500 -> retry*",
        ]
    )


def test_an_ingress_that_raises_is_a_recorded_error_not_a_crash() -> None:
    """The guard covers the platform's steps: what its code raises is answered 500 and
    recorded as `error`, like any other exception of a delivery."""
    from pytest_cloudevents.delivery.answers import Settled
    from pytest_cloudevents.delivery.app import local_app
    from pytest_cloudevents.delivery.exchange import Answer, Request
    from pytest_cloudevents.delivery.ingress import Refusal
    from pytest_cloudevents.platforms.contract import IngressBase
    from pytest_cloudevents.spec.rules import Violation

    class Broken(IngressBase):
        name = "broken"

        def admit(self, request: Request) -> Refusal | None:
            raise RuntimeError("admit failed")

        def answer(self, settled: Settled, violations: list[Violation]) -> Settled:
            raise RuntimeError("answer failed")

    app = local_app(None, {}, ingress=Broken())
    headers = Headers([("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "com.example.a"),
                       ("ce-specversion", "1.0")])  # fmt: skip
    answer = app.deliver(Request.from_http("POST", "/", headers, b"", max_body=100))
    assert isinstance(answer, Answer) and answer.status == 500
    assert b"the broken ingress raised RuntimeError: answer failed" in answer.body
    (delivery,) = app.recording.log.snapshot()
    assert delivery.outcome == "error"
