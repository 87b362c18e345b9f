"""Fault behaviours, and the rule list that picks one for each delivery.

`from pytest_cloudevents import faults`, then `receiver.inject(faults.status(503), times=2)`.
Faults are plain data; the delivery application (`app.py`) carries them out.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Final, Literal

from pytest_cloudevents.events import EventLike, attributes_of, is_event
from pytest_cloudevents.validate import check_mode, check_seconds, check_whole
from pytest_cloudevents.wire import encode, event_to_json
from pytest_cloudevents.wire.message import Answer, check_answer, check_headers, check_status

__all__ = [
    "JSON_KEYS",
    "KINDS",
    "Delay",
    "Disconnect",
    "Fault",
    "Flaky",
    "Plain",
    "Reply",
    "Status",
    "Throttle",
    "Verdict",
    "delay",
    "disconnect",
    "encode_reply",
    "fault_from_json",
    "fault_to_json",
    "flaky",
    "is_fault",
    "is_plain_fault",
    "reply",
    "status",
    "throttle",
]


#: How a fault's answer counts in the log: a 2xx answer is `accepted` (its events are
#: received), anything else `faulted`.
Verdict = tuple[Literal["accepted", "faulted"], Answer]


def _verdict(answer: Answer) -> Verdict:
    ok = answer.status is not None and 200 <= answer.status <= 299
    return ("accepted" if ok else "faulted"), answer


@dataclass(frozen=True)
class Status:
    """Answer with `code`, `body` and extra `headers`."""

    code: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"status({self.code})"

    def answer(self) -> Verdict:
        """The answer on the wire, and how the log counts it."""
        return _verdict(Answer(self.code, list(self.headers), self.body))


@dataclass(frozen=True)
class Throttle:
    """Answer 429 Too Many Requests with a `Retry-After` header."""

    retry_after: str

    @property
    def name(self) -> str:
        return f"throttle(retry_after={self.retry_after})"

    def answer(self) -> Verdict:
        """The answer on the wire, and how the log counts it."""
        headers = [("Retry-After", self.retry_after), _TEXT]
        return _verdict(Answer(429, headers, b"too many requests\n"))


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

    def answer(self) -> Verdict:
        """No answer: the connection is closed."""
        return "faulted", Answer(None)


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
        return f"reply({attributes_of(self.event).get('type')})"

    def answer(self) -> Verdict:
        """The answer on the wire, and how the log counts it."""
        return _verdict(Answer(self.status, list(self.headers), self.body))


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
#: The faults a handler may return, and what `then=` takes: every kind but `flaky`.
Plain = Status | Throttle | Delay | Disconnect | Reply
#: Every kind of fault, by the name its JSON form carries (`{"kind": "status", ...}`).
KINDS: Final[dict[str, type[Fault]]] = {
    "status": Status,
    "throttle": Throttle,
    "delay": Delay,
    "disconnect": Disconnect,
    "reply": Reply,
    "flaky": Flaky,
}
_FAULT_TYPES = tuple(KINDS.values())
_PLAIN_TYPES = (Status, Throttle, Delay, Disconnect, Reply)
_TEXT: Final[tuple[str, str]] = ("Content-Type", "text/plain; charset=utf-8")


def is_fault(value: object) -> bool:
    """True for any fault (`flaky` included)."""
    return isinstance(value, _FAULT_TYPES)


def is_plain_fault(value: object) -> bool:
    """True for a fault a handler may return (any but `flaky`)."""
    return isinstance(value, _PLAIN_TYPES)


def _check_status(code: object, what: str = "status") -> int:
    return check_status(code, what)


def status(code: int, body: bytes | str = b"", headers: Mapping[str, str] | None = None) -> Status:
    """Answer with HTTP status `code` (200-599) and an optional body and headers. A 2xx
    status acknowledges: the delivery is `accepted` and its events are received."""
    code = _check_status(code)
    if isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    else:
        raise TypeError(f"body must be bytes or str, not {type(body).__name__} {body!r}")
    answer = check_answer(code, headers, data)
    return Status(code, data, tuple(answer.headers))


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
    if then is not None and not is_fault(then):
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
    code = _check_status(status)
    headers, body = encode_reply(event, check_mode(mode))
    try:
        check_answer(code, headers, body)
    except ValueError as exc:
        raise ValueError(f"faults.reply(..., status={code}): {exc}") from None
    return Reply(event, mode, code, headers, body)


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
    if not is_plain_fault(fault):
        raise TypeError(f"flaky wraps one fault such as faults.status(503), not {fault!r}")
    if seed is not None:
        check_whole("seed", seed)
    return Flaky(float(probability), fault, seed)


# -- the JSON form of each kind (the control API's) --------------------------------------


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A fault as JSON: `{"fault": kind, ...}` with the kind's own keys (`JSON_KEYS`)."""
    if isinstance(fault, Status):
        doc: dict[str, Any] = {"fault": "status", "code": fault.code}
        doc.update(_body(fault.body))
        if fault.headers:
            doc["headers"] = dict(fault.headers)
        return doc
    if isinstance(fault, Throttle):
        value: int | str = (
            int(fault.retry_after) if fault.retry_after.isdigit() else fault.retry_after
        )
        return {"fault": "throttle", "retry_after": value}
    if isinstance(fault, Delay):
        then = None if fault.then is None else fault_to_json(fault.then)
        return {"fault": "delay", "seconds": fault.seconds, "then": then}
    if isinstance(fault, Disconnect):
        return {"fault": "disconnect"}
    if isinstance(fault, Reply):
        return {
            "fault": "reply",
            "event": event_to_json(fault.event),
            "mode": fault.mode,
            "status": fault.status,
        }
    if isinstance(fault, Flaky):
        return {
            "fault": "flaky",
            "probability": fault.probability,
            "of": fault_to_json(fault.fault),
            "seed": fault.seed,
        }
    raise TypeError(f"inject takes a fault from pytest_cloudevents.faults, not {fault!r}")


def _body(body: bytes) -> dict[str, str]:
    if not body:
        return {}
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode("ascii")}


#: The keys of each kind's JSON form, besides `"fault"`.
JSON_KEYS: Final[dict[str, frozenset[str]]] = {
    "status": frozenset({"code", "body", "body_base64", "headers"}),
    "throttle": frozenset({"retry_after"}),
    "delay": frozenset({"seconds", "then"}),
    "disconnect": frozenset(),
    "reply": frozenset({"event", "mode", "status"}),
    "flaky": frozenset({"probability", "of", "seed"}),
}
assert set(JSON_KEYS) == set(KINDS)


def fault_from_json(doc: object, read_event: Callable[[object], EventLike]) -> Fault:
    """A fault from its JSON form, checked as the `faults` functions check their
    arguments (a wrong value raises TypeError/ValueError saying what to pass);
    `read_event` turns a reply's JSON event into an event."""
    if not isinstance(doc, dict) or doc.get("fault") not in JSON_KEYS:
        kinds = ", ".join(sorted(JSON_KEYS))
        raise ValueError(f'a fault is a JSON object {{"fault": one of {kinds}, ...}}, not {doc!r}')
    kind = doc["fault"]
    unknown = set(doc) - JSON_KEYS[kind] - {"fault"}
    if unknown:
        allowed = ", ".join(sorted(JSON_KEYS[kind])) or "nothing else"
        raise ValueError(f"a {kind} fault takes {allowed}; unknown: {', '.join(sorted(unknown))}")
    try:
        if kind == "status":
            body: bytes | str = doc.get("body", "")
            if "body_base64" in doc:
                body = base64.b64decode(str(doc["body_base64"]), validate=True)
            return status(doc.get("code"), body=body, headers=doc.get("headers"))  # type: ignore[arg-type]
        if kind == "throttle":
            value = doc.get("retry_after", 2)
            return throttle(_date_or_seconds(value))
        if kind == "delay":
            then = doc.get("then")
            return delay(
                doc.get("seconds"),  # type: ignore[arg-type]
                None if then is None else fault_from_json(then, read_event),
            )
        if kind == "disconnect":
            return Disconnect()
        if kind == "reply":
            event = read_event(doc.get("event"))
            return reply(event, doc.get("mode", "binary"), doc.get("status", 200))
        return flaky(
            doc.get("probability"),  # type: ignore[arg-type]
            fault_from_json(doc.get("of"), read_event),
            doc.get("seed"),
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{kind} fault: {exc}") from None


def _date_or_seconds(value: object) -> Any:
    if isinstance(value, str) and not value.isdigit():
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"retry_after is whole seconds or an HTTP date, not {value!r}"
            ) from None
    if isinstance(value, str):
        return int(value)
    return value
