"""The JSON forms of the control API, both ways: deliveries, faults and `when` criteria.

The standalone server writes deliveries and reads faults and criteria; `RemoteReceiver`
writes faults and criteria and reads deliveries back into `Delivery` objects. A form that
cannot be read raises `BadJSON` with what to send instead.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Final

from pytest_cloudevents.criteria.cesql import CESQLSyntaxError, Sql, sql
from pytest_cloudevents.criteria.match import AllOf, AnyOf, Criteria, Matcher, Not, is_regex, match
from pytest_cloudevents.errors import RemoteError
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.faults import kinds
from pytest_cloudevents.faults.kinds import Fault
from pytest_cloudevents.faults.rules import When
from pytest_cloudevents.recording.delivery import Delivery, Forwarded
from pytest_cloudevents.spec.codes import Level
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.tls import TLSInfo
from pytest_cloudevents.wire import Headers, decode, event_to_json
from pytest_cloudevents.wire.headers import (
    CREDENTIAL_HEADERS,
    REDACTED,
    is_credential,
    shown_headers,
)
from pytest_cloudevents.wire.jsontext import JSONTextError, parse

#: The longest long-poll (`GET deliveries?wait=`) the control API holds, in seconds.
MAX_WAIT: Final[float] = 60.0

__all__ = [
    "CREDENTIAL_HEADERS",
    "MAX_DEPTH",
    "MAX_WAIT",
    "REDACTED",
    "BadJSON",
    "RuleForm",
    "StoredForm",
    "compile_regex",
    "delivery_from_json",
    "delivery_to_json",
    "document_from_json",
    "event_from_json",
    "fault_from_json",
    "fault_to_json",
    "is_credential",
    "matcher_from_json",
    "matcher_to_json",
    "shown_headers",
    "sql_from_json",
]


class BadJSON(ValueError):
    """A JSON document the control API cannot use; the message says what to send."""


#: How deep a document the control API takes (a rule's `$all`/`$any`/`$not` and `then`/
#: `of` nest; nothing sensible nests deeper).
MAX_DEPTH: Final[int] = 32


def document_from_json(body: bytes) -> Any:
    """A request's JSON document, refused (BadJSON) when it does not parse or nests deeper
    than `MAX_DEPTH`: no document can exhaust the receiver's stack."""
    try:
        document = parse(body.decode("utf-8"))
    except (JSONTextError, UnicodeDecodeError) as exc:
        raise BadJSON(f"the body is not JSON: {exc}") from None
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadJSON(f"the document nests deeper than {MAX_DEPTH} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return document


def compile_regex(pattern: str) -> Any:
    """A regex that arrived over the control API, compiled with RE2 (linear time: no
    pattern can freeze the receiver); BadJSON when RE2 refuses it."""
    import re2  # type: ignore[import-untyped]  # google-re2, imported when a regex arrives

    try:
        return re2.compile(pattern)
    except re2.error as exc:
        raise BadJSON(
            f"the regex {pattern!r} does not compile with RE2 ({exc}); RE2 has no"
            " backreferences or lookaround"
        ) from None


# --------------------------------------------------------------------------- deliveries


def _violation(v: Violation) -> dict[str, Any]:
    return {"code": v.code, "attribute": v.attribute, "message": v.message, "level": v.level.value}


def delivery_to_json(d: Delivery, *, credentials: bool = False) -> dict[str, Any]:
    """A delivery as the control API shows it: events in the JSON format, the body in
    base64, violations with their messages, credentials in headers redacted unless
    `credentials`."""
    return {
        "seq": d.seq,
        "received_at": d.received_at,
        "timestamp": d.timestamp.isoformat(),
        "method": d.method,
        "path": d.path,
        "query": d.query,
        "headers": shown_headers(d.headers, credentials=credentials),
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
        "forwarded": None if d.forwarded is None else _forwarded(d.forwarded, credentials),
    }


def _forwarded(f: Forwarded, credentials: bool) -> dict[str, Any]:
    return {
        "url": f.url,
        "status": f.status,
        "elapsed": f.elapsed,
        "headers": shown_headers(f.headers, credentials=credentials),
        "body_base64": base64.b64encode(f.body).decode("ascii"),
        "error": f.error,
    }


def _forwarded_from(doc: dict[str, Any]) -> Forwarded:
    return Forwarded(
        url=doc["url"],
        status=doc["status"],
        elapsed=float(doc["elapsed"]),
        headers=Headers(doc["headers"].items()),
        body=base64.b64decode(doc["body_base64"]),
        error=doc["error"],
    )


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
        forwarded=None if not doc.get("forwarded") else _forwarded_from(doc["forwarded"]),
    )


class StoredForm:
    """A delivery as a store keeps it: the control API's JSON form, credentials and all
    (`recording.persist.Codec`)."""

    def encode(self, delivery: Delivery) -> str:
        return json.dumps(delivery_to_json(delivery, credentials=True), separators=(",", ":"))

    def decode(self, text: str) -> Delivery:
        return delivery_from_json(json.loads(text))


class RuleForm:
    """A fault rule as a store keeps it (`recording.postgres.RuleCodec`): the control API's
    JSON form of the fault, its `times` and its `when` criteria."""

    def encode(self, fault: Fault, times: int | None, when: When) -> str:
        if when is not None and not isinstance(when, Matcher):
            raise TypeError(
                "a rule shared through a store takes when= as match(...) criteria, not a"
                " Python predicate (replicas cannot run it)"
            )
        doc = fault_to_json(fault)
        doc["times"] = times
        doc["when"] = None if when is None else matcher_to_json(when)
        return json.dumps(doc, separators=(",", ":"))

    def decode(self, text: str) -> tuple[Fault, int | None, When]:
        doc = json.loads(text)
        times, when = doc.pop("times", None), doc.pop("when", None)
        return fault_from_json(doc), times, None if when is None else matcher_from_json(when)


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
    """A fault as the control API takes it (each kind's JSON form is its own: `faults`)."""
    return kinds.fault_to_json(fault)


def fault_from_json(doc: object) -> Fault:
    """A fault from its JSON form, checked as the `faults` functions check their
    arguments (a wrong value raises BadJSON saying what to pass)."""
    try:
        return kinds.fault_from_json(doc, event_from_json)
    except BadJSON:
        raise
    except (TypeError, ValueError) as exc:
        raise BadJSON(str(exc)) from None


# --------------------------------------------------------------------------- criteria

_REGEX = "$regex"
_SQL = "$sql"


def matcher_to_json(matcher: Matcher) -> Any:
    """A `match(...)` as JSON: criteria by attribute (`{"$regex": ...}` for a compiled
    pattern), `{"$all": [...]}`, `{"$any": [...]}`, `{"$not": ...}`, `{"$sql": "..."}` for
    a CloudEvents SQL expression. A predicate (a Python callable) has no JSON form and
    raises TypeError."""
    if isinstance(matcher, AllOf):
        return {"$all": [matcher_to_json(p) for p in matcher.parts]}
    if isinstance(matcher, AnyOf):
        return {"$any": [matcher_to_json(p) for p in matcher.parts]}
    if isinstance(matcher, Not):
        return {"$not": matcher_to_json(matcher.inner)}
    if isinstance(matcher, Sql):
        return {_SQL: matcher.text}
    if isinstance(matcher, Criteria):
        if matcher.predicates:
            raise TypeError(_NO_CALLABLES)
        return {name: _criterion_to_json(name, c) for name, c in matcher.criteria.items()}
    raise TypeError(f"when= takes match(...) criteria, not {matcher!r}")


_NO_CALLABLES = (
    "a RemoteReceiver cannot run Python code in the standalone receiver: give when= as"
    " match(...) criteria with plain values or compiled regexes, not callables"
)


def _criterion_to_json(name: str, criterion: Any) -> Any:
    if is_regex(criterion):
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
    if set(doc) == {_SQL}:
        return sql_from_json(doc[_SQL])
    criteria: dict[str, Any] = {}
    for name, value in doc.items():
        if not isinstance(name, str) or name.startswith("$"):
            raise BadJSON(
                f"unknown criterion {name!r}: use attribute names, data, $all/$any/$not/$sql"
            )
        if isinstance(value, dict) and set(value) == {_REGEX}:
            try:
                value = compile_regex(str(value[_REGEX]))
            except BadJSON as exc:
                raise BadJSON(f"criterion {name}: {exc}") from None
        criteria[name] = value
    return match(**criteria)


def sql_from_json(text: object) -> Sql:
    """A CloudEvents SQL criterion that arrived as JSON; BadJSON naming the position of a
    syntax error."""
    if not isinstance(text, str):
        raise BadJSON(f"$sql takes a CloudEvents SQL expression as a string, not {text!r}")
    try:
        return sql(text)
    except CESQLSyntaxError as exc:
        raise BadJSON(str(exc)) from None
