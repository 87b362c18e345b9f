"""Fault behaviours, and the rule list that picks one for each delivery.

`from pytest_cloudevents import faults`, then `receiver.inject(faults.status(503), times=2)`.
Faults are plain data; the delivery application (`app.py`) carries them out.
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

from pytest_cloudevents.config import check_mode, check_seconds, check_whole
from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.events import EventLike, is_event
from pytest_cloudevents.wire import encode

if TYPE_CHECKING:
    from pytest_cloudevents.recording.log import Delivery

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
    "check_headers",
    "delay",
    "disconnect",
    "encode_reply",
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
    """Answer with a CloudEvent in `mode` ("binary" or "structured") and `status`;
    `headers` and `body` are the encoded message, checked when the fault is built."""

    event: EventLike
    mode: str = "binary"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

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


_FRAMING = ("content-length", "transfer-encoding")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name


def _check_status(code: object, what: str = "status") -> int:
    return check_whole(
        f"{what} (an HTTP status code; 1xx are not final)", code, minimum=200, maximum=599
    )


def check_headers(headers: object) -> tuple[tuple[str, str], ...]:
    """Headers a fault or reply may put on the wire: a mapping or pairs of strings, with
    RFC 9110 names, no CR/LF/NUL in values, and no framing headers (the server frames the
    body). Raises TypeError/ValueError saying what to pass."""
    if headers is None:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    if isinstance(headers, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"headers must be a dict of strings, not {headers!r}")
    out: list[tuple[str, str]] = []
    for pair in items:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"headers must be a dict of strings, not {headers!r}")
        name, value = pair
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header names and values must be strings, not {pair!r}")
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name (RFC 9110 token)")
        if any(c in value for c in "\r\n\x00"):
            raise ValueError(
                f"the value of header {name!r} contains CR, LF or NUL, which would forge"
                " headers on the wire; send one line of text"
            )
        if name.lower() in _FRAMING:
            raise ValueError(
                f"{name} is set by the server from the body; leave it out of the headers"
            )
        out.append((name, value))
    return tuple(out)


def status(code: int, body: bytes | str = b"", headers: Mapping[str, str] | None = None) -> Status:
    """Answer with HTTP status `code` (200-599) and an optional body and headers."""
    code = _check_status(code)
    if isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    else:
        raise TypeError(f"body must be bytes or str, not {type(body).__name__} {body!r}")
    if data and code in (204, 304):
        raise ValueError(f"a {code} response has no body; use another status or body=b''")
    return Status(code, data, check_headers(headers))


def throttle(retry_after: int | datetime = 2) -> Throttle:
    """Answer 429 with `Retry-After`: whole seconds (an int >= 0) or an HTTP date (a
    timezone-aware datetime)."""
    if isinstance(retry_after, datetime):
        if retry_after.tzinfo is None:
            raise ValueError("retry_after as a datetime must be timezone-aware")
        return Throttle(format_datetime(retry_after.astimezone(timezone.utc), usegmt=True))
    if isinstance(retry_after, float):
        hint = max(0, round(retry_after)) if math.isfinite(retry_after) else 2
        raise TypeError(
            f"Retry-After takes whole seconds (RFC 9110), not {retry_after!r};"
            f" pass an int such as {hint}, or a datetime"
        )
    seconds = check_whole("retry_after (whole seconds, or a datetime)", retry_after, minimum=0)
    return Throttle(str(seconds))


def delay(seconds: float, then: Fault | None = None) -> Delay:
    """Wait `seconds` (finite, >= 0), then apply `then`, or handle the delivery normally."""
    held = check_seconds("delay", seconds)
    if then is not None and not isinstance(then, _FAULT_TYPES):
        raise TypeError(f"then must be a fault such as faults.status(503), not {then!r}")
    if isinstance(then, Flaky):
        raise TypeError("then cannot be faults.flaky(...); inject the flaky rule on its own")
    return Delay(held, then)


def disconnect() -> Disconnect:
    """Close the connection with no HTTP response; the sender sees a connection error."""
    return Disconnect()


def reply(event: EventLike, mode: str = "binary", status: int = 200) -> Reply:
    """Answer with `event` in `mode` ("binary" or "structured") and HTTP `status`."""
    if not is_event(event):
        raise TypeError(f"reply takes a CloudEvent, not {event!r}")
    headers, body = encode_reply(event, check_mode(mode))
    return Reply(event, mode, _check_status(status), headers, body)


def encode_reply(event: EventLike, mode: str) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """A reply event as safe headers and a body; ValueError when an attribute would put
    CR/LF or a forged header on the wire (a `datacontenttype` goes into Content-Type)."""
    headers, body = encode(event, mode)
    try:
        return check_headers(headers), body
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the reply event cannot be sent: {exc}") from None


def flaky(probability: float, fault: Fault, seed: int | None = None) -> Flaky:
    """Apply `fault` with `probability` (0..1); `seed=None` takes the test's seed."""
    if isinstance(probability, bool) or not isinstance(probability, (int, float)):
        raise TypeError(f"probability must be a number from 0 to 1, not {probability!r}")
    if not 0.0 <= probability <= 1.0:  # NaN fails this too
        raise ValueError(f"probability must be between 0 and 1, not {probability!r}")
    if not isinstance(fault, _FAULT_TYPES) or isinstance(fault, Flaky):
        raise TypeError(f"flaky wraps one fault such as faults.status(503), not {fault!r}")
    if seed is not None:
        check_whole("seed", seed)
    return Flaky(float(probability), fault, seed)


When = Matcher | Callable[["Delivery"], bool] | None


class Rule:
    """An injected fault with its remaining uses and its condition.

    `hits` counts the deliveries it answered; `times=None` means unlimited.
    """

    def __init__(self, fault: Fault, times: int | None, when: When) -> None:
        if not isinstance(fault, _FAULT_TYPES):
            raise TypeError(f"inject takes a fault from pytest_cloudevents.faults, not {fault!r}")
        if times is not None:
            check_whole("times (None for unlimited)", times, minimum=1)
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
