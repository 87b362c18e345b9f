"""Receivers that answer as a platform's ingress (`make_ce_receiver(platform=...)`), fact by
fact of `../shared/platforms.md` (1.1 Knative's broker, 2.5 Dapr's publish API, 3.1 Event
Grid's topics, 5 the webhook spec), with Azure's own publisher client where it applies, and
`check --platform` scoring consumers against each contract."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
import requests

from pytest_cloudevents import Client, EventFactory, Receiver, event_dict, faults, platforms
from pytest_cloudevents.cli import main
from pytest_cloudevents.testing.scorecard import run_check

MakeReceiver = Callable[..., Receiver]
KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def factory() -> EventFactory:
    return EventFactory(seed=3)


# -- Knative's broker (1.1) ---------------------------------------------------------------


@pytest.fixture
def broker(make_ce_receiver: MakeReceiver) -> Receiver:
    return make_ce_receiver(platform="knative", namespace="shop", broker="default")


def test_knative_options_answers_the_handshake_with_allow(broker: Receiver) -> None:
    answer = requests.options(broker.publish_url(), timeout=5)
    assert answer.status_code == 200
    assert answer.headers["WebHook-Allowed-Origin"] == "*"
    assert answer.headers["WebHook-Allowed-Rate"] == "*"
    assert answer.headers["Allow"] == "POST, OPTIONS"
    assert broker.deliveries == []


def test_knative_other_methods_405(
    broker: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    answer = requests.get(broker.publish_url(), timeout=5)
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST, OPTIONS"
    assert broker.deliveries == []  # a GET carries no message
    headers = {"ce-id": "1", "ce-source": "/s", "ce-type": "com.example.a", "ce-specversion": "1.0"}
    put = requests.put(broker.publish_url(), headers=headers, data=b"x", timeout=5)
    assert put.status_code == 405
    broker.assert_rejected("method-not-allowed")  # a PUT with a message is a delivery refused


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/", 404, "unknown-route"),
        ("/shop", 400, "malformed-route"),
        ("/shop/default/extra", 400, "malformed-route"),
        ("/shop/other", 404, "unknown-route"),
        ("/shop/default/", 202, None),  # a trailing / is fine
    ],
)
def test_knative_paths(
    broker: Receiver,
    ce_client: Client,
    factory: EventFactory,
    path: str,
    status: int,
    code: str | None,
) -> None:
    result = ce_client.send(factory.make("com.example.a"), to=broker.url_for(path))
    assert result.status == status
    if code is not None:
        (refused,) = broker.assert_rejected(code)
        assert "/shop/default" in refused.violations[0].message


def test_knative_an_invalid_event_is_400(broker: Receiver, ce_client: Client) -> None:
    result = ce_client.send_raw(
        {"ce-specversion": "1.0", "ce-source": "/s"}, b"", to=broker.publish_url()
    )
    assert result.status == 400
    broker.assert_rejected("missing-id")


def test_knative_ttl_is_decremented_and_an_exhausted_one_refused(
    broker: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    ce_client.send(factory.make("com.example.a", knativebrokerttl=5), to=broker.publish_url())
    (event,) = broker.wait_for(type="com.example.a")
    assert event.get_attributes()["knativebrokerttl"] == 4
    result = ce_client.send(
        factory.make("com.example.b", knativebrokerttl=1), to=broker.publish_url()
    )
    assert result.status == 400
    broker.assert_rejected("ttl-exhausted")


def test_knative_structured_mode_too(
    broker: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    result = ce_client.send(
        factory.make("com.example.a"), to=broker.publish_url(), mode="structured"
    )
    assert result.status == 202
    (delivery,) = broker.deliveries
    assert (
        delivery.mode == "structured"
        and "knativearrivaltime" in delivery.events[0].get_attributes()
    )


def test_knative_fault_rules_answer_as_given(
    broker: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    """A producer's retries are still tested: a rule's 503 is the broker's 503."""
    broker.inject(faults.status(503), times=1)
    assert ce_client.send(factory.make("com.example.a"), to=broker.publish_url()).status == 503
    assert ce_client.send(factory.make("com.example.a"), to=broker.publish_url()).status == 202


# -- Dapr's publish API (2.5) -------------------------------------------------------------


@pytest.fixture
def sidecar(make_ce_receiver: MakeReceiver) -> Receiver:
    return make_ce_receiver(platform="dapr", app_id="checkout", pubsubs=["pubsub", "kafka"])


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b'{"a": 1}', {"data": {"a": 1}}),
        ("application/json", b"not json", {"data": "not json"}),
        ("text/plain", b"hello", {"data": "hello"}),
        ("application/octet-stream", b"\x00\x01", {"data_base64": "AAE="}),
    ],
)
def test_dapr_wraps_a_payload_that_is_not_a_cloudevent(
    sidecar: Receiver, content_type: str, body: bytes, expected: dict[str, Any]
) -> None:
    url = sidecar.publish_url(topic="orders")
    answer = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=5)
    assert answer.status_code == 204
    (event,) = sidecar.wait_for(topic="orders")
    as_json = event_dict(event)
    assert as_json["type"] == "com.dapr.event.sent" and as_json["source"] == "checkout"
    assert as_json["datacontenttype"] == content_type
    for key, value in expected.items():
        assert as_json[key] == value


def test_dapr_passes_a_structured_cloudevent_through_with_topic_and_pubsubname(
    sidecar: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    sent = factory.make("com.example.order.placed", data={"n": 1})
    result = ce_client.send(
        sent, to=sidecar.publish_url(pubsub="kafka", topic="orders"), mode="structured"
    )
    assert result.status == 204
    (event,) = sidecar.wait_for(type="com.example.order.placed")
    attributes = event.get_attributes()
    assert attributes["id"] == sent.get_attributes()["id"]
    assert (attributes["topic"], attributes["pubsubname"]) == ("orders", "kafka")
    assert attributes["traceparent"].startswith("00-")


def test_dapr_wraps_a_binary_mode_cloudevent_and_says_so(
    sidecar: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    """The common bug: the client's default (binary) loses every attribute at Dapr."""
    ce_client.send(
        factory.make("com.example.order.placed", data={"n": 1}), to=sidecar.publish_url(topic="o")
    )
    (delivery,) = sidecar.deliveries
    assert delivery.events[0].get_attributes()["type"] == "com.dapr.event.sent"
    assert [w.code for w in delivery.warnings] == ["platform-wrapped"]
    assert "application/cloudevents+json" in delivery.warnings[0].message


def test_dapr_metadata_in_the_query(sidecar: Receiver) -> None:
    url = sidecar.publish_url(topic="orders")
    query = (
        "?metadata.cloudevent.id=my-id&metadata.cloudevent.type=com.example.x"
        "&metadata.ttlInSeconds=60"
    )
    requests.post(url + query, json={"a": 1}, timeout=5)
    raw = requests.post(url + "?metadata.rawPayload=true", data=b"raw", timeout=5)
    assert raw.status_code == 204
    first, second = sidecar.wait_for(topic="orders", count=2)
    attributes = event_dict(first)
    assert (attributes["id"], attributes["type"]) == ("my-id", "com.example.x")
    assert attributes["expiration"] > attributes["time"]
    assert event_dict(second)["source"] == "Dapr" and event_dict(second)["data_base64"] == "cmF3"


@pytest.mark.parametrize(
    ("path", "status", "error_code"),
    [
        ("/v1.0/publish/nope/orders", 404, "ERR_PUBSUB_NOT_FOUND"),
        ("/v1.0/publish/pubsub/", 404, "ERR_TOPIC_NAME_EMPTY"),
    ],
)
def test_dapr_error_bodies(sidecar: Receiver, path: str, status: int, error_code: str) -> None:
    answer = requests.post(sidecar.url_for(path), json={}, timeout=5)
    assert answer.status_code == status
    assert answer.json()["errorCode"] == error_code and answer.json()["message"]
    sidecar.assert_rejected("unknown-route")


def test_dapr_bad_metadata_is_400(sidecar: Receiver) -> None:
    url = sidecar.publish_url(topic="o") + "?metadata.ttlInSeconds=soon"
    answer = requests.post(url, json={}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "ERR_PUBSUB_REQUEST_METADATA"
    sidecar.assert_rejected("platform-metadata")


def test_dapr_an_invalid_cloudevent_is_400_with_an_error_code(sidecar: Receiver) -> None:
    body = json.dumps({"specversion": "1.0", "type": "com.example.a", "source": "/s"})
    answer = requests.post(
        sidecar.publish_url(topic="o"),
        data=body,
        headers={"Content-Type": "application/cloudevents+json"},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["errorCode"] == "ERR_PUBSUB_CLOUD_EVENTS_SER"
    sidecar.assert_rejected("missing-id")


# -- Event Grid's topics (3.1) ------------------------------------------------------------


@pytest.fixture
def topic(make_ce_receiver: MakeReceiver) -> Receiver:
    return make_ce_receiver(platform="eventgrid", key=KEY, token="entra-token")


def test_eventgrid_publisher_client_publishes_with_nothing_but_the_key(topic: Receiver) -> None:
    """azure-eventgrid's own client: it raises on anything but 200."""
    eventgrid = pytest.importorskip(
        "azure.eventgrid", reason="the examples extra brings azure-eventgrid"
    )
    from azure.core.credentials import AzureKeyCredential
    from azure.core.messaging import CloudEvent as AzureEvent

    client = eventgrid.EventGridPublisherClient(topic.publish_url(), AzureKeyCredential(KEY))
    client.send([AzureEvent(source="/orders", type="com.example.order.placed", data={"n": 1})])
    (event,) = topic.wait_for(type="com.example.order.placed")
    assert event.get_data() == {"n": 1}
    assert topic.deliveries[0].mode == "batch"


def test_eventgrid_sas_tokens_signed_with_the_key(topic: Receiver) -> None:
    eventgrid = pytest.importorskip(
        "azure.eventgrid", reason="the examples extra brings azure-eventgrid"
    )
    from azure.core.credentials import AzureSasCredential
    from azure.core.messaging import CloudEvent as AzureEvent

    endpoint = topic.publish_url().split("?")[0]
    good = eventgrid.generate_sas(endpoint, KEY, datetime.now(timezone.utc) + timedelta(hours=1))
    client = eventgrid.EventGridPublisherClient(topic.publish_url(), AzureSasCredential(good))
    client.send([AzureEvent(source="/orders", type="com.example.signed", data=None)])
    topic.wait_for(type="com.example.signed")
    expired = eventgrid.generate_sas(endpoint, KEY, datetime.now(timezone.utc) - timedelta(hours=1))
    late = eventgrid.EventGridPublisherClient(topic.publish_url(), AzureSasCredential(expired))
    from azure.core.exceptions import ClientAuthenticationError

    with pytest.raises(ClientAuthenticationError, match="expired"):
        late.send([AzureEvent(source="/orders", type="com.example.late", data=None)])
    topic.assert_rejected("unauthorized")


def test_eventgrid_wrong_key_is_401_with_a_json_error(topic: Receiver) -> None:
    eventgrid = pytest.importorskip(
        "azure.eventgrid", reason="the examples extra brings azure-eventgrid"
    )
    from azure.core.credentials import AzureKeyCredential
    from azure.core.exceptions import ClientAuthenticationError
    from azure.core.messaging import CloudEvent as AzureEvent

    client = eventgrid.EventGridPublisherClient(topic.publish_url(), AzureKeyCredential("wrong"))
    with pytest.raises(ClientAuthenticationError) as caught:
        client.send([AzureEvent(source="/orders", type="com.example.a", data=None)])
    assert caught.value.status_code == 401
    answer = requests.post(topic.publish_url(), json=[], timeout=5)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "Unauthorized"
    assert "aeg-sas-key" in answer.json()["error"]["message"]
    topic.assert_rejected("unauthorized", count=2)


@pytest.mark.parametrize(
    "headers",
    [
        {"aeg-sas-key": KEY},
        {"Authorization": f"SharedAccessKey {KEY}"},
        {"Authorization": "Bearer entra-token"},
    ],
)
def test_eventgrid_credentials(
    topic: Receiver, ce_client: Client, factory: EventFactory, headers: dict[str, str]
) -> None:
    result = ce_client.send(
        factory.make("com.example.a"), to=topic.publish_url(), headers=headers, mode="structured"
    )
    assert result.status == 200


def test_eventgrid_key_in_the_query(
    topic: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    url = topic.publish_url() + "&aeg-sas-key=" + quote(KEY, safe="")
    assert ce_client.send(factory.make("com.example.a"), to=url, mode="structured").status == 200


def test_eventgrid_413_past_its_1_mb_limit(
    topic: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    big = factory.make("com.example.big", data={"blob": "x" * (1024 * 1024)})
    result = ce_client.send(
        big, to=topic.publish_url(), headers={"aeg-sas-key": KEY}, mode="structured"
    )
    assert result.status == 413
    assert json.loads(result.body)["error"]["code"] == "RequestEntityTooLarge"
    topic.assert_rejected("body-too-large")


def test_eventgrid_too_many_events_in_one_request(
    topic: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    events = [factory.make("com.example.a") for _ in range(1001)]
    url = topic.url_for("/topics/orders:publish") + "?api-version=2024-06-01"
    assert topic.publish_url(topic="orders") == url
    client = Client(headers={"aeg-sas-key": KEY})
    result = client.send_batch(events, to=url)
    assert result.status == 413
    topic.assert_rejected("too-many-events")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/api/other?api-version=1", 404, "unknown-route"), ("/api/events", 400, "malformed-route")],
)
def test_eventgrid_paths_and_api_version(
    topic: Receiver, ce_client: Client, factory: EventFactory, path: str, status: int, code: str
) -> None:
    result = ce_client.send(
        factory.make("com.example.a"), to=topic.url_for(path), mode="structured"
    )
    assert result.status == status and "error" in json.loads(result.body)
    topic.assert_rejected(code)


# -- the webhook spec's receiver (5) ------------------------------------------------------


def test_webhook_handshake_grants_the_origin_and_rate(make_ce_receiver: MakeReceiver) -> None:
    hook = make_ce_receiver(platform="webhook", origins=("eventgrid.azure.net",), rate=2)
    ok = requests.options(
        hook.url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=5
    )
    assert ok.status_code == 200 and ok.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert ok.headers["WebHook-Allowed-Rate"] == "2" and ok.headers["Allow"] == "POST"
    other = requests.options(
        hook.url, headers={"WebHook-Request-Origin": "evil.example"}, timeout=5
    )
    assert other.status_code == 403 and "WebHook-Allowed-Origin" not in other.headers
    assert requests.options(hook.url, timeout=5).status_code == 400


def test_webhook_429_with_retry_after_past_its_rate(
    make_ce_receiver: MakeReceiver, ce_client: Client, factory: EventFactory
) -> None:
    hook = make_ce_receiver(platform="webhook", rate=2)
    statuses = [ce_client.send(factory.make("com.example.a"), to=hook.url).status for _ in range(3)]
    assert statuses == [202, 202, 429]  # the receiver's ack_status: 202 is the spec's "accepted"
    last = ce_client.send(factory.make("com.example.a"), to=hook.url)
    assert int(last.headers["Retry-After"]) >= 1
    hook.assert_rejected("rate-exceeded", count=2)


def test_webhook_bearer_or_access_token(
    make_ce_receiver: MakeReceiver, factory: EventFactory
) -> None:
    hook = make_ce_receiver(platform="webhook", token="t0k")
    event = factory.make("com.example.a")
    assert Client(headers={"Authorization": "Bearer t0k"}).send(event, to=hook.url).status == 202
    assert Client().send(event, to=hook.url + "?access_token=t0k").status == 202
    assert Client().send(event, to=hook.url).status == 401
    hook.assert_rejected("unauthorized")


# -- a webhook sender meets the receiver: both sides of the handshake ----------------------


def test_the_eventgrid_sender_and_a_webhook_receiver_agree(
    make_ce_receiver: MakeReceiver, ce_client: Client, factory: EventFactory
) -> None:
    hook = make_ce_receiver(platform="webhook", origins=("eventgrid.azure.net",))
    result = ce_client.deliver(factory.make("com.example.a"), to=hook.url, platform="eventgrid")
    assert result.verdict == "delivered"
    refused = make_ce_receiver(platform="webhook", origins=("someone.else",))
    result = ce_client.deliver(factory.make("com.example.a"), to=refused.url, platform="eventgrid")
    assert result.verdict == "dropped" and refused.deliveries == []


# -- check --platform ---------------------------------------------------------------------


def _app(answer: Callable[[], Any]) -> Any:
    flask = pytest.importorskip("flask")
    app = flask.Flask("consumer")
    app.add_url_rule("/", "events", answer, methods=["POST"])
    return app


def test_check_knative_fails_a_consumer_that_answers_malformed_events_5xx(
    ce_receiver: Receiver,
) -> None:
    """A 5xx to a malformed event makes Knative retry it until it is dead-lettered."""
    app = _app(lambda: ("", 500 if "ce-id" not in __import__("flask").request.headers else 202))
    check = run_check(app, platform="knative")
    failing = [r for r in check.failures if r.rule == "missing-id"]
    assert failing and "Knative retries a 5xx" in failing[0].note
    good = run_check(ce_receiver.url, platform="knative")
    assert good.passed and any(r.case == "knative-delivery" for r in good.rows)
    ce_receiver.reset()


def test_check_dapr_reads_retry_and_drop_as_dapr_does_and_shows_the_body(
    capsys: pytest.CaptureFixture[str],
) -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("dapr_consumer")
    subscriptions = [
        {"pubsubname": "pubsub", "topic": "orders", "route": "/orders"},
        {"pubsubname": "pubsub", "topic": "refunds", "route": "/refunds"},
    ]
    app.add_url_rule("/dapr/subscribe", "subscribe", lambda: flask.jsonify(subscriptions))
    app.add_url_rule("/orders", "orders", lambda: {"status": "SUCCESS"}, methods=["POST"])
    app.add_url_rule("/refunds", "refunds", lambda: {"status": "DROP"}, methods=["POST"])
    app.add_url_rule("/", "root", lambda: ("", 200), methods=["POST"])
    check = run_check(app, platform="dapr")
    rows = {r.case: r for r in check.rows}
    assert rows["dapr-subscribe"].verdict == "pass"
    assert rows["dapr-pubsub-orders"].verdict == "pass"
    assert rows["dapr-pubsub-refunds"].verdict == "fail"
    assert "DROP" in rows["dapr-pubsub-refunds"].note  # the 2xx body is shown
    assert not check.passed and "DROP" in check.render()


def test_check_eventgrid_needs_the_handshake(ce_receiver: Receiver) -> None:
    shy = _app(lambda: ("", 200))
    check = run_check(shy, platform="eventgrid")
    (row,) = [r for r in check.rows if r.case == "eventgrid-delivery"]
    assert row.verdict == "fail" and "handshake" in row.note
    assert run_check(ce_receiver.url, platform="eventgrid").passed  # the receiver consents
    ce_receiver.reset()


def test_check_command_with_platform_exit_status(
    ce_receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", ce_receiver.url, "--platform", "knative"]) == 0
    out = capsys.readouterr().out
    assert "against knative's contract" in out and "knative-delivery" in out
    ce_receiver.reset()


def test_check_shows_the_first_bytes_of_a_2xx_body(capsys: pytest.CaptureFixture[str]) -> None:
    """A Dapr-style "200 DROP" answer is visible in a plain check too."""
    check = run_check(_app(lambda: ({"status": "DROP"}, 200)))
    (row,) = [r for r in check.rows if r.case == "valid-binary"]
    assert "DROP" in row.note


def test_result_describe_shows_a_2xx_body(
    ce_receiver: Receiver, ce_client: Client, factory: EventFactory
) -> None:
    ce_receiver.inject(faults.status(200, '{"status":"DROP"}'))
    result = ce_client.send(factory.make("com.example.a"), to=ce_receiver.url)
    assert "DROP" in result.describe()


# -- serve --platform ---------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[Any]:
    from pytest_cloudevents.hosts.standalone import Standalone

    receiver = Standalone(port=0, platform=platforms.eventgrid(key=KEY))
    yield receiver
    receiver.stop()


def test_a_standalone_receiver_answers_as_the_platform(served: Any, factory: EventFactory) -> None:
    client = Client(headers={"aeg-sas-key": KEY})
    assert (
        client.send(
            factory.make("com.example.a"), to=served.publish_url(), mode="structured"
        ).status
        == 200
    )
    assert requests.get(served.control_url + "deliveries", timeout=5).status_code == 200


def test_serve_platform_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--platform-option", "key=K"]) == 2
    assert "after --platform" in capsys.readouterr().err
    assert (
        main(["serve", "--port", "0", "--platform", "knative", "--platform-option", "nope=1"]) == 2
    )
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["knative", "eventgrid", "eventarc", "webhook"])
def test_check_scores_the_receiver_against_each_platform(ce_receiver: Receiver, name: str) -> None:
    """The receiver answers as a well-behaved consumer of every platform: the spec's rows
    and the platform's delivery row pass."""
    check = run_check(ce_receiver.url, platform=name)
    assert check.passed, check.render()
    assert [r.case for r in check.rows if r.rule == name] == [f"{name}-delivery"]
    ce_receiver.reset()


def test_check_dapr_refuses_an_app_without_the_subscribe_endpoint(ce_receiver: Receiver) -> None:
    check = run_check(ce_receiver.url, platform="dapr")
    (row,) = check.rows
    assert row.case == "dapr-subscribe" and row.verdict == "fail" and "405" in row.note
    ce_receiver.reset()


def test_dapr_reads_a_json_payload_within_the_decoders_bound(
    make_ce_receiver: MakeReceiver,
) -> None:
    """The envelope's JSON data is parsed as the decoder parses JSON: bounded before it is
    parsed (2x max_body); past the bound the payload is kept as text, never parsed."""
    sidecar = make_ce_receiver(platform="dapr", max_body=4000)
    small_containers = b"[" + b",".join([b"[]"] * 600) + b"]"  # cheap as text, dear parsed
    answer = requests.post(
        sidecar.publish_url(topic="o"),
        data=small_containers,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 204
    (event,) = sidecar.wait_for(topic="o")
    assert event.get_data() == small_containers.decode()
