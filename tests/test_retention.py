"""Retention: a bounded log evicts the oldest answered deliveries, counts them, keeps its
cursors valid and its waits whole, and a `serve --retain` stays flat in memory."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from standalone import serve

from pytest_cloudevents import Client, Receiver, RemoteReceiver, Standalone, faults, match
from pytest_cloudevents.events import CloudEvent, build
from pytest_cloudevents.recording.log import DELIVERY_OVERHEAD


def event(number: int, **more: object) -> CloudEvent:
    attributes: dict[str, object] = {"specversion": "1.0", "id": f"e{number}", "source": "/s"}
    attributes.update(type="t", **more)
    return build(attributes, {"n": number})


def test_the_oldest_deliveries_go_first_and_are_counted() -> None:
    with Receiver(retain=100) as receiver, Client(receiver.url) as client:
        for n in range(1000):
            client.send(event(n))
        kept = receiver.deliveries
        assert 90 <= len(kept) <= 100
        assert kept[-1].events[0].get_attributes()["id"] == "e999"
        assert [d.seq for d in kept] == sorted(d.seq for d in kept)  # the newest, in order
        assert receiver.evicted == 1000 - len(kept)
        assert len(receiver.events) == len(kept)
        # the index lost the evicted events: an assertion on an old id finds nothing
        assert receiver.matching(id="e5") == [] and len(receiver.matching(id="e999")) == 1
        receiver.assert_not_received(id="e0")
        receiver.reset()
        assert receiver.evicted == 0


def test_retain_bytes_bounds_the_estimated_size() -> None:
    body = "x" * 10_000
    with Receiver(retain_bytes=200_000) as receiver, Client(receiver.url) as client:
        for n in range(200):
            client.send(
                build(
                    {
                        "specversion": "1.0",
                        "id": f"b{n}",
                        "source": "/s",
                        "type": "t",
                        "datacontenttype": "text/plain",
                    },
                    body,
                )
            )
        kept = len(receiver.deliveries)
        assert 10 <= kept <= 200_000 // 10_000
        assert receiver.evicted == 200 - kept


def test_a_held_delivery_is_never_evicted_and_a_wait_keeps_what_it_found() -> None:
    with Receiver(retain=10) as receiver, Client(receiver.url) as client:
        receiver.inject(faults.delay(0.5), times=1, when=match(id="e-1"))
        held = threading.Thread(target=client.send, args=(event(-1),))
        held.start()
        found: list[object] = []
        waiter = threading.Thread(
            target=lambda: found.extend(receiver.wait_for(type="t", count=40, timeout=20))
        )
        waiter.start()
        for n in range(60):
            client.send(event(n))
        waiter.join(30)
        held.join(30)
        # the wait counted 40 although only 10 are kept: eviction took none from it
        assert len(found) == 40
        assert any(d.events[0].get_attributes()["id"] == "e-1" for d in receiver.deliveries)


def test_refused_settings_say_what_to_pass() -> None:
    with pytest.raises(ValueError, match="retain"):
        Receiver(retain=0)
    with pytest.raises(TypeError, match="retain"):
        Receiver(retain="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retain_bytes"):
        Receiver(retain_bytes=DELIVERY_OVERHEAD - 1)


def test_the_control_api_says_how_many_were_evicted_and_cursors_stay_valid() -> None:
    with Standalone(retain=10) as served, Client(served.url) as client:
        for n in range(25):
            client.send(event(n))
        page = requests.get(served.control_url + "deliveries?after=0").json()
        assert page["next"] == 25  # the cursor counts every answered delivery
        assert page["evicted"] == 25 - len(page["deliveries"]) == page["missed"]
        ids = [d["events"][0]["id"] for d in page["deliveries"]]
        assert ids == [f"e{n}" for n in range(25 - len(ids), 25)]
        # a cursor from before the evictions still reads on from where it was
        later = requests.get(served.control_url + "deliveries?after=20").json()
        assert [d["events"][0]["id"] for d in later["deliveries"]] == [
            f"e{n}" for n in range(20, 25)
        ]
        assert later["missed"] == 0
        # a RemoteReceiver's waits go on over an evicting log
        with RemoteReceiver(served.url) as remote:
            for n in range(25, 60):
                client.send(event(n))
            assert remote.wait_for(id="e59")


def rss(pid: int) -> int:
    """The resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_many(url: str, first: int, count: int, batch: int = 500) -> None:
    """`count` small binary events pipelined over one keep-alive connection, `batch` at a
    time (the server answers them in order; the client spends next to nothing)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=60) as sock:
        for start in range(first, first + count, batch):
            requests_ = b"".join(
                b"POST / HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\n"
                b"ce-id: m%d\r\nce-source: /load\r\nce-type: com.example.load\r\n"
                b'content-type: application/json\r\ncontent-length: 7\r\n\r\n{"n":1}' % n
                for n in range(start, min(start + batch, first + count))
            )
            sock.sendall(requests_)
            expected = min(batch, first + count - start)
            seen = b""
            while seen.count(b"HTTP/1.1 202") < expected:
                chunk = sock.recv(65536)
                assert chunk, "the connection closed before every answer came"
                seen += chunk
            assert seen.count(b"HTTP/1.1 ") == expected


@pytest.mark.once
def test_serve_with_retain_stays_flat_from_20000_to_60000_events() -> None:
    served = serve("--retain", "1000")
    try:
        send_many(served.url, 0, 20_000)
        at_20k = rss(served.process.pid)
        send_many(served.url, 20_000, 40_000)
        at_60k = rss(served.process.pid)
        page = requests.get(served.url + "_ce/deliveries?after=59990").json()
        assert page["next"] == 60_000 and page["evicted"] >= 59_000
        assert at_60k <= 1.3 * at_20k, (at_20k, at_60k)
    finally:
        assert served.stop() == 0
