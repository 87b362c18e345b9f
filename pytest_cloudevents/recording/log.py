"""The thread-safe log of deliveries, with waiting on a condition."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple

from pytest_cloudevents.events import CloudEvent, attributes_view
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.recording.wakeup import Wakeup

__all__ = ["DELIVERY_OVERHEAD", "INDEXED", "Arrival", "DeliveryLog", "size_of"]

_Entry = tuple[int, CloudEvent]  # an accepted event and the seq of its delivery

#: The attributes accepted events are indexed by (waits and assertions that fix one of them
#: look only at its events).
INDEXED: Final[tuple[str, ...]] = ("id", "source", "type")


class Arrival(NamedTuple):
    """What `DeliveryLog.begin` gives an arriving request."""

    seq: int
    generation: int
    at: float  # monotonic
    #: set when `clear` or `cancel_in_flight` cuts this generation's deliveries short
    cancelled: threading.Event


_new_arrival: Final[Callable[[type[Arrival], tuple[int, int, float, threading.Event]], Arrival]] = (
    tuple.__new__
)


#: What a small delivery costs kept, beyond its body and headers (measured: about 3.7 KB
#: for an event of a few hundred bytes).
DELIVERY_OVERHEAD: Final[int] = 3072


#: What a header costs kept, estimated (a name and a value of a few dozen bytes, twice:
#: as read and as looked up).
_PER_HEADER: Final[int] = 96


def size_of(delivery: Delivery) -> int:
    """The estimated memory a kept delivery costs, in bytes (counted as it settles)."""
    return DELIVERY_OVERHEAD + len(delivery.body) + _PER_HEADER * len(delivery.headers.lowered)


#: The outcomes the after-test check reports when nobody looked at them.
_TROUBLED: Final[frozenset[str]] = frozenset({"rejected", "error"})


class DeliveryLog:
    """Deliveries in arrival order, safe to fill from server threads and to wait on.

    A delivery takes a sequence number when it arrives (`begin`), enters the log once it is
    decoded (`add`, as `pending`), and is `settle`d when answered. `clear` starts a new
    generation: a delivery that arrived in an earlier one is never recorded after it.
    Accepted events are indexed as they settle, by `id`, `source` and `type` (`INDEXED`),
    so waits look only at what is new and assertions that fix one of those attributes look
    only at the events that have it: they cost what they return, not the log's size.

    Retention (`retain` deliveries, `retain_bytes` of their estimated size; None: no bound,
    the default in pytest) evicts the oldest answered deliveries first, down to nine tenths
    of the bound at a time (so an eviction costs a tenth of a delivery per delivery); a held
    (`pending`) one is never evicted. Evictions are counted
    (`evicted`); the cursors of `settled_since` count every answered delivery, evicted or
    not, so a cursor stays valid and says how many it missed; a wait keeps what it found.
    """

    def __init__(self, *, retain: int | None = None, retain_bytes: int | None = None) -> None:
        # the condition's lock taken directly where nothing waits (the C lock, no Python
        # frame); `_sleepers` counts the threads in `wait`, so a settle wakes none in vain
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._sleepers = 0
        self._items: list[Delivery] = []
        self._events: list[CloudEvent] = []  # accepted events, in arrival order
        self._event_seqs: list[int] = []  # the seq of each accepted event's delivery
        # (attribute, value) -> [(seq, event)] in seq order, for the INDEXED attributes
        # one (seq, event) alone, or a list of them once a value has several (an id
        # mostly has one: no list for it)
        self._index: dict[str, dict[str, _Entry | list[_Entry]]] = {name: {} for name in INDEXED}
        self._settled: list[Delivery] = []  # in the order they were answered
        self._troubled: list[int] = []  # the seqs of those rejected or answered `error`
        self._reorders = 0  # bumped when events are inserted before the end, or cleared
        self._seq = 0
        self._generation = 0
        self._cancelled = threading.Event()
        self._async_waiters: set[Wakeup] = set()
        #: (deliveries, bytes) the log keeps at most; None: everything
        self._limits: tuple[int | None, int | None] | None = (
            None if retain is None and retain_bytes is None else (retain, retain_bytes)
        )
        self._bytes = 0  # the estimated size of the deliveries kept (with limits only)
        self._evicted = 0  # deliveries evicted since the last clear
        self._evictions = 0  # bumped at each eviction: scans find their place again
        self._settled_base = 0  # answered deliveries evicted from the front of `_settled`

    def begin(self) -> Arrival:
        """Number an arriving request and hand it its generation's cancel event."""
        with self._lock:
            self._seq += 1
            # the tuple built directly (a NamedTuple's __new__ is a Python frame)
            fields = (self._seq, self._generation, time.monotonic(), self._cancelled)
            return _new_arrival(Arrival, fields)

    def add(self, delivery: Delivery, generation: int) -> None:
        """Put a decoded delivery in the log (in seq order) before it is answered."""
        with self._lock:
            if generation != self._generation:
                return
            items = self._items
            if not items or items[-1].seq < delivery.seq:
                items.append(delivery)  # the common case: decoded in arrival order
            else:
                bisect.insort(items, delivery, key=lambda d: d.seq)
            self._wake()

    def settle(self, delivery: Delivery, generation: int) -> bool:
        """The delivery was answered (its outcome is set): it replaces its pending version
        (same `seq`), its events are indexed and the waiters woken. Adds it first if it is
        not in the log yet. False when a clear came in
        between (it is then not recorded)."""
        with self._lock:
            if generation != self._generation:
                return False
            items = self._items
            if items and items[-1].seq == delivery.seq:
                items[-1] = delivery  # its pending version is still the latest: the common case
            elif not items or items[-1].seq < delivery.seq:
                items.append(delivery)
            else:
                at = bisect.bisect_left(items, delivery.seq, key=lambda d: d.seq)
                if at < len(items) and items[at].seq == delivery.seq:
                    items[at] = delivery  # replaces its pending version
                else:
                    items.insert(at, delivery)
            self._settled.append(delivery)
            if delivery.outcome in _TROUBLED:
                self._troubled.append(delivery.seq)
            if delivery.outcome == "accepted" and delivery.events:
                seq = delivery.seq
                for event in delivery.events:
                    entry = (seq, event)
                    attributes = attributes_view(event)
                    for name, index in self._index.items():
                        key = attributes.get(name)
                        if type(key) is not str:
                            key = str(key)
                        found = index.setdefault(key, entry)
                        if found is entry:  # the value's first event
                            continue
                        if type(found) is list:
                            entries: list[_Entry] = found
                            entries.append(entry)
                        else:
                            entries = index[key] = [found, entry]  # type: ignore[list-item]
                        if entries[-2][0] > seq:  # a held delivery answered late
                            entries.sort(key=lambda e: e[0])
                seqs = self._event_seqs
                if not seqs or seqs[-1] <= seq:
                    self._events += delivery.events
                    seqs += [seq] * len(delivery.events)
                else:  # a held delivery answered after later ones
                    at = bisect.bisect_right(seqs, delivery.seq)
                    self._events[at:at] = delivery.events
                    seqs[at:at] = [delivery.seq] * len(delivery.events)
                    self._reorders += 1
            limits = self._limits
            if limits is not None:  # retention: the size counted here, eviction when over
                self._bytes += size_of(delivery)
                if (limits[0] is not None and len(self._settled) > limits[0]) or (
                    limits[1] is not None and self._bytes > limits[1]
                ):
                    self._retain()
            if self._sleepers:  # `_wake`, inline: every delivery passes here
                self._cond.notify_all()
            for waiter in self._async_waiters:
                waiter.set()
            return True

    @property
    def evicted(self) -> int:
        """How many deliveries retention evicted since the last clear."""
        with self._lock:
            return self._evicted

    @property
    def retention(self) -> tuple[int | None, int | None]:
        """(deliveries, bytes) the log keeps at most (None: no bound)."""
        return self._limits or (None, None)

    def _retain(self) -> None:
        """Evict the oldest answered deliveries, down to nine tenths of the bound the log
        is over (call with the lock)."""
        assert self._limits is not None
        most, most_bytes = self._limits
        over = most is not None and len(self._settled) > most
        over_bytes = most_bytes is not None and self._bytes > most_bytes
        settled = self._settled
        if not (over or over_bytes) or len(settled) < 2:  # the newest one always stays
            return
        if over_bytes:  # as many of the oldest as free a tenth of the bound
            goal, freed, count = self._bytes - int(most_bytes * 0.9), 0, 0  # type: ignore[operator]
            while count < len(settled) - 1 and freed < goal:
                freed += size_of(settled[count])
                count += 1
        else:
            count = 0
        if over:
            count = max(count, len(settled) - int(most * 0.9))  # type: ignore[operator]
        count = max(1, min(count, len(settled) - 1))
        gone = settled[:count]
        del settled[:count]
        self._settled_base += count
        self._evicted += count
        self._evictions += 1
        seqs = {d.seq for d in gone}
        self._bytes -= sum(size_of(d) for d in gone)
        self._items = [d for d in self._items if d.seq not in seqs]
        if self._troubled:
            self._troubled = [s for s in self._troubled if s not in seqs]
        if any(d.events for d in gone if d.outcome == "accepted"):
            kept = [
                (s, e) for s, e in zip(self._event_seqs, self._events, strict=True) if s not in seqs
            ]
            self._event_seqs = [s for s, _ in kept]
            self._events = [e for _, e in kept]
            for d in gone:
                if d.outcome == "accepted":
                    self._unindex(d)

    def _unindex(self, delivery: Delivery) -> None:
        """Take an evicted delivery's events out of the index."""
        for event in delivery.events:
            attributes = attributes_view(event)
            for name, index in self._index.items():
                key = attributes.get(name)
                if type(key) is not str:
                    key = str(key)
                found = index.get(key)
                if found is None:
                    continue
                if type(found) is list:
                    entries: list[_Entry] = found
                    entries[:] = [e for e in entries if e[0] != delivery.seq]
                    if len(entries) == 1:
                        index[key] = entries[0]
                    elif not entries:
                        del index[key]
                elif found[0] == delivery.seq:
                    del index[key]

    @property
    def generation(self) -> int:
        """The current generation; `clear` increments it."""
        with self._lock:
            return self._generation

    def clear(self) -> None:
        """Forget every delivery; in-flight ones are cut short and never recorded."""
        with self._lock:
            self._items.clear()
            self._settled.clear()
            self._troubled.clear()
            self._events.clear()
            self._event_seqs.clear()
            for index in self._index.values():
                index.clear()
            self._bytes = self._evicted = self._settled_base = 0
            self._reorders += 1
            self._generation += 1
            self._cancelled.set()
            self._cancelled = threading.Event()
            self._wake()

    def settled_since(self, cursor: int) -> tuple[list[Delivery], int, int]:
        """The deliveries answered after the first `cursor` ones, in the order they were
        answered (those not evicted); the cursor to pass next; and the generation (a clear
        starts over at 0). See `missed` for how many retention took from the answer."""
        with self._lock:
            return self._since(cursor), self._settled_base + len(self._settled), self._generation

    def missed(self, cursor: int) -> int:
        """How many deliveries answered after the first `cursor` were evicted before they
        could be read from there."""
        with self._lock:
            return max(0, self._settled_base - cursor)

    def _since(self, cursor: int) -> list[Delivery]:
        return self._settled[max(0, cursor - self._settled_base) :]

    async def wait_settled_async(
        self, cursor: int, timeout: float
    ) -> tuple[list[Delivery], int, int]:
        """`settled_since`, awaiting up to `timeout` seconds for a delivery to be answered
        after `cursor` (a cursor beyond the end, from before a clear, returns at once)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                settled = self._settled_base + len(self._settled)
                if settled != cursor:
                    return self._since(cursor), settled, self._generation
                waiter = Wakeup()
                self._async_waiters.add(waiter)
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not await waiter.wait(remaining):
                    with self._lock:
                        settled = self._settled_base + len(self._settled)
                        return [], settled, self._generation
            finally:
                with self._lock:
                    self._async_waiters.discard(waiter)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was recorded is stored (a store's; nothing to wait for here)."""
        return True

    def close(self) -> None:
        """Store what is queued and let go of the store (a store's; nothing here)."""

    def cancel_in_flight(self) -> None:
        """Cut the current generation's in-flight deliveries short (on stop)."""
        with self._lock:
            self._cancelled.set()

    def troubled(self) -> list[tuple[int, Delivery]]:
        """(number in the log from 1, delivery) of the deliveries rejected or answered
        `error`, in arrival order: the after-test check looks at these, not the log."""
        with self._lock:
            if not self._troubled:
                return []
            items = self._items
            found = []
            for seq in self._troubled:
                at = bisect.bisect_left(items, seq, key=lambda d: d.seq)
                if at < len(items) and items[at].seq == seq:
                    found.append((at + 1, items[at]))
            return sorted(found, key=lambda pair: pair[0])

    def snapshot(self) -> list[Delivery]:
        """A copy of the deliveries, in arrival order."""
        with self._lock:
            return list(self._items)

    def events(self) -> list[CloudEvent]:
        """A copy of the accepted events, batches flattened, in arrival order."""
        with self._lock:
            return list(self._events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def wait_events(
        self,
        matches: Callable[[CloudEvent], bool],
        done: Callable[[int], bool],
        timeout: float,
        *,
        keys: Sequence[tuple[str, str]] = (),
    ) -> tuple[list[CloudEvent], bool]:
        """Block until `done(number of accepted events that match)` or `timeout` seconds.

        Wakes on every settled delivery (a condition variable, no polling) and looks only
        at events accepted since the last look; with `keys` (attribute values every match
        has, of the INDEXED attributes), only at the events of the smallest of those
        index entries. `matches` runs outside the log's lock.
        Returns the matching events in arrival order and whether `done` held.
        """
        deadline = time.monotonic() + timeout
        scan = _Scan(self, matches, keys)
        while True:
            if done(scan.look()):
                return scan.events(), True
            with self._lock:
                if scan.nothing_new():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return scan.events(), False
                    self._sleepers += 1
                    try:
                        self._cond.wait(remaining)
                    finally:
                        self._sleepers -= 1

    async def wait_events_async(
        self,
        matches: Callable[[CloudEvent], bool],
        done: Callable[[int], bool],
        timeout: float,
        *,
        keys: Sequence[tuple[str, str]] = (),
    ) -> tuple[list[CloudEvent], bool]:
        """`wait_events` for a coroutine (asyncio or trio): it awaits a `Wakeup` that the
        thread settling a delivery sets, so the event loop runs on meanwhile. Cancelling
        the await cancels the wait."""
        deadline = time.monotonic() + timeout
        scan = _Scan(self, matches, keys)
        while True:
            if done(scan.look()):
                return scan.events(), True
            with self._lock:
                if not scan.nothing_new():
                    continue
                waiter = Wakeup()
                self._async_waiters.add(waiter)
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not await waiter.wait(remaining):
                    return scan.events(), False
            finally:
                with self._lock:
                    self._async_waiters.discard(waiter)

    def _entries(self, key: tuple[str, str]) -> list[_Entry]:
        """The index entry of (attribute, value): its events with their seq, in order."""
        name, value = key
        found = self._index.get(name, {}).get(value)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def _wake(self) -> None:
        """Wake every waiter, thread or coroutine (call with the lock held)."""
        if self._sleepers:
            self._cond.notify_all()
        for waiter in self._async_waiters:
            waiter.set()

    def describe(self, limit: int = 50) -> str:
        """The log as text, one delivery a line (the last `limit` of them), numbered from
        1 in the order they arrived since the last clear."""
        items = self.snapshot()
        if not items:
            return "  (no deliveries)"
        first = max(0, len(items) - limit)
        lines = [f"  {d.summary(first + i + 1)}" for i, d in enumerate(items[first:])]
        if first:
            lines.insert(0, f"  ... {first} earlier deliveries not shown")
        return "\n".join(lines)


class _Scan:
    """What a wait has looked at so far: the events accepted since its last look (or, with
    index keys, those of the smallest index entry), and the matching ones among them."""

    def __init__(
        self,
        log: DeliveryLog,
        matches: Callable[[CloudEvent], bool],
        keys: Sequence[tuple[str, str]],
    ) -> None:
        self.log, self.matches, self.keys = log, matches, tuple(keys)
        self.key: tuple[str, str] | None = None  # the entry chosen at the first look
        self.found: list[tuple[int, CloudEvent]] = []
        self.cursor, self.reorders = 0, -1
        #: the seq of the last event looked at, and the log's evictions then: after an
        #: eviction the cursor is found again from it (what was found is kept)
        self.last, self.evictions = 0, log._evictions

    def look(self) -> int:
        """Match what is new (outside the log's lock); the number of matches so far."""
        log = self.log
        with log._lock:
            if self.reorders != log._reorders:  # something moved: look at all again
                self.found, self.cursor, self.reorders, self.last = [], 0, log._reorders, 0
                self.evictions = log._evictions
            elif self.evictions != log._evictions:  # the oldest went: find the place again
                self.evictions = log._evictions
                self.cursor = self._place()
            if self.keys:
                if self.key is None:
                    self.key = min(self.keys, key=lambda k: len(log._entries(k)))
                fresh = log._entries(self.key)[self.cursor :]
                self.cursor += len(fresh)
            else:
                seqs, events = log._event_seqs[self.cursor :], log._events[self.cursor :]
                fresh = list(zip(seqs, events, strict=True))
                self.cursor = len(log._events)
            if fresh:
                self.last = fresh[-1][0]
        self.found += [(seq, e) for seq, e in fresh if self.matches(e)]
        return len(self.found)

    def _place(self) -> int:
        """Where the events after `last` start now (call with the log's lock)."""
        log = self.log
        if self.key is not None:
            return bisect.bisect_right(log._entries(self.key), self.last, key=lambda e: e[0])
        return bisect.bisect_right(log._event_seqs, self.last)

    def nothing_new(self) -> bool:
        """True when nothing was accepted since the last look (call with the lock held)."""
        log = self.log
        if self.reorders != log._reorders or self.evictions != log._evictions:
            return False
        if self.key is not None:
            return len(log._entries(self.key)) == self.cursor
        return self.cursor == len(log._events)

    def events(self) -> list[CloudEvent]:
        return [event for _, event in self.found]
