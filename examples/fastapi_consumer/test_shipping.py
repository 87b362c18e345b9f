"""The FastAPI consumer, tested in-process: `ce_client.request(event, to=app)` calls the
ASGI app (through httpx's ASGITransport) with the bytes a socket would carry and reads the
reply event from its response; no server, no port."""

import pytest

pytest.importorskip("fastapi", reason="install fastapi to run this example")
pytest.importorskip("httpx", reason="ASGI apps as targets need the httpx extra")

from shipping import create_app

from pytest_cloudevents import assert_ack, assert_nack, invalid_messages, match


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture
def orders(ce_events):
    ce_events.define(
        "com.example.order.paid",
        source="/payments",
        data=lambda fake: {"address": fake.address(), "amount": fake.pyint(1, 500)},
    )
    return ce_events


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_a_paid_order_gets_a_shipment_reply(ce_client, app, orders, mode):
    order = orders.make("com.example.order.paid")
    reply, result = ce_client.request(order, to=app, mode=mode)
    assert_ack(result)
    order_id = order.get_attributes()["id"]
    assert reply == match(
        type="com.example.shipment.scheduled",
        subject=order_id,
        data={"order": order_id, "address": order.get_data()["address"]},
    )


def test_other_events_get_no_reply(ce_client, app, orders):
    reply, result = ce_client.request(orders.make("com.example.order.created"), to=app)
    assert result.status_code == 202 and reply is None


def test_a_paid_order_without_an_address_is_refused(ce_client, app, orders):
    order = orders.make("com.example.order.paid", data={"amount": 3})
    assert_nack(ce_client.send(order, to=app), status=422)


# What the SDK's from_http lets through (the same with cloudevents 1.13 and 2.2's
# `cloudevents.v1`); each is a strict expected failure.
SDK_ACCEPTS = {
    "empty-attribute-binary-id": "an empty id passes",
    "attribute-type-structured-numeric-id": "a number is taken as the id",
    "attribute-type-structured-float-extension": "float extensions pass",
    "integer-out-of-range-structured": "int32 is not checked",
    "control-character-binary-newline": "control characters pass",
    "source-not-uri-reference-structured-space": "source is not parsed",
    "dataschema-not-absolute-uri-binary-relative": "dataschema is not parsed",
    "time-not-rfc3339-binary-basic-format": "time is not parsed",
    "datacontenttype-not-media-type-binary": "media types are not checked",
    "extension-name-invalid-structured-uppercase": "extension names are lower-cased, not checked",
    "extension-name-invalid-binary-underscore": "header names are not checked",
    "extension-name-invalid-binary-data": "an extension named data passes",
    "datacontenttype-header-in-binary": "ce-datacontenttype is taken as an attribute",
    "invalid-percent-encoding-binary-overlong-utf8": "headers are not percent-decoded",
    "invalid-percent-encoding-binary-broken-escape": "headers are not percent-decoded",
    "invalid-json-binary": "an unparseable JSON body becomes text",
    "batch-not-an-array": "batches are not understood: read as a binary-mode message",
    "data-and-data-base64-structured": "data wins over data_base64",
    "body-too-large-binary": "this consumer sets no body limit of its own",
    "body-too-large-gzip": "Content-Encoding is ignored: the gzip bytes are the data",
    "unsupported-encoding-br": "Content-Encoding is ignored",
    "invalid-encoding-gzip": "Content-Encoding is ignored",
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=SDK_ACCEPTS[c.id]))
        if c.id in SDK_ACCEPTS
        else c
        for c in invalid_messages(max_body=64 * 1024)
    ],
    ids=lambda c: c.id,
)
def test_malformed_messages_are_refused(ce_client, app, case):
    assert_nack(ce_client.send_raw(case.headers, case.body, to=app))
