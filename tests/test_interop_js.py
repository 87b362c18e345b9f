"""Interop with an independent implementation: the JavaScript CloudEvents SDK (npm
`cloudevents`, pinned in interop/js/package-lock.json), run with the machine's node."""

from __future__ import annotations

import base64
import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import attr, when

from pytest_cloudevents import Client, EventFactory, Receiver, assert_ack
from pytest_cloudevents.events import attributes_of as event_attributes

JS = Path(__file__).resolve().parent.parent / "interop" / "js"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="node and npm are not installed: the interop tests with the JavaScript SDK need them",
)


@pytest.fixture(scope="session")
def js_sdk() -> Path:
    """The pinned JavaScript SDK, installed into interop/js on first use (one installer at
    a time, also across xdist workers)."""
    with open(JS / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (JS / "node_modules" / "cloudevents" / "package.json").exists():
            subprocess.run(
                [str(NPM), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=JS,
                check=True,
                timeout=300,
            )
    return JS


def _node(script: str, *args: str) -> Any:
    done = subprocess.run(
        [str(NODE), script, *args], cwd=JS, capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _expected_data(sent: dict[str, Any]) -> Any:
    if "data_base64" in sent:
        return base64.b64decode(sent["data_base64"])
    data = sent.get("data")
    if isinstance(data, dict) and data.get("type") == "Buffer":  # Buffer.toJSON()
        return bytes(data["data"])
    return data


@pytest.mark.parametrize("mode", ["binary", "structured", "batch"])
def test_the_js_emitter_is_recorded_exactly(js_sdk: Path, ce_receiver: Receiver, mode: str) -> None:
    sent = _node("emit.js", ce_receiver.url, mode)
    assert ce_receiver.rejected == []
    received = ce_receiver.events
    assert [attr(e, "id") for e in received] == [s["id"] for s in sent]
    assert {d.mode for d in ce_receiver.deliveries} == {mode}
    for expected, event in zip(sent, received, strict=True):
        attrs = event.get_attributes()
        for name in ("source", "type", "specversion", "datacontenttype", "subject"):
            assert attrs.get(name) == expected.get(name), name
        assert when(event) == _time(expected["time"])
        assert event.get_data() == _expected_data(expected)
    first = received[0]
    if mode == "binary":  # extensions travel as header strings
        assert (attr(first, "attempt"), attr(first, "urgent")) == (
            "3",
            "true",
        )
    else:
        assert (attr(first, "attempt"), attr(first, "urgent")) == (
            3,
            True,
        )
    assert attr(first, "tenant") == "acme"


@pytest.fixture
def js_receiver(js_sdk: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [str(NODE), "receive.js"],
        cwd=js_sdk,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = json.loads(process.stdout.readline())["port"]
    yield f"http://127.0.0.1:{port}/", process
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _read(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line: dict[str, Any] = json.loads(process.stdout.readline())
    return line


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_our_client_is_read_back_exactly_by_the_js_sdk(
    js_receiver: tuple[str, subprocess.Popen[str]], ce_events: EventFactory, mode: str
) -> None:
    url, process = js_receiver
    events = [
        ce_events.make(
            "com.example.order.created",
            data={"total": 12.5, "items": ["a"]},
            subject="order-1",
            tenant="acme",
            time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
        ),
        ce_events.make("com.example.note", data="plain text", datacontenttype="text/plain"),
    ]
    reads = []
    with Client(url, mode=mode) as client:
        for event in events:
            assert_ack(client.send(event))
            [read] = _read(process)["events"]
            reads.append(read)
            ours = event_attributes(event)
            for name in (
                "id",
                "source",
                "type",
                "specversion",
                "subject",
                "datacontenttype",
                "tenant",
            ):
                assert read.get(name) == ours.get(name), name
            assert read["data"] == event.get_data()
    assert _time(reads[0]["time"]) == when(events[0])  # milliseconds survive


def test_departure_the_js_sdk_does_not_percent_decode(
    js_receiver: tuple[str, subprocess.Popen[str]], ce_events: EventFactory
) -> None:
    """Documented in the README: binary-mode values arrive still percent-encoded."""
    url, process = js_receiver
    event = ce_events.make("com.example.note", subject="Euro \u20ac \U0001f600 100%", data={})
    with Client(url) as client:
        assert_ack(client.send(event, mode="structured"))
        assert _read(process)["events"][0]["subject"] == "Euro \u20ac \U0001f600 100%"
        assert_ack(client.send(event, mode="binary"))
        assert _read(process)["events"][0]["subject"] == "Euro%20%E2%82%AC%20%F0%9F%98%80%20100%25"


def test_our_batches_are_read_by_the_js_sdk(
    js_receiver: tuple[str, subprocess.Popen[str]], ce_events: EventFactory
) -> None:
    url, process = js_receiver
    events = ce_events.make_many(3, "com.example.order.created", data={"n": 1})
    with Client(url) as client:
        assert_ack(client.send_batch(events))
    read = _read(process)["events"]
    assert [r["id"] for r in read] == [attr(e, "id") for e in events]


def test_departure_the_js_sdk_does_not_percent_encode(js_sdk: Path, ce_receiver: Receiver) -> None:
    """Documented in the README: the JS SDK does not percent-encode header values."""
    script = """
    const { CloudEvent, Mode, emitterFor, httpTransport } = require("cloudevents");
    const emit = emitterFor(httpTransport(process.argv[1]), { mode: Mode.BINARY });
    emit(new CloudEvent({ id: "pct-1", source: "/js", type: "com.example.u",
                          subject: "100% sure", data: {} }))
      .then(() => process.exit(0), () => process.exit(0));
    """
    subprocess.run([str(NODE), "-e", script, ce_receiver.url], cwd=js_sdk, check=True, timeout=30)
    [delivery] = ce_receiver.assert_rejected("invalid-percent-encoding")
    assert delivery.headers["ce-subject"] == "100% sure"  # sent as is, not as 100%25%20sure


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_sends_round_trip_to_the_receiver(
    ce_receiver: Receiver, ce_events: EventFactory, coding: str
) -> None:
    """The JavaScript side's counterpart below: our receiver decodes what our client
    compresses, in every mode."""
    event = ce_events.make("com.example.order.created", data={"lines": ["x"] * 500})
    with Client(ce_receiver.url, compress=coding) as client:
        for mode in ("binary", "structured"):
            assert_ack(client.send(event, mode=mode))
        assert_ack(client.send_batch([event]))
    assert [d.content_encoding for d in ce_receiver.deliveries] == [coding] * 3
    assert all(e.get_data() == {"lines": ["x"] * 500} for e in ce_receiver.events)


def test_departure_the_js_sdk_does_not_decode_content_encoding(
    js_receiver: tuple[str, subprocess.Popen[str]], ce_events: EventFactory
) -> None:
    """Documented in the README: the JavaScript SDK's HTTP.toEvent reads the body as it
    arrives; a gzip body is not decoded, so the compressed bytes do not parse."""
    url, process = js_receiver
    event = ce_events.make("com.example.order.created", data={"total": 3})
    with Client(url, compress="gzip") as client:
        result = client.send(event, mode="structured")
    assert result.status_code == 400
    assert "error" in _read(process)
