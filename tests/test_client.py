"""The sending client: every outcome produced for real, replies, batches, retries."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers import attr
from werkzeug.serving import make_server

from pytest_cloudevents import (
    Client,
    EventFactory,
    InvalidCase,
    Outcome,
    Receiver,
    assert_ack,
    assert_nack,
    assert_undelivered,
    faults,
    invalid_messages,
    retry,
)
from pytest_cloudevents.events import CloudEvent, new_event
from pytest_cloudevents.send.client import ValidationError
from pytest_cloudevents.wire import decode, encode_binary

ORDER = "com.example.order.created"


@pytest.fixture
def event(ce_events: EventFactory) -> CloudEvent:
    return ce_events.make(ORDER, data={"order_id": "o-1", "total": 12})


def test_ack_from_the_receiver_in_both_modes(
    ce_client: Client, ce_receiver: Receiver, event: CloudEvent
) -> None:
    for mode in ("binary", "structured"):
        result = ce_client.send(event, to=ce_receiver.url, mode=mode)
        assert_ack(result)
        assert (result.status_code, result.attempts, result.reply) == (202, 1, None)
        assert result.url == ce_receiver.url and result.elapsed > 0
    first, second = ce_receiver.deliveries
    assert (first.mode, second.mode) == ("binary", "structured")
    assert [e.get_data() for e in ce_receiver.events] == [event.get_data()] * 2


@pytest.mark.parametrize("status", [400, 404, 409, 500, 503])
def test_nack_from_injected_statuses(
    ce_client: Client, ce_receiver: Receiver, event: CloudEvent, status: int
) -> None:
    ce_receiver.inject(faults.status(status, body="nope"))
    result = ce_client.send(event, to=ce_receiver.url)
    assert_nack(result, status=status)
    assert result.body == b"nope"


def test_a_redirect_is_a_nack_and_is_not_followed(
    ce_client: Client, make_ce_receiver: Any, event: CloudEvent
) -> None:
    first, second = make_ce_receiver(), make_ce_receiver()
    first.inject(faults.status(307, headers={"Location": second.url}))
    result = ce_client.send(event, to=first.url)
    assert_nack(result, status=307)
    assert second.deliveries == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_undelivered_when_the_port_is_closed(ce_client: Client, event: CloudEvent) -> None:
    result = ce_client.send(event, to=f"http://127.0.0.1:{_free_port()}/")
    assert_undelivered(result, requests.ConnectionError)
    assert (result.status_code, result.attempts) == (None, 1)


def test_undelivered_on_disconnect(
    ce_client: Client, ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.disconnect())
    result = ce_client.send(event, to=ce_receiver.url)
    assert_undelivered(result, requests.ConnectionError)
    assert ce_receiver.deliveries[0].fault == "disconnect"


def test_undelivered_on_read_timeout(ce_receiver: Receiver, event: CloudEvent) -> None:
    ce_receiver.inject(faults.delay(3))
    with Client(ce_receiver.url, timeout=0.2) as client:
        result = client.send(event)
    assert_undelivered(result, requests.ReadTimeout)


def test_an_invalid_event_is_undelivered_and_nothing_is_sent(
    ce_client: Client, ce_receiver: Receiver
) -> None:
    bad = new_event({"id": "1", "source": "/a b", "type": ORDER}, None)
    result = ce_client.send(bad, to=ce_receiver.url)
    assert_undelivered(result, ValidationError)
    assert_undelivered(result, "source-not-uri-reference")
    assert result.attempts == 0
    assert ce_receiver.deliveries == []
    with Client(ce_receiver.url, validate=False) as client:
        assert_nack(client.send(bad), status=400)
    ce_receiver.assert_rejected("source-not-uri-reference")


@pytest.mark.parametrize("reply_mode", ["binary", "structured"])
@pytest.mark.parametrize("send_mode", ["binary", "structured"])
def test_request_reply_with_a_reply_fault(
    ce_client: Client,
    ce_receiver: Receiver,
    ce_events: EventFactory,
    event: CloudEvent,
    send_mode: str,
    reply_mode: str,
) -> None:
    answer = ce_events.make("com.example.payment.requested", data={"amount": 12})
    ce_receiver.inject(faults.reply(answer, mode=reply_mode))
    reply, result = ce_client.request(event, to=ce_receiver.url, mode=send_mode)
    assert_ack(result)
    assert reply is not None
    assert (attr(reply, "id"), reply.get_data()) == (
        attr(answer, "id"),
        {"amount": 12},
    )


def test_request_reply_with_a_handler(
    ce_client: Client, ce_receiver: Receiver, ce_events: EventFactory, event: CloudEvent
) -> None:
    def pay(order: CloudEvent) -> CloudEvent:
        return ce_events.make("com.example.payment.requested", data={"for": attr(order, "id")})

    ce_receiver.handle(pay)
    for mode in ("binary", "structured"):
        reply, result = ce_client.request(event, to=ce_receiver.url, mode=mode)
        assert result.status_code == 200
        assert reply is not None and reply.get_data() == {"for": attr(event, "id")}


def test_an_invalid_reply_is_reported_not_raised(
    ce_client: Client, ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.status(200, body=b"{", headers={"ce-specversion": "1.0"}))
    result = ce_client.send(event, to=ce_receiver.url)
    assert_ack(result)
    assert result.reply is None
    assert {v.code for v in result.reply_violations} >= {"missing-id", "missing-source"}


def test_send_batch(ce_client: Client, ce_receiver: Receiver, ce_events: EventFactory) -> None:
    events = ce_events.make_many(3, ORDER)
    assert_ack(ce_client.send_batch(events, to=ce_receiver.url))
    assert ce_receiver.deliveries[0].mode == "batch"
    assert [attr(e, "id") for e in ce_receiver.events] == [attr(e, "id") for e in events]


def test_send_raw_sends_exactly_what_it_is_given(ce_client: Client, ce_receiver: Receiver) -> None:
    case = invalid_messages()[0]
    result = ce_client.send_raw(case.headers, case.body, to=ce_receiver.url)
    assert_nack(result, status=400)
    assert case.code in result.body.decode()
    [delivery] = ce_receiver.assert_rejected(case.code)
    assert delivery.body == case.body


def test_retries_until_ack(ce_receiver: Receiver, event: CloudEvent) -> None:
    ce_receiver.inject(faults.status(503), times=2)
    with Client(ce_receiver.url, retry=retry.knative(3, delay=0.01)) as client:
        result = client.send(event)
    assert_ack(result)
    assert result.attempts == 3
    assert ce_receiver.attempts(attr(event, "id")).statuses == [503, 503, 202]


def test_exhausted_retries_give_a_nack_naming_the_attempts(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.status(503))
    with Client(ce_receiver.url, retry=retry.sdk_go(2, period=0.01)) as client:
        result = client.send(event)
    assert result.outcome is Outcome.NACK and result.attempts == 3
    with pytest.raises(AssertionError, match="attempts: 3"):
        assert_ack(result)


def test_exhausted_retries_on_disconnect_give_undelivered(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.disconnect())
    with Client(ce_receiver.url, retry=2) as client:
        result = client.send(event)
    assert_undelivered(result)
    assert result.attempts == 3
    assert ce_receiver.attempts(attr(event, "id")).count == 3


def test_a_status_outside_the_retry_set_is_not_retried(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.status(400))
    with Client(ce_receiver.url, retry=3) as client:
        result = client.send(event)
    assert_nack(result, status=400)
    assert result.attempts == 1


def test_legacy_sdk_events_are_accepted(ce_client: Client, ce_receiver: Receiver) -> None:
    legacy_module = pytest.importorskip(
        "cloudevents.v1.http", reason="2.x's compatibility class; the 1.x class is the default"
    )
    LegacyEvent = legacy_module.CloudEvent

    attributes: dict[str, object] = {"type": ORDER, "source": "/legacy", "flag": True}
    legacy = LegacyEvent(attributes, {"a": 1})
    assert_ack(ce_client.send(legacy, to=ce_receiver.url))
    [received] = ce_receiver.events
    assert (
        attr(received, "source"),
        attr(received, "flag"),
        received.get_data(),
    ) == (
        "/legacy",
        "true",
        {"a": 1},
    )
    bad = LegacyEvent({"type": ORDER, "source": "/legacy", "bad_ext": "x"}, None)
    assert_undelivered(ce_client.send(bad, to=ce_receiver.url), "extension-name-invalid")
    late = LegacyEvent({"type": ORDER, "source": "/legacy", "time": "20180405T035624Z"}, None)
    assert_undelivered(ce_client.send(late, to=ce_receiver.url), "time-not-rfc3339")


def test_wrong_arguments_say_what_to_pass(ce_client: Client, event: CloudEvent) -> None:
    with pytest.raises(ValueError, match="no target: pass to="):
        ce_client.send(event)
    with pytest.raises(TypeError, match="URL string or a WSGI/ASGI app"):
        ce_client.send(event, to=8080)
    with pytest.raises(ValueError, match="for a URL put the path in it"):
        ce_client.send(event, to="http://127.0.0.1:1/", path="/events")
    with pytest.raises(ValueError, match="mode must be"):
        ce_client.send(event, to="http://127.0.0.1:1/", mode="batch")
    with pytest.raises(ValueError, match="http:// or https://"):
        ce_client.send(event, to="127.0.0.1:8080")
    with pytest.raises(TypeError, match="takes a CloudEvent"):
        ce_client.send({"id": "1"}, to="http://127.0.0.1:1/")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="urllib3 Retry"):
        Client(retry="3")  # type: ignore[arg-type]


def test_assertion_messages_show_what_happened(
    ce_client: Client, ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.status(503, body="overloaded " * 40))
    result = ce_client.send(event, to=ce_receiver.url)
    with pytest.raises(AssertionError) as info:
        assert_ack(result)
    text = str(info.value)
    assert "expected ACK, got NACK" in text
    assert "status: 503" in text and f"url: {ce_receiver.url}" in text
    assert "attempts: 1" in text and "body: 'overloaded" in text and "..." in text
    with pytest.raises(AssertionError, match="expected NACK 500"):
        assert_nack(result, status=500)
    with pytest.raises(AssertionError, match="expected UNDELIVERED, got NACK"):
        assert_undelivered(result)
    with pytest.raises(TypeError, match="pass the Result"):
        assert_ack(None)  # type: ignore[arg-type]


def test_retry_presets_have_the_documented_shapes() -> None:
    k = retry.knative(5, delay=0.5)
    assert {404, 408, 409, 429, 500, 599} <= set(k.status_forcelist or ())
    assert 413 not in (k.status_forcelist or ())
    assert set(retry.sdk_go().status_forcelist or ()) == {404, 413, 425, 429, 502, 503, 504}
    backoffs = []
    for _ in range(3):
        k = k.increment(method="POST", url="/", error=requests.ConnectionError())
        backoffs.append(k.get_backoff_time())
    assert backoffs == [1.0, 2.0, 4.0]  # delay * 2 ** n before retry n
    linear = retry.knative(3, delay=0.5, policy="linear")
    linear = linear.increment(method="POST", url="/", error=requests.ConnectionError())
    linear = linear.increment(method="POST", url="/", error=requests.ConnectionError())
    assert linear.get_backoff_time() == 1.0
    with pytest.raises(ValueError, match="policy must be"):
        retry.knative(policy="fibonacci")  # type: ignore[arg-type]


# -- a consumer in the style users will write ---------------------------------------------


def consumer_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A small strict consumer: answers order.created with payment.requested, NACKs bad
    data with 422 and malformed messages with 400."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    headers = {
        k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    decoded = decode(headers, body)
    if not decoded.ok or len(decoded.events) != 1:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [" ".join(v.code for v in decoded.violations).encode()]
    [order] = decoded.events
    data = order.get_data()
    if not isinstance(data, dict) or "total" not in data:
        start_response("422 Unprocessable Entity", [])
        return [b"missing total"]
    reply = new_event(
        {
            "id": f"pay-{order.get_attributes()['id']}",
            "source": "/payments",
            "type": "com.example.payment.requested",
        },
        {"amount": data["total"]},
    )
    reply_headers, reply_body = encode_binary(reply)
    start_response("200 OK", list(reply_headers.items()))
    return [reply_body]


@pytest.fixture(scope="module")
def consumer() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, consumer_app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(2)


def test_the_consumer_replies_to_an_order(
    ce_client: Client, consumer: str, event: CloudEvent
) -> None:
    reply, result = ce_client.request(event, to=consumer)
    assert_ack(result)
    assert reply is not None and attr(reply, "type") == "com.example.payment.requested"
    assert reply.get_data() == {"amount": 12}


def test_the_consumer_nacks_bad_data(
    ce_client: Client, consumer: str, ce_events: EventFactory
) -> None:
    result = ce_client.send(ce_events.make(ORDER, data={"id": 1}), to=consumer, mode="structured")
    assert_nack(result, status=422)


WERKZEUG_DROPS = "werkzeug's server drops header names with '_' before the app sees them"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=WERKZEUG_DROPS))
        if "ce-bad_name" in c.headers
        else c
        for c in invalid_messages(max_body=1024)
    ],
    ids=lambda c: c.id,
)
def test_the_consumer_rejects_every_invalid_message(
    ce_client: Client, consumer: str, case: InvalidCase
) -> None:
    result = ce_client.send_raw(case.headers, case.body, to=consumer)
    assert_nack(result)
    assert result.status_code == 400
    # this consumer has no size limit of its own, and decodes no Content-Encoding (it
    # reads a compressed body as broken JSON)
    if case.code not in ("body-too-large", "unsupported-encoding", "invalid-encoding"):
        assert case.code in result.body.decode()


def test_the_sdk_alone_accepts_messages_the_catalogue_marks_invalid() -> None:
    """Why the catalogue matters: cloudevents 2.x fills in what is missing."""
    bindings = pytest.importorskip("cloudevents.core.bindings.http", reason="the 2.x SDK's API")
    HTTPMessage, from_http_event = bindings.HTTPMessage, bindings.from_http_event

    [case] = [c for c in invalid_messages() if c.code == "missing-id"]
    event = from_http_event(HTTPMessage(case.headers, case.body))
    assert attr(event, "id")  # the SDK invented an id
    assert json.loads(case.body) == {}
