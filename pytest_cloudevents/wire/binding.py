"""The HTTP protocol binding: headers, media types, percent and quoted-string decoding,
and binary mode (attributes in `ce-` headers, data in the body)."""

from __future__ import annotations

import codecs
import json
import re
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from pytest_cloudevents.events import EventLike, attributes_of, data_of, format_time
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire.jsontext import JSONTextError, parse_body
from pytest_cloudevents.wire.raw import RawEvent, WireMode

__all__ = [
    "BATCH_JSON",
    "CE_PREFIX",
    "STRUCTURED_JSON",
    "charset_of",
    "data_bytes",
    "decode_binary",
    "encode_binary",
    "header_value",
    "is_json_media_type",
    "is_text_media_type",
    "media_type",
    "mode_of",
    "unescape_header_value",
]

CE_PREFIX: Final[str] = "ce-"
STRUCTURED_JSON: Final[str] = "application/cloudevents+json"
BATCH_JSON: Final[str] = "application/cloudevents-batch+json"
_PERCENT: Final[re.Pattern[str]] = re.compile(r"%(.{0,2})", re.DOTALL)
_HEX2: Final[re.Pattern[str]] = re.compile(r"[0-9A-Fa-f]{2}")
_PLAIN: Final[re.Pattern[str]] = re.compile(r"[!#-$&-~]*")  # printable ASCII but " and %
_QUOTED: Final[re.Pattern[str]] = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, lower-cased, without parameters."""
    if not content_type:
        return ""
    known = _MEDIA_TYPES.get(content_type)
    if known is None:
        known = content_type.split(";", 1)[0].strip().lower()
        if len(_MEDIA_TYPES) >= 256:  # bounded: a sender varying its values empties it
            _MEDIA_TYPES.clear()
        _MEDIA_TYPES[content_type] = known
    return known


#: Content-Type values seen and their media types (a receiver sees the same few again).
_MEDIA_TYPES: Final[dict[str, str]] = {}


def mode_of(content_type: str | None) -> WireMode:
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


def is_text_media_type(content_type: str | None) -> bool:
    """True for `text/*` and XML media types, whose data is a string."""
    mt = media_type(content_type)
    subtype = mt.partition("/")[2]
    return mt.startswith("text/") or subtype == "xml" or subtype.endswith("+xml")


#: Python's codecs that are no character set of the web: escapes, IDNA, punycode and the like
#: (`charset=unicode_escape` would interpret backslashes, and warns while it does).
_NOT_CHARSETS: Final[frozenset[str]] = frozenset(
    {
        "unicode_escape",
        "raw_unicode_escape",
        "escape_codec",
        "idna",
        "punycode",
        "palmos",
        "mbcs",
        "oem",
        "undefined",
    }
)


def decode_text(body: bytes, content_type: str | None) -> str:
    """`body` decoded with the charset its Content-Type names (UTF-8 when none), or
    ValueError when that is no character set, is unknown, or does not decode the body.
    Never raises anything else, warnings-as-errors included."""
    name = charset_of(content_type)
    if name in _UTF8:  # the common case: no lookup, and UTF-8 never warns
        return _utf8(body, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        raise ValueError(f"unknown charset {name!r}") from None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
        raise ValueError(f"{name!r} is not a character set")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return body.decode(info.name)
        except (UnicodeDecodeError, ValueError, LookupError) as exc:
            raise ValueError(f"the body does not decode as {name}: {exc}") from None


_UTF8: Final[frozenset[str]] = frozenset({"utf-8", "UTF-8", "utf8", "UTF8"})


def _utf8(body: bytes, name: str = "utf-8") -> str:
    """`decode_text` for UTF-8 (`name` as the Content-Type spells it)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body does not decode as {name}: {exc}") from None


def charset_of(content_type: str | None) -> str:
    """The `charset` parameter of a Content-Type value (UTF-8 when none is given)."""
    if not content_type or ";" not in content_type:
        return "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


# --------------------------------------------------------------------------- decoding


def decode_binary(
    headers: Mapping[str, str],
    body: bytes,
    max_body: int | None = None,
    *,
    assume_json: bool = True,
) -> tuple[list[RawEvent], list[Violation]]:
    """A binary-mode message (lower-cased header names) as one raw event; a body without a
    Content-Type is read as JSON when it parses (1.0.2), or kept as bytes (`assume_json`
    False: the 1.0.3 draft makes no assumption)."""
    content_type = headers.get("content-type")
    problems: list[Violation] = []
    attributes: dict[str, Any] = {}
    undecodable: set[str] = set()
    size = len(body)
    for name, value in headers.items():
        if not name.startswith(CE_PREFIX):
            continue
        attr = name[len(CE_PREFIX) :]
        size += len(name) + len(value)
        if _PLAIN.fullmatch(value) is not None and attr != "datacontenttype":
            attributes[attr] = value  # the common case: nothing to unescape
            continue
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
    data, problem = _body_data(body, content_type, max_body, assume_json)
    if problem is not None:
        problems.append(problem)
    return [
        RawEvent(attributes, data, size, frozenset(undecodable) if undecodable else _NONE)
    ], problems


_NONE: Final[frozenset[str]] = frozenset()


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


def _body_data(
    body: bytes, content_type: str | None, max_body: int | None, assume_json: bool = True
) -> tuple[Any, Violation | None]:
    """A binary-mode body as a Python value, by its media type."""
    if not body:
        return None, None
    if not content_type or not content_type.strip():
        if not assume_json:
            return body, None
        # the binding gives no type to such a body: JSON when it parses, else opaque bytes
        try:
            return parse_body(body, bytes.decode, max_body), None
        except (JSONTextError, UnicodeDecodeError):
            return body, None
    if is_json_media_type(content_type):
        if ";" in content_type:  # a charset may be named: decoded by it
            text_of: Callable[[bytes], str] = lambda b: decode_text(b, content_type)  # noqa: E731
        else:
            text_of = _utf8
        try:
            return parse_body(body, text_of, max_body), None
        except JSONTextError as exc:
            code = "body-too-large" if exc.too_large else "invalid-json"
            return body, Violation(
                code,
                None,
                f"the body is declared as JSON ({content_type or 'no Content-Type: JSON'}"
                f" implied) but is not acceptable JSON: {exc}",
            )
        except (ValueError, LookupError) as exc:  # the charset: unknown, or not decoding
            return body, Violation(
                "invalid-json",
                None,
                f"the body is declared as JSON ({content_type or 'no Content-Type: JSON'}"
                f" implied) but does not parse: {exc}",
            )
    if is_text_media_type(content_type):
        try:
            return decode_text(body, content_type), None
        except ValueError:  # an unknown or undecodable charset: kept as bytes
            return body, None
    return body, None


# --------------------------------------------------------------------------- encoding


def data_bytes(data: Any, content_type: str | None) -> bytes:
    """Data as a body: bytes as they are, text in its charset, anything else as JSON
    (ValueError for NaN or Infinity, which JSON cannot carry, and for text its charset
    cannot carry)."""
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and not is_json_media_type(content_type):
        name = charset_of(content_type)
        try:
            return data.encode(name)
        except (LookupError, UnicodeEncodeError) as exc:
            raise ValueError(f"the data cannot be sent as {name} text: {exc}") from None
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")


# Printable ASCII but space, '"' and '%' goes on the wire as it is (the HTTP binding,
# 3.1.3.2); `quote` percent-encodes everything else as UTF-8.
_HEADER_SAFE: Final[str] = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def header_value(value: Any) -> str:
    """An attribute value in its canonical string form, percent-encoded for a header."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = format_time(value)
    else:
        text = str(value)
    return quote(text, safe=_HEADER_SAFE)


def encode_binary(event: EventLike) -> tuple[dict[str, str], bytes]:
    """Binary mode: attributes as percent-encoded `ce-` headers, data as the body.

    Written by the plugin for both SDK generations, since neither SDK's `to_binary` does
    all of it (1.x does not percent-encode at all): booleans are `true`/`false`, and with
    no `datacontenttype` the body still gets a Content-Type (`application/json`, or
    `application/octet-stream` for bytes).
    """
    attributes = attributes_of(event)
    content_type = attributes.pop("datacontenttype", None)
    headers = {f"{CE_PREFIX}{name}": header_value(value) for name, value in attributes.items()}
    data = data_of(event)
    if content_type is not None:
        headers["content-type"] = str(content_type)
    elif data is not None:
        binary = isinstance(data, (bytes, bytearray))
        headers["content-type"] = "application/octet-stream" if binary else "application/json"
    return headers, data_bytes(data, content_type)
