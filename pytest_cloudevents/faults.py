"""Fault behaviours, and the rule list that picks one for each delivery.

`from pytest_cloudevents import faults`, then `receiver.inject(faults.status(503), times=2)`.
Faults are plain data; the delivery application (`app.py`) carries them out.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

from .events import EventLike
from .matching import Matcher

if TYPE_CHECKING:
    from .recording import Delivery

__all__ = [
    "Delay",
    "Disconnect",
    "Fault",
    "Flaky",
    "Reply",
    "Rule",
    "RuleList",
    "Status",
    "Throttle",
    "delay",
    "disconnect",
    "flaky",
    "reply",
    "status",
    "throttle",
]


@dataclass(frozen=True)
class Status:
    """Answer with `code`, `body` and extra `headers`."""

    code: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"status({self.code})"


@dataclass(frozen=True)
class Throttle:
    """Answer 429 Too Many Requests with a `Retry-After` header."""

    retry_after: str

    @property
    def name(self) -> str:
        return f"throttle(retry_after={self.retry_after})"


@dataclass(frozen=True)
class Delay:
    """Hold the delivery for `seconds`, then apply `then`, or handle it normally."""

    seconds: float
    then: Fault | None = None

    @property
    def name(self) -> str:
        return f"delay({self.seconds:g})" + (f"+{self.then.name}" if self.then else "")


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without any HTTP response."""

    @property
    def name(self) -> str:
        return "disconnect"


@dataclass(frozen=True)
class Reply:
    """Answer with a CloudEvent in `mode` ("binary" or "structured") and `status`."""

    event: EventLike
    mode: str = "binary"
    status: int = 200

    @property
    def name(self) -> str:
        return f"reply({self.event.get_attributes().get('type')})"


@dataclass(frozen=True)
class Flaky:
    """Apply `fault` with `probability`, drawn from a generator seeded with `seed`."""

    probability: float
    fault: Fault
    seed: int | None = None
    _rng: random.Random | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"flaky({self.probability:g}, {self.fault.name})"

    def draw(self) -> bool:
        """One reproducible draw: True when the fault fires this time."""
        assert self._rng is not None, "a Flaky fault is drawn only inside a Rule"
        return self._rng.random() < self.probability


Fault = Status | Throttle | Delay | Disconnect | Reply | Flaky
_FAULT_TYPES = (Status, Throttle, Delay, Disconnect, Reply, Flaky)


def _check_status(code: object, what: str) -> int:
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
        raise ValueError(f"{what} must be an HTTP status code from 100 to 599, not {code!r}")
    return code


def status(code: int, body: bytes | str = b"", headers: dict[str, str] | None = None) -> Status:
    """Answer with HTTP status `code` (and optional body and headers)."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return Status(_check_status(code, "status"), data, tuple((headers or {}).items()))


def throttle(retry_after: int | float | datetime = 2) -> Throttle:
    """Answer 429 with `Retry-After`: seconds (a number) or an HTTP date (a datetime)."""
    if isinstance(retry_after, datetime):
        if retry_after.tzinfo is None:
            raise ValueError("retry_after as a datetime must be timezone-aware")
        return Throttle(format_datetime(retry_after.astimezone(timezone.utc), usegmt=True))
    if (
        isinstance(retry_after, bool)
        or not isinstance(retry_after, (int, float))
        or retry_after < 0
    ):
        raise ValueError(
            f"retry_after must be a number of seconds >= 0 or a datetime, not {retry_after!r}"
        )
    return Throttle(f"{retry_after:g}" if isinstance(retry_after, float) else str(retry_after))


def delay(seconds: float, then: Fault | None = None) -> Delay:
    """Wait `seconds`, then apply `then`, or handle the delivery normally when None."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"delay takes a number of seconds >= 0, not {seconds!r}")
    if then is not None and not isinstance(then, _FAULT_TYPES):
        raise TypeError(f"then must be a fault such as faults.status(503), not {then!r}")
    return Delay(float(seconds), then)


def disconnect() -> Disconnect:
    """Close the connection with no HTTP response; the sender sees a connection error."""
    return Disconnect()


def reply(event: EventLike, mode: str = "binary", status: int = 200) -> Reply:
    """Answer with `event` in `mode` ("binary" or "structured") and HTTP `status`."""
    if not hasattr(event, "get_attributes"):
        raise TypeError(f"reply takes a CloudEvent (cloudevents.core), not {event!r}")
    if mode not in ("binary", "structured"):
        raise ValueError(f"mode must be 'binary' or 'structured', not {mode!r}")
    return Reply(event, mode, _check_status(status, "status"))


def flaky(probability: float, fault: Fault, seed: int | None = None) -> Flaky:
    """Apply `fault` with `probability` (0..1); `seed=None` takes the test's seed."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be between 0 and 1, not {probability!r}")
    if not isinstance(fault, _FAULT_TYPES) or isinstance(fault, Flaky):
        raise TypeError(f"flaky wraps one fault such as faults.status(503), not {fault!r}")
    return Flaky(float(probability), fault, seed)


When = Matcher | Callable[["Delivery"], bool] | None


class Rule:
    """An injected fault with its remaining uses and its condition.

    `hits` counts the deliveries it answered; `times=None` means unlimited.
    """

    def __init__(self, fault: Fault, times: int | None, when: When) -> None:
        if not isinstance(fault, _FAULT_TYPES):
            raise TypeError(f"inject takes a fault from pytest_cloudevents.faults, not {fault!r}")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError(f"times must be a positive int or None (unlimited), not {times!r}")
        if when is not None and not callable(when) and not isinstance(when, Matcher):
            raise TypeError(f"when must be match(...) or a predicate on the Delivery, not {when!r}")
        self.fault = fault
        self.times = times
        self.when = when
        self.hits = 0

    def applies_to(self, delivery: Delivery) -> bool:
        """True when `when` holds for the delivery (any of its events, for a match)."""
        if self.when is None:
            return True
        if isinstance(self.when, Matcher):
            return any(self.when.matches(e) for e in delivery.events)
        return bool(self.when(delivery))

    @property
    def exhausted(self) -> bool:
        """True once `times` uses are spent."""
        return self.times is not None and self.hits >= self.times

    def __repr__(self) -> str:
        return f"Rule({self.fault.name}, times={self.times}, hits={self.hits})"


class RuleList:
    """Rules in injection order; `pick` applies the first that fits, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def add(self, fault: Fault, times: int | None, when: When, seed: int) -> Rule:
        """Append a rule; a `flaky` fault without a seed takes `seed`."""
        if isinstance(fault, Flaky):
            chosen = fault.seed if fault.seed is not None else seed
            fault = replace(fault, seed=chosen, _rng=random.Random(chosen))
        rule = Rule(fault, times, when)
        with self._lock:
            self._rules.append(rule)
        return rule

    def pick(self, delivery: Delivery) -> Fault | None:
        """The fault for this delivery, using one of its rule's `times`; None for none.

        `when` predicates run outside the list's lock (they may call back into the
        receiver); whatever they raise propagates. A flaky draw that does not fire counts
        as a rule that did not match.
        """
        if not self._rules:  # no rule injected: nothing to lock for
            return None
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            if rule.exhausted or not rule.applies_to(delivery):
                continue
            with self._lock:
                if rule.exhausted or rule not in self._rules:  # used up or cleared meanwhile
                    continue
                fault = rule.fault
                if isinstance(fault, Flaky):
                    if not fault.draw():
                        continue
                    fault = fault.fault
                rule.hits += 1
                return fault
        return None

    def snapshot(self) -> list[Rule]:
        """The rules, in injection order."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)
