"""Stores: the log of a standalone receiver kept outside its memory.

A store is a `DeliveryLog` that also writes what it records somewhere that outlives the
process: SQLite here (`SQLiteLog`: the standard library's, in WAL mode, for one `serve`
that a restart must not empty) and PostgreSQL in `postgres.py` (several replicas, one log).
The memory log stays the working set (reads, waits and the control API are served from
it, bounded by retention as always); what is recorded is handed to a `Writer`, a thread
that writes it in batches, so a delivery never waits for a disk, and `close` writes what
is queued before the receiver stops.

A delivery is stored in the control API's JSON form (`Codec`, given by the host that
knows it): what a store holds is what the API shows, credentials included (the API
redacts them when it shows them).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Generic, Protocol, TypeVar, final

from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.recording.log import DeliveryLog

__all__ = ["Codec", "SQLiteLog", "Writer", "sqlite_path"]

T = TypeVar("T")

#: Deliveries written in one transaction at most.
BATCH: Final[int] = 500


class Codec(Protocol):
    """A delivery to its stored text and back."""

    def encode(self, delivery: Delivery) -> str: ...

    def decode(self, text: str) -> Delivery: ...


class _Control:
    """What the writer's queue carries beside the items to write."""


_CLEAR: Final[_Control] = _Control()
_STOP: Final[_Control] = _Control()


@final
class Writer(Generic[T]):
    """A thread that writes what is put to it in batches (`write(items)`), forgets what it
    wrote when asked (`clear()`, in order with what is put), and writes the rest when
    closed."""

    def __init__(
        self,
        name: str,
        write: Callable[[Sequence[T]], None],
        clear: Callable[[], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._write, self._clear, self._on_error = write, clear, on_error
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Write `item` soon."""
        self._queue.put(item)

    def clear(self) -> None:
        """Forget what was written (in order with what is put)."""
        self._queue.put(_CLEAR)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything put so far is written; False when `timeout` ran out."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item: object = self._queue.get()
            batch: list[T] = []
            while not isinstance(item, (_Control, threading.Event)):  # up to a batch
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= BATCH:
                    item = None
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
                    break
            if batch:
                self._attempt(self._write, batch)
            if item is _STOP:
                return
            if item is _CLEAR:
                self._attempt(self._clear)
            elif isinstance(item, threading.Event):  # a flush: all before it is written
                item.set()

    def _attempt(self, work: Callable[..., None], *args: object) -> None:
        """Run `work`; a failure is counted and reported, never the end of the thread."""
        try:
            work(*args)
        except Exception as exc:  # a full disk, a lost database: counted, said, survived
            self.errors += 1
            if self._on_error is not None:
                self._on_error(exc)


def sqlite_path(store: str) -> Path:
    """The file of an SQLite store given as `sqlite:///path.db` or a plain path."""
    path = store.removeprefix("sqlite://") if store.startswith("sqlite://") else store
    if not path:
        raise ValueError(f"an SQLite store is a path, such as sqlite:///var/ce.db, not {store!r}")
    return Path(path)


_SCHEMA: Final[str] = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL
);
"""


class SQLiteLog(DeliveryLog):
    """A log kept in an SQLite file too: what it held before a restart is read back when
    it is made (the newest `retain` deliveries), and numbering goes on after them."""

    def __init__(
        self,
        path: str | Path,
        codec: Codec,
        *,
        retain: int | None = None,
        retain_bytes: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(retain=retain, retain_bytes=retain_bytes)
        self.path = Path(path)
        self._codec = codec
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect()
        try:
            self._restore(connection)
        finally:
            connection.close()
        self._connection: sqlite3.Connection | None = None
        self._writer: Writer[Delivery] = Writer(
            f"sqlite {self.path.name}", self._write, self._wipe, on_error
        )

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
        return connection

    def _restore(self, connection: sqlite3.Connection) -> None:
        """Read back the newest deliveries (within retention), oldest first."""
        limit = -1 if self.retention[0] is None else self.retention[0]
        rows = connection.execute(
            "SELECT doc FROM (SELECT id, doc FROM deliveries ORDER BY id DESC LIMIT ?) ORDER BY id",
            (limit,),
        ).fetchall()
        generation = self.generation
        last = 0
        for (text,) in rows:
            delivery = self._codec.decode(text)
            DeliveryLog.settle(self, delivery, generation)
            last = max(last, delivery.seq)
        with self._lock:
            self._seq = max(self._seq, last)

    def settle(self, delivery: Delivery, generation: int) -> bool:
        recorded = super().settle(delivery, generation)
        if recorded:
            self._writer.put(delivery)
        return recorded

    def clear(self) -> None:
        super().clear()
        self._writer.clear()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was recorded is in the file."""
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued and close the file."""
        self._writer.close()

    # -- the writer's thread -------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _write(self, batch: Sequence[Delivery]) -> None:
        db = self._db()
        rows = [(d.seq, self._codec.encode(d)) for d in batch]
        db.execute("BEGIN")
        db.executemany("INSERT INTO deliveries (seq, doc) VALUES (?, ?)", rows)
        if self.retention[0] is not None:
            db.execute(
                "DELETE FROM deliveries WHERE id <= (SELECT MAX(id) FROM deliveries) - ?",
                (self.retention[0],),
            )
        db.execute("COMMIT")

    def _wipe(self) -> None:
        self._db().execute("DELETE FROM deliveries")

    def __repr__(self) -> str:
        return f"<SQLiteLog {self.path} {len(self)} deliveries>"
