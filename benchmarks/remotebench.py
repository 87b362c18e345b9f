"""The standalone receiver's targets: events per second through `serve` (a subprocess)
against an in-process `Receiver`, and how soon `RemoteReceiver.wait_for` wakes."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time

import requests
from common import BODY, HEADERS, paired, report, session_rate

from pytest_cloudevents import Receiver, RemoteReceiver


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_cloudevents", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().removeprefix("listening on ").strip()
    process.stdout.readline()
    return process, url


def store_rate(n: int = 300, rounds: int = 11) -> None:
    """Events per second through `serve --store` (SQLite, and PostgreSQL started on loopback
    as the tests start it), against `serve` with the memory store, each in its own process;
    every round ends when the store holds what was sent (the writer's queue is drained), so
    the rate counts the writes, not only the answers."""
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import pg

    memory, memory_url = _serve()
    folder = tempfile.mkdtemp(prefix="ce-bench-")
    stores: list[tuple[str, str]] = [("SQLite", f"sqlite:///{folder}/bench.db")]
    server = None
    reason = pg.missing()
    if reason is None:
        server = pg.start()
        stores.append(("PostgreSQL", server.url))
    else:
        print(f"SKIP serve with PostgreSQL: {reason}")
    try:
        for name, store in stores:
            process, url = _serve("--store", store)
            try:

                def ours(url: str = url) -> float:
                    return _stored_rate(url, n)

                def baseline() -> float:
                    return _stored_rate(memory_url, n)

                mine, theirs, ratio = paired(ours, baseline, rounds)
            finally:
                process.terminate()
                process.wait(10)
            report(
                f"events per second through serve --store ({name}) vs the memory store, each"
                f" in its own process, {rounds} paired rounds of {n}",
                mine,
                theirs,
                "events/s",
                "none (reported)",
                "higher",
                ratio,
            )
    finally:
        memory.terminate()
        memory.wait(10)
        if server is not None:
            server.stop()


def _stored_rate(url: str, n: int) -> float:
    """Posts a second over a Session until the receiver's control API has answered all `n`
    of them (for a store, once its view read them back): a long-poll on the cursor, one
    small page each."""
    control = url + "_ce/deliveries"
    with requests.Session() as session:
        start = session.get(control, params={"after": 10**12, "limit": 1}).json()["next"]
        began = time.perf_counter()
        for i in range(n):
            headers = dict(HEADERS, **{"ce-id": f"s-{start + i}"})
            session.post(url, headers=headers, data=BODY).raise_for_status()
        while True:
            doc = session.get(
                control, params={"after": start + n - 1, "wait": 10, "limit": 1}
            ).json()
            if doc["next"] >= start + n:
                return n / (time.perf_counter() - began)


def serve_rate(n: int = 300, rounds: int = 15) -> None:
    """A requests.Session posting to `serve` in its own process, against the same posts to a
    `Receiver` in its own process (servers.receiver)."""
    import servers

    process, url = _serve()
    local = servers.receiver()
    try:

        def ours() -> float:
            return session_rate(url, n)

        def baseline() -> float:
            return session_rate(local.url, n)

        mine, theirs, ratio = paired(ours, baseline, rounds)
    finally:
        process.terminate()
        process.wait(10)
        local.stop()
    report(
        f"events per second through serve vs a Receiver, each in its own process,"
        f" {rounds} paired rounds of {n}",
        mine,
        theirs,
        "events/s",
        "ratio >= 0.95",
        "higher",
        ratio,
    )


def remote_wake_latency(n: int = 200) -> None:
    """From the producer's 202 (the delivery is recorded before it is answered; a wait may
    wake before the 202 reaches the producer, so a figure can be negative) to
    `RemoteReceiver.wait_for` returning in another thread; against the same with an
    in-process `Receiver`."""
    process, url = _serve()

    def wakes(receiver: Receiver | RemoteReceiver, target: str) -> list[float]:
        out = []
        with requests.Session() as session:
            for i in range(n):
                woke: dict[str, float] = {}
                ready = threading.Event()

                def waiter(
                    event_id: str = str(i),
                    ready: threading.Event = ready,
                    woke: dict[str, float] = woke,
                ) -> None:
                    ready.set()
                    receiver.wait_for(id=event_id, timeout=10)
                    woke["t"] = time.perf_counter()

                thread = threading.Thread(target=waiter)
                thread.start()
                ready.wait()
                time.sleep(0.002)  # let the wait begin its long-poll
                session.post(target, headers=dict(HEADERS, **{"ce-id": str(i)}), data=BODY)
                answered = time.perf_counter()
                thread.join()
                out.append((woke["t"] - answered) * 1000)
        return out

    try:
        with RemoteReceiver(url) as remote:
            mine = wakes(remote, url)
        with Receiver() as local:
            theirs = wakes(local, local.url)
    finally:
        process.terminate()
        process.wait(10)
    report(
        f"RemoteReceiver.wait_for wake-up after the producer's answer, median of {n}"
        " (vs an in-process Receiver's wait_for)",
        statistics.median(mine),
        statistics.median(theirs),
        "ms",
        "median <= 20 ms",
        "lower",
    )
    print(f"  ours p90 {statistics.quantiles(mine, n=10)[-1]:.3f} ms, max {max(mine):.3f} ms")
