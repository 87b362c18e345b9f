"""The Flask consumer, tested in-process: `ce_client.send(event, to=app)` calls the WSGI
app with the bytes a socket would carry; no server, no port."""

import pytest

pytest.importorskip("flask", reason="install flask to run this example")

from inventory import create_app

from pytest_cloudevents import assert_ack, assert_nack, invalid_messages


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def orders(ce_events):
    ce_events.define(
        "com.example.order.created",
        source="/orders",
        data=lambda fake: {"sku": fake.bothify("??-###"), "quantity": fake.pyint(1, 9)},
    )
    return ce_events


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_an_order_reserves_stock(ce_client, app, orders, mode):
    order = orders.make("com.example.order.created")
    assert_ack(ce_client.send(order, to=app, path="/events", mode=mode))
    assert app.extensions["reserved"] == {
        order.get_attributes()["id"]: order.get_data()["quantity"]
    }


def test_other_events_are_acknowledged_and_ignored(ce_client, app, orders):
    result = ce_client.send(orders.make("com.example.order.shipped"), to=app, path="/events")
    assert result.status_code == 202 and app.extensions["reserved"] == {}


def test_an_order_without_a_quantity_is_refused(ce_client, app, orders):
    order = orders.make("com.example.order.created", data={"sku": "AB-123"})
    assert_nack(ce_client.send(order, to=app, path="/events"), status=422)


# What the SDK's from_http lets through: the same 22 cases with cloudevents 1.13 and with
# 2.2's `cloudevents.v1`. Each is a strict expected failure, so the test says so the day
# the consumer refuses it. (A consumer that must refuse them checks the attributes itself.)
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
    "extension-name-invalid-binary-underscore": "WSGI turns the '_' of a header name into '-'",
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
    assert_nack(ce_client.send_raw(case.headers, case.body, to=app, path="/events"))
