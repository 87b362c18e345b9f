"""HTTP messages <-> CloudEvents, for the binary, structured and batched content modes.

`decode` turns headers and a body into raw attributes and data per event, checks them
with `conformance`, and builds the SDK's `CloudEvent` only from complete attributes: the
SDK is never allowed to fill in a missing `id`, `specversion` or `time`.
`encode_binary`, `encode_structured` and `encode_batch` write messages; binary mode uses
the SDK's binding for percent-encoding and fixes its known gaps.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Literal, cast

from cloudevents.core.bindings.http import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v03.event import CloudEvent as CloudEventV03
from cloudevents.core.v1.event import CloudEvent

from .conformance import (
    CONTEXT_ATTRIBUTES,
    EXTENSION_NAME,
    REQUIRED,
    SPECVERSIONS,
    Level,
    Violation,
    check_attributes,
    check_size,
    parse_time,
)

__all__ = [
    "AnyCloudEvent",
    "Decoded",
    "HeaderMap",
    "Mode",
    "RawEvent",
    "build_event",
    "decode",
    "encode",
    "encode_batch",
    "encode_binary",
    "encode_structured",
    "event_attributes",
    "is_json_media_type",
    "mode_of",
]

#: The SDK event classes the plugin produces and accepts.
AnyCloudEvent = CloudEvent | CloudEventV03
Mode = Literal["binary", "structured", "batch"]

CE_PREFIX: Final[str] = "ce-"
STRUCTURED_JSON: Final[str] = "application/cloudevents+json"
BATCH_JSON: Final[str] = "application/cloudevents-batch+json"
_PERCENT: Final[re.Pattern[str]] = re.compile(r"%(.{0,2})", re.DOTALL)
_HEX2: Final[re.Pattern[str]] = re.compile(r"[0-9A-Fa-f]{2}")
_PLAIN: Final[re.Pattern[str]] = re.compile(r"[!#-$&-~]*")  # printable ASCII but " and %
_QUOTED: Final[re.Pattern[str]] = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


class HeaderMap(Mapping[str, str]):
    """Request headers: a read-only mapping whose keys are case-insensitive.

    Iterating gives the names in their usual capitalisation (`Ce-Id`, `Content-Type`).
    """

    __slots__ = ("lowered",)

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        #: lower-cased name -> value
        self.lowered: dict[str, str] = {k.lower(): v for k, v in (pairs or {}).items()}

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> HeaderMap:
        """The headers of a WSGI request, in one pass over its environ."""
        headers = cls()
        lowered = headers.lowered
        for key, value in environ.items():
            if key[:5] == "HTTP_":
                lowered[key[5:].replace("_", "-").lower()] = value
            elif (key == "CONTENT_TYPE" or key == "CONTENT_LENGTH") and value:
                lowered[key.replace("_", "-").lower()] = value
        return headers

    def __getitem__(self, name: str) -> str:
        return self.lowered[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.lowered

    def __iter__(self) -> Iterator[str]:
        return (name.title() for name in self.lowered)

    def __len__(self) -> int:
        return len(self.lowered)

    def __repr__(self) -> str:
        return f"HeaderMap({dict(self.items())!r})"


@dataclass
class RawEvent:
    """One event as the message carried it: attributes (JSON values or header strings)
    and data already turned into a Python value, before any SDK validation."""

    attributes: dict[str, Any]
    data: Any = None
    size: int = 0
    #: Attributes present in the message whose value could not be decoded (already
    #: reported as such, so not reported again as missing).
    undecodable: frozenset[str] = frozenset()


@dataclass
class Decoded:
    """The result of `decode`.

    `events` holds the SDK events built from the message (empty when it was rejected);
    `violations` the MUST violations that reject it; `warnings` the SHOULD violations, plus
    in lax mode the MUST violations that did not stop an event from being built.
    """

    mode: Mode | None
    events: list[AnyCloudEvent] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    raw: list[RawEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the message is accepted (no violation rejects it)."""
        return not self.violations

    @property
    def status(self) -> int:
        """The HTTP status a rejection gets: 415, 413, or 400; 200 when accepted."""
        codes = {v.code for v in self.violations}
        if not codes:
            return 200
        if "unsupported-format" in codes:
            return 415
        if "body-too-large" in codes:
            return 413
        return 400


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, lower-cased, without parameters."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def mode_of(content_type: str | None) -> Mode:
    """The content mode the HTTP binding assigns to a Content-Type value."""
    mt = media_type(content_type)
    if mt.startswith("application/cloudevents-batch"):
        return "batch"
    if mt.startswith("application/cloudevents"):
        return "structured"
    return "binary"


def is_json_media_type(content_type: str | None) -> bool:
    """True for `*/json` and `*/*+json` media types, and for none at all (JSON implied)."""
    mt = media_type(content_type)
    if not mt:
        return True
    subtype = mt.partition("/")[2]
    return subtype == "json" or subtype.endswith("+json")


def _is_text_media_type(content_type: str | None) -> bool:
    mt = media_type(content_type)
    subtype = mt.partition("/")[2]
    return mt.startswith("text/") or subtype == "xml" or subtype.endswith("+xml")


def _charset(content_type: str | None) -> str:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


# --------------------------------------------------------------------------- decoding


def decode(headers: Mapping[str, str], body: bytes, *, strict: bool = True) -> Decoded:
    """Decode one HTTP message (request or response) into CloudEvents.

    `headers` maps header names (any case) to values; `body` is the raw body. In strict
    mode any MUST violation rejects the whole message (a batch included). In lax mode MUST
    violations become warnings and each event is built when the SDK can take it, with the
    attributes it refuses dropped; one that cannot be built still rejects the message.

    Never raises for any headers or body; raises `TypeError` only for arguments of the
    wrong type (a body that is not bytes, headers that are not a mapping).
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes, not {type(body).__name__}; encode it first")
    if not isinstance(headers, Mapping) and not hasattr(headers, "items"):
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    body = bytes(body)
    if isinstance(headers, HeaderMap):
        lowered = headers.lowered
    else:
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    content_type = lowered.get("content-type")
    mode = mode_of(content_type)
    decoded = Decoded(mode=mode)
    if mode == "binary":
        decoded.raw, problems = _decode_binary(lowered, content_type, body)
    else:
        mt = media_type(content_type)
        if not mt.endswith("+json"):
            decoded.mode = None
            decoded.violations.append(
                Violation(
                    "unsupported-format",
                    None,
                    f"event format {mt!r} is not supported; send {STRUCTURED_JSON}"
                    f" (structured) or {BATCH_JSON} (batch)",
                )
            )
            return decoded
        decoded.raw, problems = _decode_json_body(body, batch=mode == "batch")
    _finish(decoded, problems, strict=strict)
    return decoded


def _finish(decoded: Decoded, problems: list[Violation], *, strict: bool) -> None:
    """Check every raw event, sort violations from warnings, build the SDK events."""
    musts = [p for p in problems if p.level is Level.MUST]
    decoded.warnings += [p for p in problems if p.level is Level.SHOULD]
    many = decoded.mode == "batch"
    for index, raw in enumerate(decoded.raw):
        found = [
            _at(v, index) if many else v
            for v in check_attributes(raw.attributes)
            if v.attribute not in raw.undecodable
        ]
        found += check_size(raw.size)
        musts += [v for v in found if v.level is Level.MUST]
        decoded.warnings += [v for v in found if v.level is Level.SHOULD]
    # Outside binary mode a broken envelope leaves nothing that lax mode could build.
    if musts and (strict or (decoded.mode != "binary" and any(_is_structural(v) for v in musts))):
        decoded.violations = musts
        return
    decoded.warnings = musts + decoded.warnings
    events: list[AnyCloudEvent] = []
    for raw in decoded.raw:
        if strict:
            events.append(build_event(raw))
            continue
        event, refused = _build_lax(raw)
        if event is None:
            decoded.violations = refused
            return
        events.append(event)
    decoded.events = events


# Violations about the envelope itself, as opposed to one attribute's value.
_STRUCTURAL: Final[frozenset[str]] = frozenset(
    {
        "invalid-json",
        "not-an-object",
        "batch-not-an-array",
        "batch-mixed-specversion",
        "data-and-data-base64",
        "invalid-base64",
        "unsupported-format",
        "body-too-large",
    }
)


def _is_structural(violation: Violation) -> bool:
    return violation.code in _STRUCTURAL


def _at(violation: Violation, index: int) -> Violation:
    return Violation(
        violation.code, violation.attribute, f"event {index}: {violation.message}", violation.level
    )


def _decode_binary(
    headers: Mapping[str, str], content_type: str | None, body: bytes
) -> tuple[list[RawEvent], list[Violation]]:
    problems: list[Violation] = []
    attributes: dict[str, Any] = {}
    undecodable: set[str] = set()
    size = len(body)
    for name, value in headers.items():
        if not name.startswith(CE_PREFIX):
            continue
        attr = name[len(CE_PREFIX) :]
        size += len(name) + len(value)
        if attr == "datacontenttype":
            problems.append(
                Violation(
                    "datacontenttype-header-in-binary",
                    "datacontenttype",
                    "binary mode carries datacontenttype in the Content-Type header;"
                    " a ce-datacontenttype header must not be present (remove it)",
                )
            )
            continue
        text, error = unescape_header_value(value)
        if error is not None:
            problems.append(Violation("invalid-percent-encoding", attr, f"header {name}: {error}"))
            undecodable.add(attr)
            continue
        attributes[attr] = text
    if content_type and content_type.strip():
        attributes["datacontenttype"] = content_type.strip()
    data, problem = _body_data(body, content_type)
    if problem is not None:
        problems.append(problem)
    return [RawEvent(attributes, data, size, frozenset(undecodable))], problems


def unescape_header_value(value: str) -> tuple[str, str | None]:
    """Undo an RFC 7230 quoted-string, then one round of percent-decoding (UTF-8).

    Returns the decoded text and None, or the raw value and a description of the error.
    """
    value = value.strip(" \t")
    if _PLAIN.fullmatch(value):  # the common case: nothing to unescape
        return value, None
    if value.startswith('"'):
        quoted = _QUOTED.fullmatch(value)
        if quoted is None:
            return value, "the quoted-string is not terminated by a double quote"
        value = re.sub(r"\\(.)", r"\1", quoted.group(1))
    bad = next((c for c in value if not " " <= c <= "~"), None)
    if bad is not None:
        return value, (
            f"the character U+{ord(bad):04X} must be percent-encoded as UTF-8"
            " (header values are printable ASCII)"
        )
    out = bytearray()
    pos = 0
    for m in _PERCENT.finditer(value):
        out += value[pos : m.start()].encode("ascii")
        if _HEX2.fullmatch(m.group(1)) is None:
            return value, (
                f"broken percent escape {m.group()!r} at position {m.start()};"
                " '%' must be followed by two hex digits (send a literal '%' as '%25')"
            )
        out.append(int(m.group(1), 16))
        pos = m.end()
    out += value[pos:].encode("ascii")
    try:
        return out.decode("utf-8", errors="strict"), None
    except UnicodeDecodeError as exc:
        return value, (
            f"the percent-encoded bytes are not valid UTF-8 ({exc.reason} at byte"
            f" {exc.start}); encode each character as its UTF-8 bytes"
        )


def _body_data(body: bytes, content_type: str | None) -> tuple[Any, Violation | None]:
    """A binary-mode body as a Python value, by its media type."""
    if not body:
        return None, None
    if is_json_media_type(content_type):
        try:
            return json.loads(body.decode(_charset(content_type))), None
        except (ValueError, LookupError) as exc:
            return body, Violation(
                "invalid-json",
                None,
                f"the body is declared as JSON ({content_type or 'no Content-Type: JSON'}"
                f" implied) but does not parse: {exc}",
            )
    if _is_text_media_type(content_type):
        try:
            return body.decode(_charset(content_type)), None
        except (UnicodeDecodeError, LookupError):
            return body, None
    return body, None


def _decode_json_body(body: bytes, *, batch: bool) -> tuple[list[RawEvent], list[Violation]]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        what = "batch" if batch else "structured"
        return [], [
            Violation("invalid-json", None, f"the {what} body is not valid UTF-8 JSON: {exc}")
        ]
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
    versions = {r.attributes.get("specversion") for r in raws} - {None}
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
    attributes = {k: v for k, v in document.items() if k not in ("data", "data_base64")}
    attributes = {k: v for k, v in attributes.items() if v is not None}
    problems: list[Violation] = []
    has_data = "data" in document
    b64 = document.get("data_base64")
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
    elif has_data and attributes.get("datacontentencoding") == "base64":  # CloudEvents 0.3
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
    if _is_text_media_type(content_type):
        return value
    return value.encode("utf-8")


# --------------------------------------------------------------------------- building


def build_event(raw: RawEvent) -> AnyCloudEvent:
    """Build the SDK event from raw attributes that passed the strict checks.

    The attributes are copied (the SDK constructor mutates its argument); `time` becomes a
    timezone-aware `datetime`. Raises the SDK's validation error if a required attribute
    is missing, since nothing is filled in.
    """
    attributes = dict(raw.attributes)
    time = attributes.get("time")
    if isinstance(time, str):
        parsed = parse_time(time)
        if parsed is not None:
            attributes["time"] = parsed
    cls = CloudEventV03 if attributes.get("specversion") == "0.3" else CloudEvent
    if _TRUSTED_LAYOUT:
        # The attributes passed checks stricter than the constructor's, which would only
        # repeat them (and fill in a missing time): set the event's state directly.
        fast = cast(AnyCloudEvent, object.__new__(cls))
        fast._attributes = attributes
        fast._data = raw.data
        return fast
    event = cls(attributes, raw.data)
    if "time" not in raw.attributes:
        # The SDK sets a missing time to "now"; the message had none, so the event has none.
        event.get_attributes().pop("time", None)
    return event


def _layout_is_known() -> bool:
    """True when the SDK's events keep exactly `_attributes` and `_data`, so that
    `build_event` may set them without calling the validating constructor."""
    sample = {"id": "1", "source": "/", "type": "t", "specversion": "1.0"}
    for cls in (CloudEvent, CloudEventV03):
        event = cls({**sample, "specversion": "0.3" if cls is CloudEventV03 else "1.0"}, b"x")
        if set(vars(event)) != {"_attributes", "_data"} or event.get_data() != b"x":
            return False
        if event.get_attributes() is not event._attributes:
            return False
    return True


_TRUSTED_LAYOUT: Final[bool] = _layout_is_known()


def _build_lax(raw: RawEvent) -> tuple[AnyCloudEvent | None, list[Violation]]:
    """Build what the SDK accepts, dropping the attributes it refuses (lax mode)."""
    attributes: dict[str, Any] = {}
    for name, value in raw.attributes.items():
        if name == "time":
            if isinstance(value, str) and parse_time(value) is not None:
                attributes[name] = value
        elif name in CONTEXT_ATTRIBUTES:
            if isinstance(value, str) and value:
                attributes[name] = value
        elif name != "data" and EXTENSION_NAME.fullmatch(name):
            attributes[name] = value
    refused = [
        Violation(f"missing-{n}", n, f"even in lax mode an event needs a usable '{n}'")
        for n in REQUIRED
        if n not in attributes
    ]
    version = attributes.get("specversion")
    if version is not None and version not in SPECVERSIONS:
        refused.append(
            Violation(
                "specversion-unknown",
                "specversion",
                f"specversion {version!r} is unknown; even in lax mode send '1.0' or '0.3'",
            )
        )
    if refused:
        return None, refused
    return build_event(RawEvent(attributes, raw.data, raw.size)), []


# --------------------------------------------------------------------------- encoding


def event_attributes(event: AnyCloudEvent) -> dict[str, Any]:
    """A copy of the event's attributes with `time` in its RFC 3339 string form."""
    attributes = dict(event.get_attributes())
    time = attributes.get("time")
    if isinstance(time, datetime):
        attributes["time"] = format_time(time)
    return {k: v for k, v in attributes.items() if v is not None}


def format_time(value: datetime) -> str:
    """RFC 3339 form of a timezone-aware datetime (`Z` for UTC)."""
    if value.tzinfo is None:
        raise ValueError("time must be timezone-aware (e.g. datetime.now(timezone.utc))")
    text = value.isoformat()
    return text[:-6] + "Z" if value.utcoffset() == timezone.utc.utcoffset(None) else text


def _data_bytes(data: Any, content_type: str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and not is_json_media_type(content_type):
        return data.encode(_charset(content_type))
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def encode_binary(event: AnyCloudEvent) -> tuple[dict[str, str], bytes]:
    """Binary mode: attributes as percent-encoded `ce-` headers, data as the body.

    Fixes gaps of the SDK's `to_binary`: with no `datacontenttype` the body still gets a
    Content-Type (`application/json`, or `application/octet-stream` for bytes), booleans
    are written `true`/`false`, and non-dict JSON data is written as JSON, not repr.
    """
    message = to_binary(event, JSONFormat())
    headers = dict(message.headers)
    attributes = event.get_attributes()
    for name, value in attributes.items():
        if isinstance(value, bool):
            headers[f"{CE_PREFIX}{name}"] = "true" if value else "false"
    data = event.get_data()
    content_type = attributes.get("datacontenttype")
    if content_type is None and data is not None:
        binary = isinstance(data, (bytes, bytearray))
        headers["content-type"] = "application/octet-stream" if binary else "application/json"
    return headers, _data_bytes(data, content_type)


def event_to_json(event: AnyCloudEvent) -> dict[str, Any]:
    """The event as a JSON-format object (the JSON format, section 3)."""
    document = event_attributes(event)
    data = event.get_data()
    if isinstance(data, (bytes, bytearray)):
        if document.get("specversion") == "0.3":
            document["datacontentencoding"] = "base64"
            document["data"] = base64.b64encode(data).decode("ascii")
        else:
            document["data_base64"] = base64.b64encode(data).decode("ascii")
    elif data is not None:
        document["data"] = data
    return document


def encode_structured(event: AnyCloudEvent) -> tuple[dict[str, str], bytes]:
    """Structured mode: the whole event as `application/cloudevents+json`."""
    body = json.dumps(event_to_json(event), separators=(",", ":")).encode("utf-8")
    return {"content-type": f"{STRUCTURED_JSON}; charset=utf-8"}, body


def encode_batch(events: Iterable[AnyCloudEvent]) -> tuple[dict[str, str], bytes]:
    """Batched mode: a JSON array of events as `application/cloudevents-batch+json`."""
    body = json.dumps([event_to_json(e) for e in events], separators=(",", ":")).encode("utf-8")
    return {"content-type": f"{BATCH_JSON}; charset=utf-8"}, body


def encode(event: AnyCloudEvent, mode: str) -> tuple[dict[str, str], bytes]:
    """Encode one event in `mode` ("binary" or "structured")."""
    if mode == "binary":
        return encode_binary(event)
    if mode == "structured":
        return encode_structured(event)
    raise ValueError(f"mode must be 'binary' or 'structured', not {mode!r}")
