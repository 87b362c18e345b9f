"""The memory one request costs at its peak, measured with tracemalloc around the delivery
app (what every host runs): the same measurement for `tests/test_memory.py` and for
`make bench`. The body's own bytes are allocated before the measurement starts; the peak is
everything the delivery allocates on top of them (inflating, decoding, parsing, recording).
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from dataclasses import dataclass

from pytest_cloudevents.config import Options
from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.driver import drive
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.recording.store import LocalRecording
from pytest_cloudevents.wire import Headers

MIB = 1024 * 1024
BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "m-1",
    "ce-source": "/memory",
    "ce-type": "com.example.memory",
    "content-type": "application/json",
}


@dataclass(frozen=True)
class Peak:
    """What one delivery of a body cost: its answer's status, its violation codes, and the
    peak of memory allocated while it was delivered."""

    status: int | None
    codes: list[str]
    peak: int


def peak_of(body: bytes, max_body: int, *, encoding: str | None = None) -> Peak:
    """Deliver `body` (binary mode, JSON) to an app with `max_body`; the peak it cost."""
    recording = LocalRecording(Options(max_body=max_body, check_rejected=False))
    app = DeliveryApp(recording)
    headers = dict(BINARY)
    if encoding is not None:
        headers["content-encoding"] = encoding
    request = Request.from_http("POST", "/", Headers(headers), body, max_body=max_body)
    tracemalloc.start()
    try:
        answer = drive(app.deliver(request), lambda hold: "elapsed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [delivery] = recording.log.snapshot()
    return Peak(answer.status, delivery.codes, peak)


def nested_arrays(size: int) -> bytes:
    """About `size` bytes of JSON made of small nested arrays (`[[[]],[[]],...]`): the
    shape Python builds into some fifty times its size."""
    item = b"[[]]"
    count = max(1, (size - 2) // (len(item) + 1))
    return b"[" + b",".join([item] * count) + b"]"


def shapes(max_body: int) -> dict[str, tuple[bytes, str | None]]:
    """The bodies the memory target names, for a receiver with `max_body`: each a body
    and its Content-Encoding."""
    arrays = nested_arrays(max_body)
    return {
        f"{len(arrays) // MIB} MiB JSON of small nested arrays": (arrays, None),
        f"{len(gzip.compress(arrays)) // 1024} KB gzip of the same": (
            gzip.compress(arrays),
            "gzip",
        ),
        "a JSON string of max_body / 2": (json.dumps("x" * (max_body // 2 - 2)).encode(), None),
        "a JSON batch-like array of objects (max_body / 16)": (
            json.dumps([{"id": f"e-{i}", "n": i} for i in range(max_body // 16 // 20)]).encode(),
            None,
        ),
    }
