"""The JSON event format: structured mode, batches, and base64 data."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pytest_cloudevents.events import EventLike, attributes_of, data_of
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire.binding import (
    BATCH_JSON,
    STRUCTURED_JSON,
    is_json_media_type,
    is_text_media_type,
)
from pytest_cloudevents.wire.jsontext import JSONTextError, parse_body
from pytest_cloudevents.wire.raw import RawEvent

__all__ = [
    "decode_json_body",
    "encode_batch",
    "encode_structured",
    "event_to_json",
    "repeated_members",
]


def decode_json_body(
    body: bytes, *, batch: bool, max_body: int | None = None
) -> tuple[list[RawEvent], list[Violation]]:
    """A structured (one object) or batch (an array of objects) body as raw events."""
    what = "batch" if batch else "structured"
    try:
        document = parse_body(body, bytes.decode, max_body)
    except JSONTextError as exc:
        code = "body-too-large" if exc.too_large else "invalid-json"
        return [], [Violation(code, None, f"the {what} body is not acceptable JSON: {exc}")]
    except UnicodeDecodeError as exc:
        return [], [Violation("invalid-json", None, f"the {what} body is not UTF-8: {exc}")]
    if not batch:
        event, problems = _json_event(document, None, len(body))
        return ([event] if event else []), problems
    if not isinstance(document, list):
        return [], [
            Violation(
                "batch-not-an-array",
                None,
                f"a batch body must be a JSON array of events, got {_kind(document)}",
            )
        ]
    raws: list[RawEvent] = []
    problems = []
    for index, item in enumerate(document):
        size = len(json.dumps(item)) if isinstance(item, dict) else 0
        event, found = _json_event(item, index, size)
        problems += found
        if event:
            raws.append(event)
    # a specversion that is not a string is reported per event (attribute-type)
    versions = {v for r in raws if isinstance(v := r.attributes.get("specversion"), str)}
    if len(versions) > 1:
        problems.append(
            Violation(
                "batch-mixed-specversion",
                "specversion",
                "all events of a batch must share one specversion,"
                f" got {sorted(map(str, versions))}",
            )
        )
    return raws, problems


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _json_event(
    document: Any, index: int | None, size: int
) -> tuple[RawEvent | None, list[Violation]]:
    where = "" if index is None else f"event {index}: "
    if not isinstance(document, dict):
        return None, [
            Violation(
                "not-an-object",
                None,
                f"{where}a CloudEvent in JSON must be an object, got {_kind(document)}",
            )
        ]
    # `data_base64` is a member of the 1.0 format only; in 0.3 it is an attribute like any
    # other (and its name is not a valid one)
    v03 = document.get("specversion") == "0.3"
    members = ("data",) if v03 else ("data", "data_base64")
    attributes = {k: v for k, v in document.items() if k not in members and v is not None}
    problems: list[Violation] = []
    has_data = "data" in document
    b64 = None if v03 else document.get("data_base64")
    data: Any = None
    if has_data and b64 is not None:
        problems.append(
            Violation(
                "data-and-data-base64",
                "data",
                f"{where}'data' and 'data_base64' are mutually exclusive; send one",
            )
        )
    elif b64 is not None:
        data, problem = _base64(b64, where, "data_base64")
        if problem:
            problems.append(problem)
    elif (
        has_data
        and attributes.get("specversion") == "0.3"
        and attributes.get("datacontentencoding") == "base64"
    ):  # in 1.0 datacontentencoding is an ordinary extension and data is left alone
        data, problem = _base64(document["data"], where, "data")
        if problem:
            problems.append(problem)
    elif has_data:
        data = _json_data(document["data"], attributes)
    return RawEvent(attributes, data, size), problems


def _base64(value: Any, where: str, member: str) -> tuple[bytes | None, Violation | None]:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True), None
        except (binascii.Error, ValueError) as exc:
            reason = str(exc)
    else:
        reason = f"it is {_kind(value)}, not a string"
    return None, Violation(
        "invalid-base64",
        member,
        f"{where}'{member}' is not valid base64 (RFC 4648, padded, no line breaks): {reason}",
    )


def _json_data(value: Any, attributes: Mapping[str, Any]) -> Any:
    """The `data` member as a Python value, by datacontenttype (JSON format 3.1.2)."""
    content_type = attributes.get("datacontenttype")
    content_type = content_type if isinstance(content_type, str) else None
    if is_json_media_type(content_type) or not isinstance(value, str):
        return value
    if is_text_media_type(content_type):
        return value
    # a JSON string may hold lone surrogates (RFC 8259 8.2): kept as their bytes, never an
    # exception out of decoding
    return value.encode("utf-8", "surrogatepass")


def event_to_json(event: EventLike) -> dict[str, Any]:
    """The event as a JSON-format object (the JSON format, section 3)."""
    document = attributes_of(event)
    data = data_of(event)
    if isinstance(data, (bytes, bytearray)):
        if document.get("specversion") == "0.3":
            document["datacontentencoding"] = "base64"
            document["data"] = base64.b64encode(data).decode("ascii")
        else:
            document["data_base64"] = base64.b64encode(data).decode("ascii")
    elif data is not None:
        document["data"] = data
    return document


def encode_structured(event: EventLike) -> tuple[dict[str, str], bytes]:
    """Structured mode: the whole event as `application/cloudevents+json`."""
    body = json.dumps(event_to_json(event), separators=(",", ":"), allow_nan=False).encode()
    return {"content-type": f"{STRUCTURED_JSON}; charset=utf-8"}, body


def encode_batch(events: Iterable[EventLike]) -> tuple[dict[str, str], bytes]:
    """Batched mode: a JSON array of events as `application/cloudevents-batch+json`."""
    documents = [event_to_json(e) for e in events]
    body = json.dumps(documents, separators=(",", ":"), allow_nan=False).encode()
    return {"content-type": f"{BATCH_JSON}; charset=utf-8"}, body


_REPEATED: Final[str] = "\0repeated"  # a key no JSON member can collide with: it holds NUL


def repeated_members(body: bytes, *, batch: bool) -> list[tuple[int | None, str]]:
    """The attribute names an event object of a (parseable) structured or batch body
    holds more than once, as (batch index or None, name): Python's JSON parser keeps the
    last silently, so the body is read again with a hook that sees every member."""
    found: list[tuple[int | None, str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [k for k, _ in items]
        if len(set(names)) == len(names):
            return dict(items)
        repeated = sorted({n for n in names if names.count(n) > 1})
        return {_REPEATED: repeated, **dict(items)}

    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=pairs)
    except (ValueError, UnicodeDecodeError):
        return []
    events = document if batch and isinstance(document, list) else [document]
    for index, event in enumerate(events):
        if isinstance(event, dict):
            for name in event.get(_REPEATED, []):
                found.append((index if batch else None, name))
    return found
