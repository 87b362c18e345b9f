"""The JSON forms of the control API, both ways: deliveries, faults and `when` criteria.

The standalone server writes deliveries and reads faults and criteria; `RemoteReceiver`
writes faults and criteria and reads deliveries back into `Delivery` objects. A form that
cannot be read raises `BadJSON` with what to send instead.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any, Final

from pytest_cloudevents.criteria.match import Matcher, _All, _Any, _Criteria, _Not, match
from pytest_cloudevents.errors import RemoteError
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.faults.kinds import Delay, Disconnect, Fault, Flaky, Reply, Status, Throttle
from pytest_cloudevents.faults.kinds import delay as make_delay
from pytest_cloudevents.faults.kinds import flaky as make_flaky
from pytest_cloudevents.faults.kinds import reply as make_reply
from pytest_cloudevents.faults.kinds import status as make_status
from pytest_cloudevents.faults.kinds import throttle as make_throttle
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.spec.rules import Level, Violation
from pytest_cloudevents.tls import TLSInfo
from pytest_cloudevents.wire import Headers, decode, event_to_json

#: The longest long-poll (`GET deliveries?wait=`) the control API holds, in seconds.
MAX_WAIT: Final[float] = 60.0

__all__ = [
    "MAX_WAIT",
    "BadJSON",
    "delivery_from_json",
    "delivery_to_json",
    "event_from_json",
    "fault_from_json",
    "fault_to_json",
    "matcher_from_json",
    "matcher_to_json",
]


class BadJSON(ValueError):
    """A JSON document the control API cannot use; the message says what to send."""


# --------------------------------------------------------------------------- deliveries


def _violation(v: Violation) -> dict[str, Any]:
    return {"code": v.code, "attribute": v.attribute, "message": v.message, "level": v.level.value}


def delivery_to_json(d: Delivery) -> dict[str, Any]:
    """A delivery as the control API shows it: events in the JSON format, the body in
    base64, violations with their messages."""
    return {
        "seq": d.seq,
        "received_at": d.received_at,
        "timestamp": d.timestamp.isoformat(),
        "method": d.method,
        "path": d.path,
        "query": d.query,
        "headers": dict(d.headers.items()),
        "body_base64": base64.b64encode(d.body).decode("ascii"),
        "remote_addr": d.remote_addr,
        "mode": d.mode,
        "events": [event_to_json(e) for e in d.events],
        "outcome": d.outcome,
        "status": d.status,
        "violations": [_violation(v) for v in d.violations],
        "warnings": [_violation(v) for v in d.warnings],
        "fault": d.fault,
        "error": None if d.error is None else f"{type(d.error).__name__}: {d.error}",
        "tls": None if d.tls is None else {"version": d.tls.version, "peer": d.tls.peer},
        "content_encoding": d.content_encoding,
    }


def delivery_from_json(doc: dict[str, Any]) -> Delivery:
    """A delivery read back from the control API."""
    headers = Headers(doc["headers"].items())
    return Delivery(
        seq=int(doc["seq"]),
        received_at=float(doc["received_at"]),
        timestamp=datetime.fromisoformat(doc["timestamp"]),
        method=doc["method"],
        path=doc["path"],
        query=doc["query"],
        headers=headers,
        body=base64.b64decode(doc["body_base64"]),
        remote_addr=doc["remote_addr"],
        mode=doc["mode"],
        events=[event_from_json(e) for e in doc["events"]],
        outcome=doc["outcome"],
        status=doc["status"],
        violations=[_violation_from(v) for v in doc["violations"]],
        warnings=[_violation_from(v) for v in doc["warnings"]],
        fault=doc["fault"],
        error=None if doc["error"] is None else RemoteError(doc["error"]),
        tls=None if not doc.get("tls") else TLSInfo(doc["tls"]["version"], doc["tls"]["peer"]),
        content_encoding=doc.get("content_encoding"),
    )


def _violation_from(doc: dict[str, Any]) -> Violation:
    return Violation(doc["code"], doc["attribute"], doc["message"], Level(doc["level"]))


def event_from_json(doc: object) -> CloudEvent:
    """An event from its JSON-format dict, checked as a structured message would be."""
    if not isinstance(doc, dict):
        raise BadJSON(f"an event is a JSON object in the CloudEvents JSON format, not {doc!r}")
    decoded = decode({"content-type": "application/cloudevents+json"}, json.dumps(doc).encode())
    if decoded.violations or len(decoded.events) != 1:
        problems = "; ".join(str(v) for v in decoded.violations)
        raise BadJSON(f"the event breaks the CloudEvents spec: {problems}")
    return decoded.events[0]


# --------------------------------------------------------------------------- faults


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A fault as the control API takes it."""
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


_FAULT_KEYS = {
    "status": {"code", "body", "body_base64", "headers"},
    "throttle": {"retry_after"},
    "delay": {"seconds", "then"},
    "disconnect": set(),
    "reply": {"event", "mode", "status"},
    "flaky": {"probability", "of", "seed"},
}


def fault_from_json(doc: object) -> Fault:
    """A fault from its JSON form, checked as the `faults` functions check their
    arguments (a wrong value raises BadJSON saying what to pass)."""
    if not isinstance(doc, dict) or doc.get("fault") not in _FAULT_KEYS:
        kinds = ", ".join(sorted(_FAULT_KEYS))
        raise BadJSON(f'a fault is a JSON object {{"fault": one of {kinds}, ...}}, not {doc!r}')
    kind = doc["fault"]
    unknown = set(doc) - _FAULT_KEYS[kind] - {"fault"}
    if unknown:
        allowed = ", ".join(sorted(_FAULT_KEYS[kind])) or "nothing else"
        raise BadJSON(f"a {kind} fault takes {allowed}; unknown: {', '.join(sorted(unknown))}")
    try:
        if kind == "status":
            body: bytes | str = doc.get("body", "")
            if "body_base64" in doc:
                body = base64.b64decode(str(doc["body_base64"]), validate=True)
            return make_status(doc.get("code"), body=body, headers=doc.get("headers"))  # type: ignore[arg-type]
        if kind == "throttle":
            value = doc.get("retry_after", 2)
            return make_throttle(_date_or_seconds(value))
        if kind == "delay":
            then = doc.get("then")
            return make_delay(
                doc.get("seconds"),  # type: ignore[arg-type]
                None if then is None else fault_from_json(then),
            )
        if kind == "disconnect":
            return Disconnect()
        if kind == "reply":
            event = event_from_json(doc.get("event"))
            return make_reply(event, doc.get("mode", "binary"), doc.get("status", 200))
        return make_flaky(
            doc.get("probability"),  # type: ignore[arg-type]
            fault_from_json(doc.get("of")),
            doc.get("seed"),
        )
    except BadJSON:
        raise
    except (TypeError, ValueError) as exc:
        raise BadJSON(f"{kind} fault: {exc}") from None


def _date_or_seconds(value: object) -> Any:
    if isinstance(value, str) and not value.isdigit():
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise BadJSON(f"retry_after is whole seconds or an HTTP date, not {value!r}") from None
    if isinstance(value, str):
        return int(value)
    return value


# --------------------------------------------------------------------------- criteria

_REGEX = "$regex"


def matcher_to_json(matcher: Matcher) -> Any:
    """A `match(...)` as JSON: criteria by attribute (`{"$regex": ...}` for a compiled
    pattern), `{"$all": [...]}`, `{"$any": [...]}`, `{"$not": ...}`. A predicate (a Python
    callable) has no JSON form and raises TypeError."""
    if isinstance(matcher, _All):
        return {"$all": [matcher_to_json(p) for p in matcher.parts]}
    if isinstance(matcher, _Any):
        return {"$any": [matcher_to_json(p) for p in matcher.parts]}
    if isinstance(matcher, _Not):
        return {"$not": matcher_to_json(matcher.inner)}
    if isinstance(matcher, _Criteria):
        if matcher.predicates:
            raise TypeError(_NO_CALLABLES)
        return {name: _criterion_to_json(name, c) for name, c in matcher.criteria.items()}
    raise TypeError(f"when= takes match(...) criteria, not {matcher!r}")


_NO_CALLABLES = (
    "a RemoteReceiver cannot run Python code in the standalone receiver: give when= as"
    " match(...) criteria with plain values or compiled regexes, not callables"
)


def _criterion_to_json(name: str, criterion: Any) -> Any:
    if isinstance(criterion, re.Pattern):
        return {_REGEX: criterion.pattern}
    if callable(criterion) or isinstance(criterion, type):
        raise TypeError(f"{_NO_CALLABLES} (criterion {name}={criterion!r})")
    try:
        json.dumps(criterion)
    except (TypeError, ValueError):
        raise TypeError(
            f"criterion {name}={criterion!r} has no JSON form; use plain values or a regex"
        ) from None
    return criterion


def matcher_from_json(doc: object) -> Matcher:
    """`matcher_to_json`'s form back into a matcher."""
    if not isinstance(doc, dict):
        raise BadJSON(f'when is a JSON object of criteria such as {{"type": "x"}}, not {doc!r}')
    if set(doc) == {"$all"} or set(doc) == {"$any"}:
        key = next(iter(doc))
        parts = doc[key]
        if not isinstance(parts, list) or not parts:
            raise BadJSON(f"{key} takes a non-empty list of criteria, not {parts!r}")
        matchers = [matcher_from_json(p) for p in parts]
        combined = matchers[0]
        for m in matchers[1:]:
            combined = combined & m if key == "$all" else combined | m
        return combined
    if set(doc) == {"$not"}:
        return ~matcher_from_json(doc["$not"])
    criteria: dict[str, Any] = {}
    for name, value in doc.items():
        if not isinstance(name, str) or name.startswith("$"):
            raise BadJSON(f"unknown criterion {name!r}: use attribute names, data, $all/$any/$not")
        if isinstance(value, dict) and set(value) == {_REGEX}:
            try:
                value = re.compile(str(value[_REGEX]))
            except re.error as exc:
                raise BadJSON(f"criterion {name}: the regex does not compile: {exc}") from None
        criteria[name] = value
    return match(**criteria)
