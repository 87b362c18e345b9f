"""The log behind the Recording protocol in a store: SQLite (a restarted `serve` returns
every delivery it had) and PostgreSQL (replicas share one log, their waits and streams are
woken by LISTEN/NOTIFY, and fault rules with `times` count once across them), against real
servers: `serve` processes, and a PostgreSQL started on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from helpers import binary
from pg import Postgres, missing, start
from standalone import Served, serve

from pytest_cloudevents import Client, RemoteReceiver, Standalone, faults
from pytest_cloudevents.control_protocol import StoredForm
from pytest_cloudevents.events import CloudEvent, build
from pytest_cloudevents.recording.persist import SQLiteLog, Writer, sqlite_path

#: SDK-independent (the control API's JSON, kept by serve processes): not in every SDK session
pytestmark = pytest.mark.once


def event(number: int) -> CloudEvent:
    return build({"specversion": "1.0", "id": f"e{number}", "source": "/s", "type": "t"}, None)


def ids(url: str, after: int = 0) -> list[str]:
    doc = requests.get(url + "_ce/deliveries", params={"after": after}).json()
    return [d["events"][0]["id"] if d["events"] else "-" for d in doc["deliveries"]]


# --------------------------------------------------------------------------- SQLite


def test_a_restarted_sqlite_serve_returns_every_delivery_it_had(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/ce.db"
    served = serve("--store", store)
    try:
        for n in range(40):
            headers = binary(ce_id=f"e{n}", authorization="Bearer s3")
            assert (
                requests.post(served.url + "orders", headers=headers, data=b"{}").status_code == 202
            )
        assert requests.post(served.url, headers=binary(ce_id=None), data=b"{}").status_code == 400
        before = requests.get(served.url + "_ce/deliveries?credentials=show").json()["deliveries"]
    finally:
        assert served.stop() == 0
    again = serve("--store", store)
    try:
        after = requests.get(again.url + "_ce/deliveries?credentials=show").json()["deliveries"]
        assert after == before  # every field of every delivery, the rejected one too
        assert (
            after[-1]["outcome"] == "rejected"
            and after[0]["headers"]["authorization"] == "Bearer s3"
        )
        # numbering goes on after what was read back
        assert requests.post(again.url, headers=binary(ce_id="new"), data=b"{}").status_code == 202
        newest = requests.get(again.url + "_ce/deliveries?after=41").json()["deliveries"]
        assert [(d["seq"], d["events"][0]["id"]) for d in newest] == [(42, "new")]
        # a reset empties the store too
        assert requests.post(again.url + "_ce/reset").status_code == 200
    finally:
        assert again.stop() == 0
    third = serve("--store", str(tmp_path / "ce.db"))  # a plain path is an SQLite store
    try:
        assert ids(third.url) == []
    finally:
        assert third.stop() == 0


def test_an_sqlite_store_keeps_what_retention_keeps(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    with Standalone(store=str(path), retain=20) as receiver, Client(receiver.url) as client:
        for n in range(100):
            client.send(event(n))
        assert receiver.flush()
    with Standalone(store=str(path), retain=20) as receiver:
        kept = [d.events[0].get_attributes()["id"] for d in receiver.deliveries]
        assert 0 < len(kept) <= 20 and kept[-1] == "e99"
        assert kept == [f"e{n}" for n in range(100 - len(kept), 100)]


def test_a_store_that_cannot_be_written_is_refused_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pytest_cloudevents.cli import main

    assert main(["serve", "--port", "0", "--store", "sqlite:////proc/no/such/ce.db"]) == 2
    assert "pytest-cloudevents serve:" in capsys.readouterr().err
    with pytest.raises(TypeError, match="store takes an SQLite path"):
        Standalone(store="")
    with pytest.raises(ValueError, match="an SQLite store is a path"):
        sqlite_path("sqlite://")


def test_a_failing_write_is_counted_and_said_and_the_writer_goes_on() -> None:
    said: list[BaseException] = []
    written: list[int] = []

    def write(batch: list[int]) -> None:
        if 13 in batch:
            raise OSError("disk full")
        written.extend(batch)

    writer: Writer[int] = Writer("test", write, lambda: None, said.append)  # type: ignore[arg-type]
    for n in (1, 2):
        writer.put(n)
    assert writer.flush()
    writer.put(13)
    assert writer.flush()
    writer.put(3)
    writer.close()
    assert written == [1, 2, 3] and writer.errors == 1 and "disk full" in str(said[0])


def test_an_sqlite_log_reads_back_held_numbering(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "x.db", StoredForm())
    try:
        assert len(log) == 0 and log.begin().seq == 1
    finally:
        log.close()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    server = start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def replicas(postgres: Postgres) -> Iterator[tuple[Served, Served]]:
    """Two `serve` processes on one PostgreSQL log, emptied first."""
    first = serve("--store", postgres.url)
    second = serve("--store", postgres.url)
    try:
        requests.post(first.url + "_ce/reset").raise_for_status()
        yield first, second
    finally:
        assert first.stop() == 0
        assert second.stop() == 0


def test_events_sent_to_either_replica_are_seen_through_either(
    replicas: tuple[Served, Served],
) -> None:
    a, b = replicas
    with Client() as client, RemoteReceiver(a.url) as through_a, RemoteReceiver(b.url) as through_b:
        for n in range(10):
            assert client.send(event(n), to=(a if n % 2 else b).url).is_ack
        for remote in (through_a, through_b):
            found = remote.wait_for(type="t", count=10, timeout=10)
            assert sorted(e.get_attributes()["id"] for e in found) == sorted(
                f"e{n}" for n in range(10)
            )
        # one numbering for all: the same seqs in the same order through both
        assert [d.seq for d in through_a.deliveries] == [d.seq for d in through_b.deliveries]


def test_a_wait_on_one_replica_wakes_for_an_event_sent_to_the_other(
    replicas: tuple[Served, Served],
) -> None:
    a, b = replicas
    with RemoteReceiver(a.url) as through_a, Client(b.url) as client:
        woke: list[float] = []

        def wait() -> None:
            through_a.wait_for(id="late", timeout=10)
            woke.append(time.monotonic())

        waiter = threading.Thread(target=wait)
        waiter.start()
        through_a.assert_not_received(id="late", within=0.3)  # the wait is long-polling
        sent = time.monotonic()
        assert client.send(
            build({"specversion": "1.0", "id": "late", "source": "/s", "type": "t"}, None)
        ).is_ack
        waiter.join(15)
        assert woke and woke[0] - sent < 2.0


def test_a_times_1_rule_fires_once_across_both_replicas(replicas: tuple[Served, Served]) -> None:
    a, b = replicas
    with RemoteReceiver(a.url) as through_a, RemoteReceiver(b.url) as through_b, Client() as client:
        rule = through_a.inject(faults.status(503), times=1)
        # the other replica reads the rule when notified, and at once when its rules are
        # listed (as here: then the next delivery there meets it)
        assert [r["times"] for r in requests.get(b.url + "_ce/rules").json()] == [1]
        statuses = [client.send(event(n), to=(a if n % 2 else b).url).status for n in range(12)]
        assert statuses.count(503) == 1 and statuses.count(202) == 11
        assert rule.hits == 1
        assert [r["hits"] for r in requests.get(b.url + "_ce/rules").json()] == [1]
        # a reset of one resets both: the log and the rules
        through_b.reset()
        assert requests.get(a.url + "_ce/rules").json() == []
        assert through_a.deliveries == []


def test_a_replica_started_later_reads_the_shared_log(postgres: Postgres) -> None:
    with Standalone(store=postgres.url) as first, Client(first.url) as client:
        first.reset()
        for n in range(5):
            client.send(event(n))
        assert first.flush()
        with Standalone(store=postgres.url) as later, RemoteReceiver(later.url) as remote:
            assert len(remote.wait_for(type="t", count=5, timeout=10)) == 5


def test_a_lost_database_is_a_clear_answer_and_deliveries_go_on() -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    server = start()
    try:
        receiver = Standalone(store=server.url)
    except BaseException:
        server.stop()
        raise
    try:
        server.stop()  # the database goes away under a running receiver
        answer = requests.get(receiver.control_url + "rules", timeout=60)
        assert answer.status_code == 503
        assert answer.json()["error"].startswith("the control API could not answer:")
        # producers are still answered: the receiver checks and answers from memory
        assert requests.post(receiver.url, headers=binary(), data=b"{}").status_code == 202
    finally:
        receiver.stop()
