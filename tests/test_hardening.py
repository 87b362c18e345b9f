"""Hardening: inputs that made the first version crash, hang, leak or let a test pass that
should fail. Each test names the item of the hardening issue it guards."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import binary, structured

from pytest_cloudevents import Client, EventFactory, Receiver, retry
from pytest_cloudevents.events import new_event
from pytest_cloudevents.wire import decode

DEEP = 100_000


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        (binary(), b"[" * DEEP + b"]" * DEEP, "invalid-json"),
        (structured()[0], b"[" * DEEP + b"]" * DEEP, "invalid-json"),
        ({"content-type": "application/cloudevents-batch+json"}, b"[" * DEEP, "invalid-json"),
        (
            structured()[0],
            json.dumps({**json.loads(structured()[1]), "id": "x"})
            .replace('"x"', "[" * 1500 + "]" * 1500)
            .encode(),
            "invalid-json",
        ),
        (binary(content_type="text/plain; charset=undefined"), b"abc", None),
        (binary(content_type="text/plain; charset=punycode"), b"\xff\xfe", None),
        (binary(content_type="text/plain; charset=\x00"), b"abc", "control-character"),
        (binary(content_type="application/json; charset=undefined"), b"{}", "invalid-json"),
        (binary(), b'{"n": NaN}', "invalid-json"),
        (binary(), b"Infinity", "invalid-json"),
        (
            structured()[0],
            json.dumps({**json.loads(structured()[1])}).encode()[:-1] + b', "data": -Infinity}',
            "invalid-json",
        ),
    ],
    ids=[
        "deep-binary",
        "deep-structured",
        "deep-batch",
        "deep-id",
        "charset-undefined",
        "charset-punycode",
        "charset-nul",
        "json-charset-undefined",
        "nan",
        "infinity",
        "structured-minus-infinity",
    ],
)
def test_decode_never_raises_and_names_the_rule(
    headers: dict[str, str], body: bytes, code: str | None
) -> None:
    """Items 4 and 15: decode raised RecursionError, UnicodeError, ValueError on these, and
    accepted NaN/Infinity as JSON."""
    decoded = decode(headers, body)
    if code is None:  # an unknown or undecodable charset keeps the text as bytes
        assert decoded.ok and decoded.events[0].get_data() == body
    else:
        assert code in [v.code for v in decoded.violations]


def test_a_batch_whose_specversion_is_an_object_is_a_violation() -> None:
    """Item 4: TypeError: unhashable type."""
    item = {**json.loads(structured()[1]), "specversion": {"v": 1}}
    decoded = decode(
        {"content-type": "application/cloudevents-batch+json"}, json.dumps([item]).encode()
    )
    assert "attribute-type" in [v.code for v in decoded.violations]


def test_the_live_receiver_records_them_with_a_4xx(make_ce_receiver) -> None:  # type: ignore[no-untyped-def]
    receiver = make_ce_receiver(check_rejected=False)
    response = requests.post(receiver.url, headers=binary(), data=b"[" * DEEP + b"]" * DEEP)
    assert response.status_code == 400 and "invalid-json" in response.text
    [delivery] = receiver.deliveries
    assert delivery.outcome == "rejected"


def test_a_json_body_of_tiny_values_is_bounded_by_max_body(make_ce_receiver) -> None:  # type: ignore[no-untyped-def]
    """Item 10: 10 MiB of `[{},{},...]` held 251 MiB per recorded delivery. A document whose
    parsed form would take more than twice max_body (with its text) is body-too-large (413),
    refused before it is parsed."""
    receiver = make_ce_receiver(max_body=64 * 1024, check_rejected=False)
    tiny = b"[" + b",".join([b"{}"] * 20_000) + b"]"  # 60 KB, 20,001 values
    response = requests.post(receiver.url, headers=binary(), data=tiny)
    assert response.status_code == 413
    [delivery] = receiver.assert_rejected("body-too-large")
    assert "over twice max_body (65,536)" in str(delivery.violations[0])
    ordinary = json.dumps({"items": [{"sku": f"s-{i}", "n": i} for i in range(200)]}).encode()
    assert requests.post(receiver.url, headers=binary(), data=ordinary).status_code == 202


# wrongly typed on purpose: the calls below test what a caller without a type checker meets
UntypedClient: Any = Client
UntypedReceiver: Any = Receiver


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: UntypedClient(validate="no"), "validate must be True or False"),
        (lambda: UntypedClient(target=123), "URL string"),
        (lambda: Client(target="ftp://x/"), "http:// or https://"),
        (lambda: UntypedClient(session="s"), "requests.Session"),
        (lambda: UntypedClient(headers="x"), "dict of header names"),
        (lambda: Client(headers={"X": "a\r\nB: c"}), "CR, LF"),
        (lambda: Client(timeout=math.inf), "finite number of seconds"),
        (lambda: Client(timeout=math.nan), "finite number of seconds"),
        (lambda: Client(timeout=1e12), "at most 3600"),
        (lambda: Client(mode=""), "'binary' or 'structured'"),
        (lambda: retry.knative(backoff_max=-1), "backoff_max"),
        (lambda: UntypedReceiver(advertise_host=5), "advertise_host"),
        (lambda: Receiver(wait_timeout=math.nan), "finite number of seconds"),
        (lambda: Receiver(wait_timeout=math.inf), "finite number of seconds"),
    ],
)
def test_wrong_arguments_raise_at_the_call(build, message: str) -> None:  # type: ignore[no-untyped-def]
    """Item 13: each of these was accepted, or failed later (NaN: a wait that spun forever)."""
    with pytest.raises((TypeError, ValueError), match=message):
        build()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.wait_for(count=0), "whole number >= 1"),
        (lambda r: r.wait_for(count=-1), "whole number >= 1"),
        (lambda r: r.wait_for(count=1.5), "whole number"),
        (lambda r: r.wait_for(count="3"), "whole number"),
        (lambda r: r.wait_for(timeout=-1), "seconds >= 0"),
        (lambda r: r.assert_received(count=-1), "whole number >= 0"),
        (lambda r: r.assert_not_received(within=math.nan), "finite"),
    ],
)
def test_wrong_wait_arguments_raise_at_the_call(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with Receiver() as receiver, pytest.raises((TypeError, ValueError), match=message):
        call(receiver)


def test_the_client_ignores_netrc_and_proxies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ce_receiver: Receiver
) -> None:
    """Item 14: a netrc entry replaced the test's Authorization header, and HTTP_PROXY sent
    events (and tokens) through a proxy."""
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login dev password secret\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9/")
    event = EventFactory(1).make("com.example.t")
    with Client(headers={"Authorization": "Bearer test-token"}) as client:
        assert client.send(event, to=ce_receiver.url).is_ack  # not through the dead proxy
    [delivery] = ce_receiver.deliveries
    assert delivery.headers["authorization"] == "Bearer test-token"


def test_credentials_in_a_url_are_never_shown(ce_receiver: Receiver) -> None:
    """Item 14: `user:pass@` must not appear in describe(), reprs or reports."""
    url = ce_receiver.url.replace("http://", "http://user:hunter2@")
    with Client(target=url) as client:
        result = client.send(EventFactory(2).make("com.example.t"))
        assert "hunter2" not in result.describe() and "hunter2" not in repr(result)
        assert "hunter2" not in repr(client)
        assert result.url.startswith("http://***@127.0.0.1:")


def test_data_json_cannot_carry_is_undelivered_not_sent(ce_receiver: Receiver) -> None:
    """Found by the round-trip property: data holding Infinity was written as non-JSON."""
    # the factory refuses such data; a user's own event can still hold it
    with pytest.raises(ValueError, match="NaN and Infinity"):
        EventFactory(3).make("com.example.t", data={"ratio": math.inf})
    attributes = {"specversion": "1.0", "id": "inf", "source": "/s", "type": "com.example.t"}
    event = new_event({**attributes, "datacontenttype": "application/json"}, {"ratio": math.inf})
    with Client() as client:
        result = client.send(event, to=ce_receiver.url, mode="structured")
        assert result.is_undelivered and result.attempts == 0
        assert "nothing was sent" in str(result.error)
        assert client.send_batch([event], to=ce_receiver.url).is_undelivered
    assert ce_receiver.deliveries == []
