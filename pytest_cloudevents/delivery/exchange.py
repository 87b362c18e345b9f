"""What a host and the delivery app exchange: the `Request` a host hands in, the `Hold`s a
delivery may ask for and how they end, and the `Answer` the host writes back; and the
answers the app builds for refusals and errors."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final, Literal

from pytest_cloudevents.recording.log import Delivery, DeliveryOutcome
from pytest_cloudevents.tls import TLSInfo
from pytest_cloudevents.wire import Headers

__all__ = [
    "ALLOW",
    "BODY_METHODS",
    "CUT",
    "ELAPSED",
    "GONE",
    "Answer",
    "Hold",
    "HoldEnd",
    "Outcome",
    "Request",
    "error_outcome",
    "handshake",
    "rejection",
]

#: Methods that always carry a message (an empty binary-mode body is a valid event).
BODY_METHODS: Final[tuple[str, ...]] = ("POST", "PUT", "PATCH")
ALLOW: Final[str] = "POST, PUT, PATCH, OPTIONS, HEAD"

HoldEnd = Literal["elapsed", "cut", "gone"]
ELAPSED: Final[HoldEnd] = "elapsed"
CUT: Final[HoldEnd] = "cut"  # reset() or stop(): the delivery is never recorded
GONE: Final[HoldEnd] = "gone"  # the client closed the connection (or timed out)


@dataclass
class Request:
    """What a host hands the app: one HTTP request with its whole body.

    `too_large` says the body was longer than the receiver's `max_body` (the host read
    no more than that); `declared_length` is the Content-Length, when one was sent.
    `malformed` describes broken HTTP framing (the message could not be read);
    `incomplete` says the client went away before the body ended.
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
    incomplete: bool = False
    tls: TLSInfo | None = None


@dataclass
class Answer:
    """What the host writes back; `status` None means: close the connection, no response."""

    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def reason(self) -> str:
        """The reason phrase of the status."""
        return _PHRASES.get(self.status or 0, "Unknown")

    def framed_headers(self) -> list[tuple[str, str]]:
        """The headers with a `Content-Length` for the body."""
        return [*self.headers, ("Content-Length", str(len(self.body)))]


@dataclass(frozen=True)
class Hold:
    """A request to the host: hold the delivery `seconds`, unless `cancel` is set first."""

    seconds: float
    cancel: threading.Event


_PHRASES: Final[dict[int, str]] = {s.value: s.phrase for s in HTTPStatus}
_CHALLENGE: Final[str] = 'Bearer realm="pytest-cloudevents"'


@dataclass
class Outcome:
    """How the app answered a delivery: its outcome, the answer, the fault's name."""

    outcome: DeliveryOutcome
    answer: Answer
    fault: str | None = None


def error_outcome(delivery: Delivery, exc: BaseException, who: str) -> Outcome:
    delivery.error = exc
    body = f"{who} raised {type(exc).__name__}: {exc}\n".encode("utf-8", "replace")
    return Outcome("error", Answer(500, [("Content-Type", "text/plain; charset=utf-8")], body))


def rejection(delivery: Delivery) -> Outcome:
    codes = set(delivery.codes)
    status = (
        415
        if codes & {"unsupported-format", "unsupported-encoding"}
        else 413
        if "body-too-large" in codes
        else 400
    )
    if "unauthorized" in codes:
        text = f"unauthorized: {delivery.violations[0].message}\n".encode()
        return Outcome("rejected", Answer(401, [("WWW-Authenticate", _CHALLENGE)], text))
    lines = [f"rejected: {len(delivery.violations)} violation(s) of the CloudEvents spec"]
    lines += [str(v) for v in delivery.violations]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    return Outcome("rejected", Answer(status, headers, body))


def handshake(headers: Headers) -> list[tuple[str, str]]:
    """The CloudEvents webhook abuse-protection handshake (OPTIONS)."""
    out = [("Allow", ALLOW)]
    origin = headers.get("webhook-request-origin")
    if origin:
        out += [("WebHook-Allowed-Origin", origin), ("WebHook-Allowed-Rate", "*")]
    return out
