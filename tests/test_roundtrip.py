"""Conformance item 8: every event the receiver accepts survives `Client.send`, in both
modes, to a second receiver and comes back equal — attributes and data — with the two
differences binary mode makes, both documented: extension values travel as strings, and an
event with data but no `datacontenttype` gets the Content-Type the client sends for it
(`application/json`, or `application/octet-stream` for bytes), which the binding reads back
as its `datacontenttype`."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_wire import VALID, Case

from pytest_cloudevents import Client, EventFactory, Receiver, event_dict
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.spec.rules import CONTEXT_ATTRIBUTES
from pytest_cloudevents.wire import decode, mode_of


def _canonical(event: CloudEvent, mode: str) -> dict[str, Any]:
    """The event as `mode` carries it: in binary mode extensions become their canonical
    strings, data without a datacontenttype gets the client's Content-Type, and empty bytes
    travel as no body at all."""
    document = event_dict(event)
    if mode != "binary":
        return document
    data = event.get_data()
    if "datacontenttype" not in document and data is not None:
        binary = isinstance(data, (bytes, bytearray))
        document["datacontenttype"] = "application/octet-stream" if binary else "application/json"
    if isinstance(data, (bytes, bytearray)) and not data:
        document.pop("data_base64", None)
        if document.get("datacontentencoding") == "base64":  # 0.3
            document.pop("data", None)
    out = {}
    for name, value in document.items():
        if name in CONTEXT_ATTRIBUTES or name in ("data", "data_base64"):
            out[name] = value
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def _modes(event: CloudEvent) -> list[str]:
    content_type = event.get_attributes().get("datacontenttype")
    # an event whose datacontenttype is a CloudEvents format can only go structured
    if isinstance(content_type, str) and mode_of(content_type) != "binary":
        return ["structured"]
    return ["binary", "structured"]


def _round_trip(event: CloudEvent, receiver: Receiver, client: Client) -> None:
    for mode in _modes(event):
        receiver.reset()
        result = client.send(event, to=receiver.url, mode=mode)
        assert result.is_ack, result.describe()
        [back] = receiver.events
        assert event_dict(back) == _canonical(event, mode), mode


@pytest.fixture(scope="module")
def second() -> Any:
    with Receiver() as receiver, Client() as client:
        yield receiver, client


@pytest.mark.parametrize("case", [c for c in VALID if c.count == 1], ids=lambda c: c.id)
def test_every_accepted_table_event_survives_a_round_trip(second: Any, case: Case) -> None:
    receiver, client = second
    [event] = decode(case.headers, case.body).events
    _round_trip(event, receiver, client)


def test_the_round_trips_cover_the_table() -> None:
    assert len([c for c in VALID if c.count == 1]) >= 40


data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**31),
    payload=st.one_of(data, st.binary(max_size=40)),
    subject=st.none()
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20),
    flag=st.none() | st.booleans(),
    count=st.none() | st.integers(-(2**31), 2**31 - 1),
)
def test_every_factory_event_survives_a_round_trip(
    second: Any, seed: int, payload: Any, subject: str | None, flag: bool | None, count: int | None
) -> None:
    receiver, client = second
    extensions = {k: v for k, v in {"flag": flag, "count": count}.items() if v is not None}
    event = EventFactory(seed).make(
        "com.example.round.trip", data=payload, subject=subject, **extensions
    )
    _round_trip(event, receiver, client)


def test_binary_mode_refuses_a_cloudevents_datacontenttype(second: Any) -> None:
    """Conformance item 7: such an event went out in binary mode with that Content-Type, and
    every receiver decoded it as structured or batched and rejected it."""
    receiver, client = second
    receiver.reset()
    for content_type in ("application/cloudevents+json", "application/cloudevents-batch+json"):
        event = EventFactory(1).make("com.example.t", data={"a": 1}, datacontenttype=content_type)
        result = client.send(event, to=receiver.url, mode="binary")
        assert result.is_undelivered and result.attempts == 0
        assert "mode='structured'" in str(result.error)
    assert receiver.deliveries == []
