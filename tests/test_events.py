"""events.py: the plugin returns the installed SDK generation's event class, accepts
either generation's events, and covers each SDK's gaps the same way."""

from __future__ import annotations

import importlib
import importlib.metadata

import pytest
import requests
from helpers import attr, binary, when

from pytest_cloudevents import Client, Receiver, event_dict, match
from pytest_cloudevents.events import GENERATION, build, coerce, event_class, new_event
from pytest_cloudevents.wire import decode, encode_binary


def test_the_generation_is_the_installed_one() -> None:
    version = importlib.metadata.version("cloudevents")
    assert int(version.split(".")[0]) == GENERATION


def test_received_events_are_the_installed_sdks_class(ce_receiver: Receiver) -> None:
    requests.post(ce_receiver.url, headers=binary(), data=b'{"n": 1}', timeout=5)
    [event] = ce_receiver.events
    # 1.x: the class functions-framework hands out; 2.x: the core v1 class
    name = "cloudevents.core.v1.event" if GENERATION == 2 else "cloudevents.http"
    assert isinstance(event, importlib.import_module(name).CloudEvent)
    assert event.get_data() == {"n": 1}


def test_an_event_compares_with_a_matcher_on_either_side() -> None:
    """1.x's CloudEvent.__eq__ answers False for anything else; the plugin's events defer
    to the matcher, so `event == match(...)` works on both generations."""
    [event] = decode(binary(), b"{}").events
    assert event == match(id="evt-1") and match(id="evt-1") == event
    assert event != match(id="other")


def test_nothing_is_filled_in_that_the_message_lacked() -> None:
    """Both SDK constructors invent a `time` (1.x an `id` and `specversion` too)."""
    [event] = decode(binary(content_type=None), b"").events
    assert "time" not in event.get_attributes() and when(event) is None
    assert set(event.get_attributes()) == {"specversion", "id", "source", "type"}


def test_a_users_own_sdk_event_is_sent_as_the_binding_says(ce_receiver: Receiver) -> None:
    """Neither SDK's to_binary does it all (1.x does not percent-encode, writes True and
    sends no Content-Type); the plugin encodes for both."""
    event = new_event(
        {"id": "u-1", "source": "/s", "type": "com.example.u", "subject": 'ä "x%', "flag": True},
        {"a": 1},
    )
    headers, body = encode_binary(coerce(event))
    assert headers["ce-subject"] == "%C3%A4%20%22x%25"
    assert headers["ce-flag"] == "true"
    assert headers["content-type"] == "application/json" and body == b'{"a":1}'
    with Client() as client:
        assert client.send(event, to=ce_receiver.url).is_ack
    [received] = ce_receiver.events
    assert attr(received, "subject") == 'ä "x%' and attr(received, "flag") == "true"


def test_0_3_events_are_the_sdks_0_3_class() -> None:
    [event] = decode(binary(ce_specversion="0.3"), b"").events
    assert type(event) is event_class("0.3")
    assert event_dict(event)["specversion"] == "0.3"


def test_event_dict_is_the_json_format_for_either_generation() -> None:
    event = build(
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/s",
            "type": "com.example.t",
            "time": "2026-01-02T03:04:05Z",
        },
        b"\x00\x01",
    )
    assert event_dict(event) == {
        "specversion": "1.0",
        "id": "1",
        "source": "/s",
        "type": "com.example.t",
        "time": "2026-01-02T03:04:05Z",
        "data_base64": "AAE=",
    }


def test_anything_but_an_sdk_event_is_refused_with_what_to_pass() -> None:
    with pytest.raises(TypeError, match="takes a CloudEvent of the cloudevents SDK"):
        coerce({"id": "1"})


@pytest.mark.skipif(GENERATION != 1, reason="the 1.x SDK's own class")
def test_a_plain_1x_event_built_by_the_user_is_accepted(ce_receiver: Receiver) -> None:
    sdk = importlib.import_module("cloudevents.http")
    event = sdk.CloudEvent({"id": "p-1", "source": "/s", "type": "com.example.p"}, {"a": 1})
    with Client() as client:
        assert client.send(event, to=ce_receiver.url).is_ack
    ce_receiver.assert_received(id="p-1", data={"a": 1})
