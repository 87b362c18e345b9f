"""The CloudEvents 1.0.2 rules as checks: raw attributes in, a list of `Violation`s out.

Raw attributes are what a message carried before any SDK touched them: strings for a
binary-mode message, JSON values for a structured one. Nothing here fills in a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pytest_cloudevents.spec.codes import CODES, Level
from pytest_cloudevents.spec.extensions import EXTENSION_ATTRIBUTES, RELATIONAL, check_extensions
from pytest_cloudevents.spec.syntax import (
    NONCHARACTERS,
    is_absolute_uri,
    is_media_type,
    is_uri_reference,
    parse_time,
)

__all__ = [
    "SPECVERSIONS",
    "Violation",
    "check_attributes",
    "check_size",
    "parse_time",
]


#: The specversions the receiver accepts.
SPECVERSIONS: Final[frozenset[str]] = frozenset({"1.0", "0.3"})


@dataclass(frozen=True)
class Violation:
    """One broken rule of the CloudEvents specification.

    `code` is one of `MUST_CODES` or `SHOULD_CODES`; `attribute` names the attribute
    concerned (None for a message-level rule); `message` says what is wrong and what to
    send instead; `level` is MUST or SHOULD.
    """

    code: str
    attribute: str | None
    message: str
    level: Level = Level.MUST

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown violation code {self.code!r}")

    @property
    def breaks_envelope(self) -> bool:
        """True for a violation of the message's envelope (JSON, batch, base64, size,
        format), as opposed to one attribute's value."""
        return CODES[self.code].envelope

    def __str__(self) -> str:
        where = f" [{self.attribute}]" if self.attribute else ""
        return f"{self.code}{where}: {self.message}"


def _must(code: str, attribute: str | None, message: str) -> Violation:
    return Violation(code, attribute, message, Level.MUST)


def _should(code: str, attribute: str | None, message: str) -> Violation:
    return Violation(code, attribute, message, Level.SHOULD)


REQUIRED: Final[tuple[str, ...]] = ("id", "source", "type", "specversion")
_CONTEXT_V1: Final[frozenset[str]] = frozenset(
    {*REQUIRED, "datacontenttype", "dataschema", "subject", "time"}
)
_CONTEXT_V03: Final[frozenset[str]] = frozenset(
    {*REQUIRED, "datacontenttype", "datacontentencoding", "schemaurl", "subject", "time"}
)
#: Every context attribute of 1.0 and 0.3 (anything else is an extension).
CONTEXT_ATTRIBUTES: Final[frozenset[str]] = _CONTEXT_V1 | _CONTEXT_V03
_INT32_MIN: Final[int] = -(2**31)
_INT32_MAX: Final[int] = 2**31 - 1
#: What an extension name may be made of.
EXTENSION_NAME: Final[re.Pattern[str]] = re.compile(r"[a-z0-9]+")
_MAX_EXTENSION_NAME: Final[int] = 20
#: Over this size (in bytes) an event is one that intermediaries need not forward.
MAX_EVENT_SIZE: Final[int] = 64 * 1024

# String type: no C0/C1 control characters, no surrogates, no noncharacters.
_FORBIDDEN_CHAR: Final[re.Pattern[str]] = re.compile(
    f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{NONCHARACTERS}]"
)

# Reverse-DNS prefix: at least two dot-separated labels, e.g. "com.example".
_REVERSE_DNS: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:\..*)?")


def _check_string(name: str, value: str) -> list[Violation]:
    m = _FORBIDDEN_CHAR.search(value)
    if m is None:
        return []
    return [
        _must(
            "control-character",
            name,
            f"'{name}' contains the character U+{ord(m.group()):04X} at position {m.start()},"
            " which the CloudEvents String type forbids (control characters, surrogates,"
            " noncharacters); percent-encoding it does not make it allowed",
        )
    ]


def _check_context_string(name: str, value: Any, *, required: bool) -> list[Violation]:
    """Type, emptiness and character checks for a context attribute of type String."""
    if not isinstance(value, str):
        return [
            _must(
                "attribute-type",
                name,
                f"'{name}' must be a JSON string, got {type(value).__name__} {value!r}",
            )
        ]
    if value == "":
        which = "a required" if required else "an optional"
        return [
            _must(
                "empty-attribute",
                name,
                f"'{name}' is {which} attribute and must not be empty; "
                + ("send a non-empty value" if required else "omit it or send a value"),
            )
        ]
    return _check_string(name, value)


def _check_extension(name: str, value: Any) -> list[Violation]:
    out: list[Violation] = []
    if name == "data" or EXTENSION_NAME.fullmatch(name) is None:
        reason = (
            "'data' is reserved for the event payload"
            if name == "data"
            else "extension names may contain only lower-case ASCII letters and digits"
        )
        out.append(
            _must("extension-name-invalid", name, f"invalid attribute name {name!r}: {reason}")
        )
    elif len(name) > _MAX_EXTENSION_NAME:
        out.append(
            _should(
                "extension-name-too-long",
                name,
                f"attribute name {name!r} has {len(name)} characters; names should be"
                f" at most {_MAX_EXTENSION_NAME}",
            )
        )
    if isinstance(value, bool):
        return out
    if isinstance(value, int):
        if not _INT32_MIN <= value <= _INT32_MAX:
            out.append(
                _must(
                    "integer-out-of-range",
                    name,
                    f"'{name}' is {value}, outside the Integer range"
                    f" {_INT32_MIN}..{_INT32_MAX} (signed 32-bit)",
                )
            )
        return out
    if isinstance(value, str):
        return out + _check_string(name, value)
    out.append(
        _must(
            "attribute-type",
            name,
            f"'{name}' is a {_json_type(value)}; attribute values must be strings, booleans"
            " or integers (send a float as a string, and a structure as data)",
        )
    )
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, float):
        return "float"
    if isinstance(value, dict):
        return "JSON object"
    if isinstance(value, list):
        return "JSON array"
    return type(value).__name__


#: String values of 1.0 events' attributes that passed every check, by attribute name:
#: each rule reads one attribute and the specversion, so a value seen clean is clean again
#: (`check_attributes` checks a repeated source or type once). Bounded: emptied when full.
_CLEAN: Final[dict[str, set[str]]] = {}
_CLEAN_NAMES: Final[int] = 256
_CLEAN_VALUES: Final[int] = 1024
#: Attributes whose values rarely repeat: checked each time, never remembered.
_VARYING: Final[frozenset[str]] = frozenset({"id", "time"})
#: ... and those whose rule reads another attribute (`expirytime` against `time`): a value
#: clean beside one event's attributes is not clean beside another's.
_UNREMEMBERED: Final[frozenset[str]] = _VARYING | RELATIONAL
_REQUIRED_SET: Final[frozenset[str]] = frozenset(REQUIRED)


def check_attributes(attributes: Mapping[str, Any], *, extensions: str = "warn") -> list[Violation]:
    """Check one event's raw context attributes against the core specification and the
    documented extensions (`extensions`: "warn", their rules as SHOULD; "strict", their
    MUST rules as MUST).

    `attributes` must not contain `data` or `data_base64` members (the wire layer takes
    them out); a `None` value means the attribute is unset, as JSON `null` does.
    Returns MUST and SHOULD violations in attribute order.
    """
    if _seen_clean(attributes):
        return []
    found = _check_all(attributes, extensions == "strict")
    if not found and attributes.get("specversion") == "1.0":
        for name, value in attributes.items():
            if type(value) is str and name not in _UNREMEMBERED:
                values = _CLEAN.get(name)
                if values is None or len(values) >= _CLEAN_VALUES:
                    if len(_CLEAN) >= _CLEAN_NAMES:
                        _CLEAN.clear()
                    values = _CLEAN[name] = set()
                values.add(value)
    return found


def _seen_clean(attributes: Mapping[str, Any]) -> bool:
    """True when a 1.0 event's attributes are all strings already seen clean, but for an
    `id` and a `time` that pass their own checks here (the common delivery: its source,
    type and content type repeat, its id and time do not)."""
    if attributes.get("specversion") != "1.0" or not attributes.keys() >= _REQUIRED_SET:
        return False
    for name, value in attributes.items():
        if type(value) is not str:
            return False
        values = _CLEAN.get(name)
        if values is not None and value in values:
            continue
        if name == "id":
            if not value or _FORBIDDEN_CHAR.search(value) is not None:
                return False
        elif name == "time":
            if _FORBIDDEN_CHAR.search(value) is not None or parse_time(value) is None:
                return False
        else:
            return False
    return True


def _check_all(attributes: Mapping[str, Any], strict_extensions: bool = False) -> list[Violation]:
    attrs = {k: v for k, v in attributes.items() if v is not None}
    out: list[Violation] = []

    specversion = attrs.get("specversion")
    for name in REQUIRED:
        if name not in attrs:
            out.append(
                _must(f"missing-{name}", name, f"the required attribute '{name}' is missing")
            )
            continue
        out += _check_context_string(name, attrs[name], required=True)
    if isinstance(specversion, str) and specversion and specversion not in SPECVERSIONS:
        out.append(
            _must(
                "specversion-unknown",
                "specversion",
                f"specversion {specversion!r} is not one this receiver knows;"
                " send '1.0' (or '0.3')",
            )
        )
    known = _CONTEXT_V03 if specversion == "0.3" else _CONTEXT_V1

    source = attrs.get("source")
    if isinstance(source, str) and source and not is_uri_reference(source):
        out.append(
            _must(
                "source-not-uri-reference",
                "source",
                f"source {source!r} is not an RFC 3986 URI-reference (percent-encode spaces,"
                " quotes and non-ASCII characters, e.g. '/orders/a%20b')",
            )
        )
    type_ = attrs.get("type")
    if isinstance(type_, str) and type_ and _REVERSE_DNS.fullmatch(type_) is None:
        out.append(
            _should(
                "type-not-reverse-dns",
                "type",
                f"type {type_!r} should be prefixed with a reverse-DNS name,"
                " e.g. 'com.example.order.created'",
            )
        )

    for name in ("datacontenttype", "subject", "dataschema", "schemaurl", "time"):
        if name in attrs and name in known:
            out += _check_context_string(name, attrs[name], required=False)
    content_type = attrs.get("datacontenttype")
    if isinstance(content_type, str) and content_type and not is_media_type(content_type):
        # core spec 3.1.1 (datacontenttype): "MUST adhere to the format specified in RFC 2046"
        out.append(
            _must(
                "datacontenttype-not-media-type",
                "datacontenttype",
                f"datacontenttype {content_type!r} is not an RFC 2046 media type; send"
                " type/subtype with optional parameters, e.g. 'application/json; charset=utf-8'",
            )
        )
    for name in ("dataschema", "schemaurl"):
        value = attrs.get(name)
        if name in known and isinstance(value, str) and value and not is_absolute_uri(value):
            out.append(
                _must(
                    "dataschema-not-absolute-uri",
                    name,
                    f"{name} {value!r} must be an absolute URI with a scheme,"
                    " e.g. 'https://example.com/schemas/order.json'",
                )
            )
    time = attrs.get("time")
    if isinstance(time, str) and time and parse_time(time) is None:
        out.append(
            _must(
                "time-not-rfc3339",
                "time",
                f"time {time!r} is not an RFC 3339 timestamp; send e.g."
                " '2018-04-05T17:31:00Z' or '2018-04-05T19:31:00.123+02:00'",
            )
        )
    if "datacontentencoding" in attrs and "datacontentencoding" in known:  # 0.3 only
        found = _check_context_string(
            "datacontentencoding", attrs["datacontentencoding"], required=False
        )
        encoding = attrs["datacontentencoding"]
        if not found and encoding != "base64":
            # 0.3 JSON format 3.1: data is carried as a string "when the datacontentencoding
            # attribute is set to base64"; no other encoding can be carried
            found.append(
                _must(
                    "invalid-base64",
                    "datacontentencoding",
                    f"datacontentencoding {encoding!r} is not 'base64', the only encoding a"
                    " CloudEvents 0.3 event can declare for its data",
                )
            )
        out += found

    documented = False
    for name, value in attrs.items():
        if name not in known:
            out += _check_extension(name, value)
            documented = documented or name in EXTENSION_ATTRIBUTES
    if documented:
        out += [Violation(*broken) for broken in check_extensions(attrs, strict=strict_extensions)]
    return out


def check_size(size: int) -> list[Violation]:
    """The SHOULD rule on event size: over 64 KiB an intermediary need not forward it."""
    if size <= MAX_EVENT_SIZE:
        return []
    return [
        _should(
            "event-over-64kb",
            None,
            f"the event is {size} bytes; intermediaries are only required to forward"
            f" events of up to {MAX_EVENT_SIZE} bytes",
        )
    ]
