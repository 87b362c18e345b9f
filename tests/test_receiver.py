"""The receiver over real sockets, driven by plain `requests`."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from helpers import attr, binary, structured

from pytest_cloudevents import Receiver, match


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(wait_timeout=2.0) as r:
        yield r


def test_listens_on_loopback_when_constructed(receiver: Receiver) -> None:
    assert receiver.url == f"http://127.0.0.1:{receiver.port}/"
    assert receiver._server.socket.getsockname()[0] == "127.0.0.1"
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=1):
        pass


def test_binary_structured_and_batch_are_recorded_in_order(receiver: Receiver) -> None:
    r1 = requests.post(receiver.url_for("/hooks/a"), headers=binary(), data=b'{"n": 1}')
    headers, body = structured(id="evt-2", data={"n": 2})
    r2 = requests.post(receiver.url, headers=headers, data=body)
    batch = [json.loads(structured(id=f"b-{i}")[1]) for i in range(3)]
    r3 = requests.post(
        receiver.url_for("/batch?x=1"),
        headers={"content-type": "application/cloudevents-batch+json"},
        data=json.dumps(batch),
    )
    assert [r1.status_code, r2.status_code, r3.status_code] == [202, 202, 202]
    assert [attr(e, "id") for e in receiver.events] == [
        "evt-1",
        "evt-2",
        "b-0",
        "b-1",
        "b-2",
    ]
    d1, d2, d3 = receiver.deliveries
    assert (d1.mode, d1.path, d1.method) == ("binary", "/hooks/a", "POST")
    assert (d2.mode, d3.mode, d3.query) == ("structured", "batch", "x=1")
    assert d1.headers["CE-ID"] == "evt-1"
    assert d1.body == b'{"n": 1}'
    assert d1.event.get_data() == {"n": 1}
    with pytest.raises(ValueError, match=r"use \.events for a batch"):
        _ = d3.event
    assert [d.seq for d in receiver.deliveries] == sorted(d.seq for d in receiver.deliveries)


def test_put_and_chunked_bodies_are_deliveries(receiver: Receiver) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a":'
        yield b"1}"

    assert requests.put(receiver.url, headers=binary(), data=b"{}").status_code == 202
    assert requests.post(receiver.url, headers=binary(ce_id="c"), data=chunks()).status_code == 202
    assert receiver.matching(id="c")[0].get_data() == {"a": 1}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ce_id": None}, "missing-id"),
        ({"ce_specversion": "2.0"}, "specversion-unknown"),
        ({"ce_time": "20180405T035624Z"}, "time-not-rfc3339"),
        ({"ce_subject": "%C0%A0"}, "invalid-percent-encoding"),
        ({"ce_datacontenttype": "application/json"}, "datacontenttype-header-in-binary"),
        ({"ce_source": "a b"}, "source-not-uri-reference"),
    ],
)
def test_malformed_binary_messages_get_400_naming_the_rule(
    receiver: Receiver, changes: dict[str, str | None], code: str
) -> None:
    response = requests.post(receiver.url, headers=binary(**changes), data=b"{}")
    assert response.status_code == 400
    assert code in response.text
    assert response.headers["content-type"].startswith("text/plain")
    [delivery] = receiver.rejected
    assert delivery.outcome == "rejected" and delivery.status == 400
    assert code in delivery.codes
    assert receiver.events == []


def test_bad_json_and_unknown_formats(receiver: Receiver) -> None:
    bad = requests.post(
        receiver.url, headers={"content-type": "application/cloudevents+json"}, data=b"{"
    )
    avro = requests.post(
        receiver.url, headers={"content-type": "application/cloudevents+avro"}, data=b"\0"
    )
    assert (bad.status_code, avro.status_code) == (400, 415)
    assert "invalid-json" in bad.text and "unsupported-format" in avro.text
    assert [d.codes for d in receiver.assert_rejected(count=2)] == [
        ["invalid-json"],
        ["unsupported-format"],
    ]


def test_oversized_bodies_get_413_and_are_recorded() -> None:
    with Receiver(max_body=100) as receiver:
        response = requests.post(receiver.url, headers=binary(), data=b"x" * 1000)
        assert response.status_code == 413
        assert "body-too-large" in response.text
        [delivery] = receiver.assert_rejected("body-too-large")
        assert delivery.status == 413 and delivery.mode is None


def test_head_options_and_other_methods(receiver: Receiver) -> None:
    assert requests.head(receiver.url).status_code == 200
    options = requests.options(
        receiver.url, headers={"WebHook-Request-Origin": "eventemitter.example.com"}
    )
    assert options.status_code == 200
    assert options.headers["WebHook-Allowed-Origin"] == "eventemitter.example.com"
    assert options.headers["WebHook-Allowed-Rate"] == "*"
    get = requests.get(receiver.url)
    assert get.status_code == 405
    assert "POST" in get.headers["Allow"]
    assert requests.delete(receiver.url).status_code == 405
    assert receiver.deliveries == []


def test_lax_receiver_accepts_with_warnings() -> None:
    with Receiver(strict=False) as receiver:
        response = requests.post(
            receiver.url, headers=binary(ce_time="yesterday", ce_ratio="x"), data=b"{}"
        )
        assert response.status_code == 202
        [delivery] = receiver.deliveries
        assert delivery.outcome == "accepted"
        assert "time-not-rfc3339" in [w.code for w in delivery.warnings]


def test_ack_status_is_configurable() -> None:
    with Receiver(ack_status=200) as receiver:
        assert requests.post(receiver.url, headers=binary(), data=b"{}").status_code == 200


def test_wait_for_returns_as_soon_as_the_event_arrives(receiver: Receiver) -> None:
    sent = threading.Event()

    def send_later() -> None:
        sent.wait(1)
        requests.post(receiver.url, headers=binary(ce_type="com.example.late"), data=b"{}")

    thread = threading.Thread(target=send_later)
    thread.start()
    started = time.monotonic()
    sent.set()
    [event] = receiver.wait_for(type="com.example.late", timeout=10)
    elapsed = time.monotonic() - started
    thread.join()
    assert attr(event, "type") == "com.example.late"
    assert elapsed < 5, "wait_for should return on arrival, far before its 10 s timeout"


def test_wait_for_times_out_with_the_closest_event(receiver: Receiver) -> None:
    """The message shows the closest event's differences; the delivery log itself is in
    the report's `cloudevents` section (see test_plugin), not repeated here."""
    requests.post(receiver.url, headers=binary(ce_type="com.example.other"), data=b"{}")
    with pytest.raises(AssertionError) as info:
        receiver.wait_for(type="com.example.never", timeout=0.2)
    text = str(info.value)
    assert "timed out after 0.2s" in text
    assert "type: expected 'com.example.never', got 'com.example.other'" in text
    assert "#1 POST" not in text
    assert "1 deliveries to <Receiver" in text


def test_assert_received_counts_and_explains(receiver: Receiver) -> None:
    for i in range(2):
        requests.post(receiver.url, headers=binary(ce_id=f"o-{i}"), data=b'{"total": 5}')
    events = receiver.assert_received(type="com.example.test", count=2)
    assert len(events) == 2
    assert receiver.assert_received(match(data={"total": 5}))
    with pytest.raises(AssertionError, match="expected exactly 1 event"):
        receiver.assert_received(type="com.example.test", count=1, timeout=0)
    with pytest.raises(AssertionError) as info:
        receiver.assert_received(type="com.example.test", data={"total": 6}, timeout=0)
    assert "data: expected {'total': 6}, got {'total': 5}" in str(info.value)


def test_assertion_failure_lists_rejected_deliveries(receiver: Receiver) -> None:
    requests.post(receiver.url, headers=binary(ce_id=None), data=b"{}")
    with pytest.raises(AssertionError) as info:
        receiver.assert_received(type="com.example.test", timeout=0)
    assert "rejected delivery #1" in str(info.value)
    assert "missing-id" in str(info.value)
    receiver.assert_rejected("missing-id", count=1)


def test_assert_not_received(receiver: Receiver) -> None:
    requests.post(receiver.url, headers=binary(), data=b"{}")
    receiver.assert_not_received(type="com.example.nope", within=0.05)
    with pytest.raises(AssertionError, match="expected no event"):
        receiver.assert_not_received(type="com.example.test")


def test_assert_rejected_checks_its_arguments(receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="not a violation code"):
        receiver.assert_rejected("missing-idd")
    with pytest.raises(AssertionError, match="expected a rejected delivery"):
        receiver.assert_rejected()


def test_reset_forgets_everything(receiver: Receiver) -> None:
    requests.post(receiver.url, headers=binary(), data=b"{}")
    receiver.handle(lambda e: None)
    receiver.reset()
    assert receiver.deliveries == [] and receiver.events == []
    assert requests.post(receiver.url, headers=binary(), data=b"{}").status_code == 202


def test_handler_errors_answer_500_and_are_recorded(receiver: Receiver) -> None:
    def boom(event: object) -> None:
        raise RuntimeError("consumer bug")

    receiver.handle(boom)
    response = requests.post(receiver.url, headers=binary(), data=b"{}")
    assert response.status_code == 500
    [delivery] = receiver.deliveries
    assert delivery.outcome == "error"
    assert isinstance(delivery.error, RuntimeError)
    assert receiver.unchecked_problems() == [(1, delivery)]


def test_unseen_rejections_are_reported_until_asserted(receiver: Receiver) -> None:
    """Reading `.rejected` is a plain read; only `assert_rejected` marks them seen."""
    requests.post(receiver.url, headers=binary(ce_id=None), data=b"{}")
    assert len(receiver.unchecked_problems()) == 1
    assert len(receiver.rejected) == 1
    assert len(receiver.rejected) == 1
    assert len(receiver.unchecked_problems()) == 1
    receiver.assert_rejected("missing-id")
    assert receiver.unchecked_problems() == []


def test_stop_is_fast_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    receiver = Receiver()
    requests.post(receiver.url, headers=binary(), data=b"{}")
    started = time.monotonic()
    receiver.stop()
    assert time.monotonic() - started < 1.0
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(requests.ConnectionError):
        requests.post(receiver.url, headers=binary(), data=b"{}", timeout=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ack_status": 500}, "2xx"),
        ({"max_body": 0}, "whole number >= 1"),
        ({"wait_timeout": float("nan")}, "finite number of seconds"),
        ({"wait_timeout": float("inf")}, "finite number of seconds"),
        ({"bogus": 1}, "unknown receiver option"),
        ({"strict": "yes"}, "True or False"),
        ({"port": -1}, "port .0 for any free port. must be"),
        ({"wait_timeout": -1}, "seconds >= 0"),
    ],
)
def test_wrong_options_say_what_to_pass(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        Receiver(**kwargs)  # type: ignore[arg-type]
