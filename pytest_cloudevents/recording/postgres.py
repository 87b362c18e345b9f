"""A log and fault rules shared by the replicas of a standalone receiver, in PostgreSQL.

Several `serve --store postgresql://...` replicas behind one Service record into one log:
each writes what it answered (its `Writer`, in batches) and `NOTIFY`s; each `LISTEN`s and
reads what any replica wrote into its own memory log, numbered by the database (a
delivery's `seq` is its row's id, the same on every replica). So every read, wait and
event stream of the control API works as on one receiver, and one sent to a replica wakes
a long-poll on another within a round trip. A reset (of any replica) starts a new
generation for all: the rows go, and a delivery that arrived before it (on the database's
clock against the replica's: keep them in step) is not recorded after it. Writers take
turns (an advisory lock for each batch), so rows are committed in the order of their ids
and a reader going on from the last id it read skips none. Fault rules are rows too: a
replica claims a use of a rule in one `UPDATE ... WHERE hits < times`, so `times=1` fires
once across them all.

The view holds answered deliveries only (a held one is shown once it is answered). A
listener that missed a notification catches up at its next look (at least every half
second).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Protocol, final

from pytest_cloudevents.faults.kinds import Fault, Flaky
from pytest_cloudevents.faults.rules import Rule, RuleList, When
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.recording.log import DeliveryLog
from pytest_cloudevents.recording.persist import BATCH, Codec, Writer

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresLog", "RuleCodec", "SharedRules"]

#: Seconds between the listener's looks when no notification comes.
LOOK: Final[float] = 0.5
#: Seconds to connect, and milliseconds any statement may take (a writer waiting its turn
#: included), at most.
CONNECT_TIMEOUT: Final[int] = 10
STATEMENT_TIMEOUT_MS: Final[int] = 30_000
_CHANNEL: Final[str] = "ce_log"
_SCHEMA: Final[tuple[str, ...]] = (
    "CREATE TABLE IF NOT EXISTS ce_deliveries (id BIGSERIAL PRIMARY KEY,"
    " generation BIGINT NOT NULL, doc TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ce_state (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO ce_state VALUES ('generation', 0) ON CONFLICT DO NOTHING",
    "INSERT INTO ce_state VALUES ('reset_at', 0) ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS ce_rules (id BIGSERIAL PRIMARY KEY, doc TEXT NOT NULL,"
    " times INTEGER, hits INTEGER NOT NULL DEFAULT 0)",
)
#: The advisory lock replicas take to make the tables (one at a time).
_SCHEMA_LOCK: Final[int] = 0x63655F6C6F67
#: The advisory lock a replica's writer holds while it writes a batch.
_WRITE_LOCK: Final[int] = _SCHEMA_LOCK + 1


class RuleCodec(Protocol):
    """A rule's fault, `times` and `when` to stored text and back."""

    def encode(self, fault: Fault, times: int | None, when: When) -> str: ...

    def decode(self, text: str) -> tuple[Fault, int | None, When]: ...


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the extra is installed in the tests
        raise ImportError(
            "a PostgreSQL store needs psycopg: pip install 'pytest-cloudevents[postgres]'"
        ) from exc
    try:
        # bounded: a database that does not answer is an error in seconds, never a hang
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
    except psycopg.Error as exc:
        raise ValueError(f"cannot connect to the PostgreSQL store {url!r}: {exc}") from None


@final
class PostgresLog(DeliveryLog):
    """The memory log of one replica, filled from the shared table (see the module doc);
    `rules` are the shared fault rules."""

    def __init__(
        self,
        url: str,
        codec: Codec,
        rule_codec: RuleCodec,
        *,
        retain: int | None = None,
        retain_bytes: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(retain=retain, retain_bytes=retain_bytes)
        self.url = url
        self._codec = codec
        self._on_error = on_error
        self._own = _connect(url)  # this thread's: schema, resets (under `_own_lock`)
        self._own_lock = threading.Lock()
        with self._own.transaction():
            self._own.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in _SCHEMA:
                self._own.execute(statement)
        self._shared_generation = self._read_generation(self._own)
        self._last = 0  # the id of the last row read into the view
        self.rules = SharedRules(url, rule_codec)
        self._stop = threading.Event()
        self._listen = _connect(url)
        self._listen.execute(f"LISTEN {_CHANNEL}")
        self._catch_up(self._listen)  # what the log held when this replica started
        self._listener = threading.Thread(target=self._run, name="postgres listener", daemon=True)
        self._listener.start()
        self._write_db: psycopg.Connection[Any] | None = None
        self._writer: Writer[tuple[int, Delivery]] = Writer(
            "postgres writer", self._write, lambda: None, on_error
        )

    # -- what the app and the endpoint call ----------------------------------------------

    def add(self, delivery: Delivery, generation: int) -> None:
        """A held delivery is not shared: it is shown once it is answered."""

    def settle(self, delivery: Delivery, generation: int) -> bool:
        """Queue the answered delivery for the shared table (it reaches this replica's
        view, numbered, through the table like every other replica's). Whether it is
        recorded is the table's to say: a delivery that arrived before the last reset (by
        any replica, on the database's clock) is not, whatever this replica knew then."""
        arrived = int(delivery.timestamp.timestamp() * 1_000_000)
        self._writer.put((arrived, delivery))
        return True

    def clear(self) -> None:
        """A reset of every replica: a new generation, the log and the rules gone."""
        with self._own_lock, self._own.transaction():
            row = self._own.execute(
                "UPDATE ce_state SET value = value + 1 WHERE name = 'generation' RETURNING value"
            ).fetchone()
            self._own.execute(
                "UPDATE ce_state SET value = (extract(epoch from clock_timestamp()) * 1000000)"
                "::bigint WHERE name = 'reset_at'"
            )
            self._own.execute("DELETE FROM ce_deliveries")
            self._own.execute("DELETE FROM ce_rules")
            self._own.execute(f"NOTIFY {_CHANNEL}, 'reset'")
        assert row is not None
        self._shared_generation = int(row[0])
        DeliveryLog.clear(self)
        self.rules.refresh()

    def flush(self, timeout: float = 10.0) -> bool:
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued, stop listening, close the connections."""
        self._writer.close()
        self._stop.set()
        self._listener.join(5.0)
        for connection in (self._write_db, self._listen, self._own):
            if connection is not None:
                connection.close()
        self.rules.close()

    # -- the writer's thread -------------------------------------------------------------

    def _write(self, batch: Sequence[tuple[int, Delivery]]) -> None:
        if self._write_db is None:
            self._write_db = _connect(self.url)
        db = self._write_db
        rows = [(self._codec.encode(d), arrived) for arrived, d in batch]
        with db.transaction():
            # one writer at a time, across replicas: rows are committed in the order of
            # their ids, so a reader going on from the last id it read skips none
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            with db.cursor() as cursor:
                # in the current generation, unless it arrived before the last reset
                cursor.executemany(
                    "INSERT INTO ce_deliveries (generation, doc)"
                    " SELECT g.value, %s FROM ce_state g, ce_state r"
                    " WHERE g.name = 'generation' AND r.name = 'reset_at' AND r.value <= %s",
                    rows,
                )
            if self.retention[0] is not None:
                db.execute(
                    "DELETE FROM ce_deliveries"
                    " WHERE id <= (SELECT MAX(id) FROM ce_deliveries) - %s",
                    (self.retention[0],),
                )
            db.execute(f"NOTIFY {_CHANNEL}, 'deliveries'")

    # -- the listener's thread ------------------------------------------------------------

    def _run(self) -> None:
        connection = self._listen
        while not self._stop.is_set():
            try:
                notified = {n.payload for n in connection.notifies(timeout=LOOK, stop_after=1)}
                if "rules" in notified or "reset" in notified:
                    self.rules.refresh()
                self._catch_up(connection)
            except Exception as exc:  # a lost connection: said, and tried again
                if self._stop.is_set():
                    return
                if self._on_error is not None:
                    self._on_error(exc)
                self._stop.wait(LOOK)
                try:
                    connection.close()
                    connection = self._listen = _connect(self.url)
                    connection.execute(f"LISTEN {_CHANNEL}")
                except Exception:  # still lost: the next turn tries again
                    pass

    def _catch_up(self, connection: psycopg.Connection[Any]) -> None:
        """Read what was written since the last look (and follow a reset)."""
        shared = self._read_generation(connection)
        if shared != self._shared_generation:
            self._shared_generation = shared
            DeliveryLog.clear(self)
        generation = self.generation
        while True:
            rows = connection.execute(
                "SELECT id, doc FROM ce_deliveries WHERE id > %s AND generation = %s"
                " ORDER BY id LIMIT %s",
                (self._last, shared, BATCH),
            ).fetchall()
            for ident, text in rows:
                delivery = self._codec.decode(text).evolve(seq=int(ident))
                DeliveryLog.settle(self, delivery, generation)
                self._last = int(ident)
            if len(rows) < BATCH:
                return

    @staticmethod
    def _read_generation(connection: psycopg.Connection[Any]) -> int:
        row = connection.execute("SELECT value FROM ce_state WHERE name = 'generation'").fetchone()
        return 0 if row is None else int(row[0])

    def __repr__(self) -> str:
        return f"<PostgresLog {len(self)} deliveries>"


@final
class SharedRules(RuleList):
    """Fault rules kept in the shared table: every replica applies them, and a use of a
    rule with `times` is claimed in the database, so it is counted once across them."""

    def __init__(self, url: str, codec: RuleCodec) -> None:
        super().__init__()
        self._codec = codec
        self._db = _connect(url)
        self._db_lock = threading.Lock()
        self.refresh()

    def add(self, fault: Fault, times: int | None, when: When, seed: int) -> Rule:
        if isinstance(fault, Flaky):
            chosen = fault.seed if fault.seed is not None else seed
            fault = replace(fault, seed=chosen, _rng=random.Random(chosen))
        Rule(fault, times, when)  # the rule's own checks, before it is stored
        text = self._codec.encode(fault, times, when)
        with self._db_lock, self._db.transaction():
            row = self._db.execute(
                "INSERT INTO ce_rules (doc, times) VALUES (%s, %s) RETURNING id", (text, times)
            ).fetchone()
            self._db.execute(f"NOTIFY {_CHANNEL}, 'rules'")
        assert row is not None
        self.refresh()
        with self._lock:
            for rule in self._rules:
                if rule.ident == int(row[0]):
                    return rule
        raise AssertionError("the rule just stored is not in the table")  # pragma: no cover

    def _claim(self, rule: Rule) -> Fault | None:
        """A use of the rule claimed in the table (so counted once across replicas)."""
        fault = rule.fault
        if isinstance(fault, Flaky):
            with self._lock:
                fired = fault.draw()
            if not fired:
                return None
            fault = fault.fault
        with self._db_lock:
            row = self._db.execute(
                "UPDATE ce_rules SET hits = hits + 1"
                " WHERE id = %s AND (times IS NULL OR hits < times) RETURNING hits",
                (rule.ident,),
            ).fetchone()
        if row is None:  # used up (by another replica) or cleared meanwhile
            if rule.times is not None:
                rule.hits = rule.times
            return None
        rule.hits = int(row[0])
        return fault

    def snapshot(self) -> list[Rule]:
        self.refresh()
        return super().snapshot()

    def clear(self) -> None:
        with self._db_lock:
            self._db.execute("DELETE FROM ce_rules")
            self._db.execute(f"NOTIFY {_CHANNEL}, 'rules'")
        self.refresh()

    def refresh(self) -> None:
        """Read the rules (and their hits) from the table, keeping the rules already
        known (a flaky rule's draws go on)."""
        with self._db_lock:
            rows = self._db.execute(
                "SELECT id, doc, times, hits FROM ce_rules ORDER BY id"
            ).fetchall()
        with self._lock:
            known = {rule.ident: rule for rule in self._rules}
            fresh: list[Rule] = []
            for ident, text, times, hits in rows:
                rule = known.get(int(ident))
                if rule is None:
                    fault, _, when = self._codec.decode(text)
                    rule = Rule(fault, times, when)
                    rule.ident = int(ident)
                rule.hits = int(hits)
                fresh.append(rule)
            self._rules = fresh
            self.empty = not fresh

    def close(self) -> None:
        """Close the rules' connection."""
        self._db.close()
