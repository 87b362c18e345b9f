"""What a host and the delivery app exchange: the `Request` a host hands in, the `Hold`s a
delivery may ask for and how they end, and the `Answer` the host writes back."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final, Literal

from pytest_cloudevents.tls import TLSInfo
from pytest_cloudevents.wire import Headers
from pytest_cloudevents.wire.message import Answer

__all__ = [
    "ALLOW",
    "BODY_METHODS",
    "CUT",
    "ELAPSED",
    "GONE",
    "Answer",
    "Hold",
    "HoldEnd",
    "Request",
]

#: Methods that always carry a message (an empty binary-mode body is a valid event).
BODY_METHODS: Final[tuple[str, ...]] = ("POST", "PUT", "PATCH")
ALLOW: Final[str] = "POST, PUT, PATCH, OPTIONS, HEAD"

HoldEnd = Literal["elapsed", "cut", "gone"]
ELAPSED: Final[HoldEnd] = "elapsed"
CUT: Final[HoldEnd] = "cut"  # reset() or stop(): the delivery is never recorded
GONE: Final[HoldEnd] = "gone"  # the client closed the connection (or timed out)


@dataclass(slots=True)
class Request:
    """What a host hands the app: one HTTP request with its whole body.

    `too_large` says the body was longer than the receiver's `max_body` (the host read
    no more than that, and `body` is empty); `declared_length` is the Content-Length, when
    one was sent. `malformed` describes broken HTTP framing (the message could not be read),
    `head_too_large` that the reason was a head over the server's bound; `incomplete`
    says the client went away before the body ended. Build one with `from_http`, which
    applies the body bound the same way for every host, upper-cases the method and gives an
    empty path as `/` (the app relies on both).
    """

    method: str
    path: str
    headers: Headers
    body: bytes = b""
    query: str = ""
    remote_addr: str | None = None
    too_large: bool = False
    declared_length: int | None = None
    malformed: str | None = None
    head_too_large: bool = False
    incomplete: bool = False
    tls: TLSInfo | None = None

    @classmethod
    def from_http(
        cls,
        method: str,
        path: str,
        headers: Headers,
        body: bytes,
        *,
        max_body: int,
        received: int | None = None,
        declared_length: int | None = None,
        query: str = "",
        remote_addr: str | None = None,
        malformed: str | None = None,
        head_too_large: bool = False,
        incomplete: bool = False,
        tls: TLSInfo | None = None,
    ) -> Request:
        """The request, with the body bound applied once: a body (`received` bytes of it
        arrived, `len(body)` when not given) or a declared length over `max_body` is
        `too_large`, and its bytes are dropped."""
        size = len(body) if received is None else received
        too_large = size > max_body or (declared_length is not None and declared_length > max_body)
        return cls(
            method=method.upper(),
            path=path or "/",
            headers=headers,
            body=b"" if too_large else body,
            query=query,
            remote_addr=remote_addr,
            too_large=too_large,
            declared_length=declared_length,
            malformed=malformed,
            head_too_large=head_too_large,
            incomplete=incomplete,
            tls=tls,
        )

    @property
    def carries_message(self) -> bool:
        """Whether this request carries a message (and so is a delivery)."""
        return bool(
            self.method in BODY_METHODS
            or self.body
            or self.too_large
            or self.declared_length
            or self.malformed
            or self.incomplete
        )


@dataclass(frozen=True)
class Hold:
    """A request to the host: hold the delivery `seconds`, unless `cancel` is set first."""

    seconds: float
    cancel: threading.Event
