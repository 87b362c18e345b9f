"""`Delivery`: one HTTP request that carried a message, whatever became of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Literal, final

from pytest_cloudevents.events import CloudEvent, attributes_of
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.tls import TLSInfo
from pytest_cloudevents.wire import Headers, WireMode

__all__ = ["Delivery", "DeliveryOutcome", "Forwarded"]

DeliveryOutcome = Literal["pending", "accepted", "rejected", "faulted", "error", "abandoned"]


@final
@dataclass(frozen=True)
class Forwarded:
    """What the consumer behind a proxying receiver (`Receiver(forward=URL)`) answered the
    delivery: its status (None: no answer, see `error`), the seconds it took, its headers
    and body as returned to the producer, and the URL it went to."""

    url: str
    status: int | None
    elapsed: float
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    error: str | None = None

    @property
    def reply(self) -> bytes:
        """The consumer's response body (the same as `body`)."""
        return self.body


@final
@dataclass(frozen=True, eq=False)
class Delivery:
    """One HTTP request that carried a message, whatever became of it.

    A value: readers (tests, predicates, the page) see it as it was when they read it. The
    delivery app makes a new version at each step (`dataclasses.replace`), and the log keeps
    the latest one of each `seq`.

    `events` are the events the message decoded to (also for a faulted delivery, so that
    `attempts` can find them; empty when rejected). `outcome` is `pending` while a delay
    holds it. `status` is None where the connection was dropped without a response (or
    the client went away: `abandoned`). `fault` names the fault that answered, `error`
    holds the exception a handler or predicate raised. `forwarded` is what the consumer
    behind a proxying receiver answered (`Receiver(forward=URL)`), or None.
    """

    seq: int
    received_at: float
    timestamp: datetime
    method: str
    path: str
    query: str
    headers: Headers
    body: bytes
    remote_addr: str | None
    mode: WireMode | None = None
    events: list[CloudEvent] = field(default_factory=list)
    outcome: DeliveryOutcome = "pending"
    status: int | None = None
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    fault: str | None = None
    error: BaseException | None = None
    tls: TLSInfo | None = None
    content_encoding: str | None = None
    forwarded: Forwarded | None = None

    @classmethod
    def arrived(
        cls,
        seq: int,
        received_at: float,
        timestamp: datetime,
        method: str,
        path: str,
        query: str,
        headers: Headers,
        body: bytes,
        remote_addr: str | None,
        tls: TLSInfo | None,
        changes: Mapping[str, Any] | None = None,
    ) -> Delivery:
        """A new delivery, `pending` unless `changes` (fields of this class, set as they
        are: the app's own) say otherwise: the constructor's result without its per-field
        `object.__setattr__` (a frozen dataclass's `__init__` is a tenth of the app's own
        work per delivery)."""
        new = object.__new__(cls)
        fields = new.__dict__
        # a copy of a constructed instance's fields, then each one set: the dict keeps the
        # class's shared keys (built from scratch it would be twice the size)
        fields.update(_PROTOTYPE.__dict__)
        fields["seq"], fields["received_at"], fields["timestamp"] = seq, received_at, timestamp
        fields["method"], fields["path"], fields["query"] = method, path, query
        fields["headers"], fields["body"], fields["remote_addr"] = headers, body, remote_addr
        fields["events"], fields["violations"], fields["warnings"] = [], [], []
        fields["tls"] = tls
        if changes:
            fields.update(changes)
        return new

    def evolve(self, **changes: Any) -> Delivery:
        """A copy with `changes` (fields of this class): `dataclasses.replace` without
        re-running `__init__`, which costs a tenth of a delivery when done twice."""
        new = object.__new__(Delivery)
        fields = new.__dict__
        fields.update(self.__dict__)
        for name in changes:
            if name not in fields:
                raise TypeError(f"Delivery has no field {name!r}")
        fields.update(changes)
        return new

    @property
    def event(self) -> CloudEvent:
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

    def summary(self, number: int | None = None) -> str:
        """One line for the delivery log: the number (`seq` unless given), method, path,
        mode, type, id, outcome, status and violation codes."""
        first = self.events[0] if self.events else None
        if first is not None:
            attributes = attributes_of(first)
        elif self.mode in ("binary", None):  # a rejected binary message: what its headers say
            attributes = {k: self.headers.get(f"ce-{k}") for k in ("type", "id")}
        else:
            attributes = {}
        kind = attributes.get("type") or "-"
        ident = attributes.get("id") or "-"
        if len(self.events) > 1:
            kind, ident = f"{kind} (+{len(self.events) - 1} more)", f"{ident},..."
        status = "no response" if self.status is None else str(self.status)
        shown = self.seq if number is None else number
        line = (
            f"#{shown} {self.method} {self.path} {self.mode or '-'} type={kind}"
            f" id={ident} -> {self.outcome} {status}"
        )
        if self.fault:
            line += f" fault={self.fault}"
        if self.forwarded is not None:
            answered = self.forwarded.status or self.forwarded.error
            line += f" forwarded={answered}"
        if self.violations:
            line += " [" + ", ".join(self.codes) + "]"
        if self.error is not None:
            line += f" error={type(self.error).__name__}: {self.error}"
        return line


#: A delivery built by the constructor: `Delivery.arrived` starts from a copy of its fields.
_PROTOTYPE: Final[Delivery] = Delivery(
    seq=0,
    received_at=0.0,
    timestamp=datetime(1970, 1, 1, tzinfo=timezone.utc),
    method="POST",
    path="/",
    query="",
    headers=Headers(),
    body=b"",
    remote_addr=None,
)
