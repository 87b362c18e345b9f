"""Contract tests of a producer against the JSON Schema shipped beside it (extra `schema`):
the receiver rejects an event whose data breaks it, and `matches_schema` explains a
mismatch in the validator's words, with the JSON path."""

from pathlib import Path

import pytest

pytest.importorskip("jsonschema", reason="contracts need the schema extra")

from placing import SCHEMA_URI, place

from pytest_cloudevents import match, matches_schema

SCHEMA = Path(__file__).with_name("order.schema.json")


@pytest.fixture
def sink(make_ce_receiver):
    # by the dataschema URI the producer sends; {"com.example.order.placed": SCHEMA} by type
    return make_ce_receiver(schemas={SCHEMA_URI: SCHEMA})


def test_the_producer_keeps_its_contract(sink):
    place(sink.url, "o-1", [{"sku": "AB-1", "quantity": 2, "price": 5}], "Ada")
    [event] = sink.assert_received(type="com.example.order.placed", count=1)
    assert event == match(data=matches_schema(SCHEMA))


def test_a_broken_payload_is_rejected_with_the_validators_words(sink):
    place(sink.url, "o-2", [{"sku": "AB-1", "quantity": 0}], "Ada")  # quantity below 1
    [delivery] = sink.assert_rejected("data-schema-mismatch", count=1)
    assert "0 is less than the minimum of 1" in delivery.violations[0].message
    assert "$.lines[0].quantity" in delivery.violations[0].message


def test_matches_schema_explains_a_mismatch():
    criterion = match(data=matches_schema(SCHEMA))
    bad = {"order_id": "x-1", "lines": [{"sku": "A", "quantity": 1}], "total": 1}
    from pytest_cloudevents import EventFactory

    event = EventFactory(1).make("com.example.order.placed", data=bad)
    [line] = criterion.explain(event)
    assert "does not match '^o-[0-9]+$'" in line and "$.order_id" in line
