"""`Answer`: an HTTP response as the plugin writes it, checked when it is built.

Every answer the plugin puts on the wire (a fault's, a reply's, a refusal's, the default
acknowledgement) is an `Answer`, and `check_answer` is the one check of what it may carry:
a final status (200-599), no body on 204 or 304, header names that are RFC 9110 tokens,
values that are one line of latin-1 text, and no framing header (the host frames the body).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

__all__ = ["Answer", "check_answer", "check_headers", "check_status", "reason_phrase"]

_PHRASES: Final[dict[int, str]] = {s.value: s.phrase for s in HTTPStatus}
_FRAMING: Final[tuple[str, ...]] = ("content-length", "transfer-encoding")
_TOKEN: Final[re.Pattern[str]] = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110
_NO_BODY: Final[tuple[int, ...]] = (204, 304)


def reason_phrase(status: int) -> str:
    """The standard reason phrase of `status` (`Accepted` for 202)."""
    return _PHRASES.get(status, "Unknown")


@dataclass
class Answer:
    """What a host writes back; `status` None means: close the connection, no response."""

    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def reason(self) -> str:
        """The reason phrase of the status."""
        return reason_phrase(self.status or 0)

    def framed_headers(self) -> list[tuple[str, str]]:
        """The headers with a `Content-Length` for the body (none on 204 and 304)."""
        if self.status in _NO_BODY:
            return list(self.headers)
        return [*self.headers, ("Content-Length", str(len(self.body)))]


def check_status(code: object, what: str = "status") -> int:
    """`code` when it is a final HTTP status (200-599); TypeError/ValueError otherwise."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"{what} must be an HTTP status code (a whole number), not {code!r}")
    if not 200 <= code <= 599:
        raise ValueError(
            f"{what} must be a final HTTP status from 200 to 599 (1xx are not final), not {code!r}"
        )
    return code


def check_headers(headers: object) -> tuple[tuple[str, str], ...]:
    """Headers an answer (or a send) may put on the wire: a mapping or pairs of strings,
    with RFC 9110 names, values of one line of latin-1 text, and no framing headers.
    Raises TypeError/ValueError saying what to pass."""
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
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"the value of header {name!r} is not latin-1 text, which HTTP/1.1 cannot"
                " carry; percent-encode it (as the binding does for ce- headers)"
            ) from None
        if name.lower() in _FRAMING:
            raise ValueError(
                f"{name} is set by the server from the body; leave it out of the headers"
            )
        out.append((name, value))
    return tuple(out)


def check_answer(status: object, headers: object = None, body: bytes = b"") -> Answer:
    """The one check of an answer before it can reach the wire (see the module doc)."""
    code = check_status(status)
    if body and code in _NO_BODY:
        raise ValueError(
            f"a {code} response has no body; use another status (200 carries one) or no body"
        )
    return Answer(code, list(check_headers(headers)), body)
