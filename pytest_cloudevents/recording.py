"""`Delivery` and the thread-safe log of deliveries, with waiting on a condition."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple, TypeVar

from .conformance import Violation
from .wire import AnyCloudEvent, HeaderMap, Mode

__all__ = ["Arrival", "Delivery", "DeliveryLog", "DeliveryOutcome", "HeaderMap"]

DeliveryOutcome = Literal["accepted", "rejected", "faulted", "error"]
T = TypeVar("T")


@dataclass(eq=False)
class Delivery:
    """One HTTP request that carried a message, whatever became of it.

    `events` are the events the message decoded to (also for a faulted delivery, so that
    `attempts` can find them; empty when rejected). `status` is None where the connection
    was dropped without a response. `fault` names the fault that answered, `error` holds
    the exception a handler raised.
    """

    seq: int
    received_at: float
    timestamp: datetime
    method: str
    path: str
    query: str
    headers: HeaderMap
    body: bytes
    remote_addr: str | None
    mode: Mode | None = None
    events: list[AnyCloudEvent] = field(default_factory=list)
    outcome: DeliveryOutcome = "accepted"
    status: int | None = None
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    fault: str | None = None
    error: BaseException | None = None

    @property
    def event(self) -> AnyCloudEvent:
        """The only event of the delivery; raises for a batch or a rejected message."""
        if len(self.events) != 1:
            raise ValueError(
                f"delivery {self.seq} carries {len(self.events)} events, not one;"
                " use .events for a batch"
            )
        return self.events[0]

    @property
    def codes(self) -> list[str]:
        """The codes of the MUST violations that rejected it (empty otherwise)."""
        return [v.code for v in self.violations]

    def summary(self) -> str:
        """One line for the delivery log: seq, method, path, mode, type, id, outcome,
        status and violation codes."""
        first = self.events[0] if self.events else None
        kind = first.get_type() if first else "-"
        ident = first.get_id() if first else "-"
        if len(self.events) > 1:
            kind, ident = f"{kind} (+{len(self.events) - 1} more)", f"{ident},..."
        status = "no response" if self.status is None else str(self.status)
        line = (
            f"#{self.seq} {self.method} {self.path} {self.mode or '-'} type={kind}"
            f" id={ident} -> {self.outcome} {status}"
        )
        if self.fault:
            line += f" fault={self.fault}"
        if self.violations:
            line += " [" + ", ".join(self.codes) + "]"
        if self.error is not None:
            line += f" error={type(self.error).__name__}: {self.error}"
        return line


class Arrival(NamedTuple):
    """What `DeliveryLog.begin` gives an arriving request."""

    seq: int
    generation: int
    at: float  # monotonic
    #: set when `clear` or `cancel_in_flight` cuts this generation's deliveries short
    cancelled: threading.Event


class DeliveryLog:
    """Deliveries in arrival order, safe to append from server threads and to wait on.

    Each delivery takes a sequence number when it arrives and enters the log when it has
    been answered; `clear` starts a new generation, and a delivery that arrived in an
    earlier one is never recorded after it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[Delivery] = []
        self._seq = 0
        self._generation = 0
        self._cancelled = threading.Event()

    def begin(self) -> Arrival:
        """Number an arriving request and hand it its generation's cancel event."""
        with self._cond:
            self._seq += 1
            return Arrival(self._seq, self._generation, time.monotonic(), self._cancelled)

    def record(self, delivery: Delivery, generation: int) -> bool:
        """Add an answered delivery, in seq order; False when a clear came in between."""
        with self._cond:
            if generation != self._generation:
                return False
            if not self._items or self._items[-1].seq < delivery.seq:
                self._items.append(delivery)  # the common case: answered in arrival order
            else:
                bisect.insort(self._items, delivery, key=lambda d: d.seq)
            self._cond.notify_all()
            return True

    @property
    def generation(self) -> int:
        """The current generation; `clear` increments it."""
        with self._cond:
            return self._generation

    def clear(self) -> None:
        """Forget every delivery; in-flight ones are cut short and never recorded."""
        with self._cond:
            self._items.clear()
            self._generation += 1
            self._cancelled.set()
            self._cancelled = threading.Event()
            self._cond.notify_all()

    def cancel_in_flight(self) -> None:
        """Cut the current generation's in-flight deliveries short (on stop)."""
        with self._cond:
            self._cancelled.set()

    def snapshot(self) -> list[Delivery]:
        """A copy of the deliveries, in arrival order."""
        with self._cond:
            return list(self._items)

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def wait(
        self, compute: Callable[[list[Delivery]], T], done: Callable[[T], bool], timeout: float
    ) -> tuple[T, bool]:
        """Block until `done(compute(deliveries))` or `timeout` seconds have passed.

        Wakes on every recorded delivery (a condition variable, no polling); returns the
        last computed value and whether `done` held.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = compute(self._items)
                if done(value):
                    return value, True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return value, False
                self._cond.wait(remaining)

    def describe(self, limit: int = 50) -> str:
        """The log as text, one delivery a line (the last `limit` of them)."""
        items = self.snapshot()
        if not items:
            return "  (no deliveries)"
        lines = [f"  {d.summary()}" for d in items[-limit:]]
        if len(items) > limit:
            lines.insert(0, f"  ... {len(items) - limit} earlier deliveries not shown")
        return "\n".join(lines)
