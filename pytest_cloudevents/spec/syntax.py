"""The syntaxes the CloudEvents types borrow from RFCs: RFC 3339 timestamps (Timestamp)
and RFC 3986 URI references (URI, URI-reference)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Final

__all__ = [
    "NONCHARACTERS",
    "is_absolute_uri",
    "is_media_type",
    "is_uri_reference",
    "parse_time",
    "parse_traceparent",
    "whole_number",
]

#: RFC 7230 `token` characters, the alphabet of media type names and parameter names.
_TOKEN: Final[str] = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_STRING: Final[str] = r'"(?:[^"\\\r\n]|\\.)*"'
# RFC 2046 (with RFC 2045 5.1 and RFC 7231 3.1.1.1): type "/" subtype *( ";" name "=" value )
_MEDIA_TYPE: Final[re.Pattern[str]] = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED_STRING}))*[ \t]*"
)
#: The 66 Unicode noncharacters: U+FDD0..U+FDEF, and the last two code points of every plane.
NONCHARACTERS: Final[str] = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)


def is_media_type(value: str) -> bool:
    """True when `value` is an RFC 2046 media type such as `application/json;
    charset=utf-8` (a type, a subtype, and well-formed parameters)."""
    return _MEDIA_TYPE.fullmatch(value) is not None


_TIME: Final[re.Pattern[str]] = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))"
)
_SCHEME: Final[re.Pattern[str]] = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
# RFC 3986 characters: unreserved, sub-delims, gen-delims; '%' only as a valid escape.
_URI_CHARS: Final[re.Pattern[str]] = re.compile(
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*"
)


def parse_time(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp strictly; None when `value` is not one.

    A leap second (`:60`) is valid RFC 3339; it is returned as the last microsecond of
    the minute because `datetime` cannot hold it.
    """
    global _last_time
    last = _last_time
    if last[0] == value:  # a delivery checks its time, then its event is built from it
        return last[1]
    parsed = _parse_time(value)
    _last_time = (value, parsed)
    return parsed


#: The last value `parse_time` parsed, and what it gave (one entry; datetimes are immutable).
_last_time: tuple[str | None, datetime | None] = (None, None)


def _parse_time(value: str) -> datetime | None:
    m = _TIME.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction = m.group(7)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if m.group(8) in ("Z", "z"):
        tz = timezone.utc
    else:
        off_h, off_m = int(m.group(10)), int(m.group(11))
        if off_h > 23 or off_m > 59:
            return None
        sign = -1 if m.group(9) == "-" else 1
        tz = timezone(sign * timedelta(hours=off_h, minutes=off_m))
    leap = second == 60
    try:
        return datetime(
            year,
            month,
            day,
            hour,
            minute,
            59 if leap else second,
            999999 if leap else micro,
            tzinfo=tz,
        )
    except ValueError:
        return None


def is_uri_reference(value: str) -> bool:
    """True when `value` is an RFC 3986 URI-reference (absolute or relative)."""
    if _URI_CHARS.fullmatch(value) is None or value.count("#") > 1:
        return False
    head = re.split(r"[/?#]", value, maxsplit=1)[0]
    if ":" in head:  # a scheme, or a relative reference whose first segment has a colon
        scheme = head.split(":", 1)[0]
        if _SCHEME.fullmatch(scheme) is None:
            return False
    rest = value.split("#", 1)[0].split("?", 1)[0]
    # '[' and ']' are only allowed around an IP literal in the authority.
    after_authority = rest
    if "//" in rest:
        after_authority = rest.split("//", 1)[1].partition("/")[2]
    return "[" not in after_authority and "]" not in after_authority


def is_absolute_uri(value: str) -> bool:
    """True when `value` is an absolute URI: a scheme, then a valid URI-reference."""
    scheme, sep, _ = value.partition(":")
    return bool(sep) and _SCHEME.fullmatch(scheme) is not None and is_uri_reference(value)


_TRACEPARENT: Final[re.Pattern[str]] = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?"
)


def parse_traceparent(value: object) -> tuple[str, str] | None:
    """(trace id, parent id) of a valid W3C Trace Context `traceparent` value, else None
    (version ff, extra fields on version 00, and all-zero ids are invalid)."""
    if not isinstance(value, str):
        return None
    found = _TRACEPARENT.fullmatch(value.strip())
    if found is None:
        return None
    version, trace, parent, _, rest = found.groups()
    if version == "ff" or (version == "00" and rest) or set(trace) == {"0"} or set(parent) == {"0"}:
        return None
    return trace, parent


def whole_number(value: object) -> int | None:
    """An attribute value as an integer: an int, or the decimal string binary mode carries
    it as (`"30"`, `"-1"`); None for anything else (a boolean included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    return None
