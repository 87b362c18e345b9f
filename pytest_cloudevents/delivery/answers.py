"""The answers the delivery app gives on its own: refusals of a message, of a producer
without credentials, errors of user code, the webhook handshake, and the acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pytest_cloudevents.delivery.exchange import ALLOW
from pytest_cloudevents.recording.delivery import DeliveryOutcome, Forwarded
from pytest_cloudevents.spec.codes import rejection_status
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire import Headers
from pytest_cloudevents.wire.message import Answer

__all__ = [
    "Settled",
    "acknowledgement",
    "error_answer",
    "handshake",
    "not_allowed",
    "rejection",
]

TEXT: Final[tuple[str, str]] = ("Content-Type", "text/plain; charset=utf-8")
_CHALLENGE: Final[str] = 'Bearer realm="pytest-cloudevents"'


@dataclass
class Settled:
    """How the app answered a delivery: its outcome in the log, the answer, the fault's
    name, the exception user code raised, and what a proxied consumer answered."""

    outcome: DeliveryOutcome
    answer: Answer
    fault: str | None = None
    error: BaseException | None = None
    forwarded: Forwarded | None = None


def acknowledgement(status: int) -> Settled:
    """The default answer to an accepted delivery."""
    return Settled("accepted", Answer(status))


def error_answer(exc: BaseException, who: str) -> Settled:
    """User code (or, never meant to happen, the plugin itself) raised: 500, recorded as
    `error` with the exception."""
    body = f"{who} raised {type(exc).__name__}: {exc}\n".encode("utf-8", "replace")
    return Settled("error", Answer(500, [TEXT], body), error=exc)


def rejection(violations: list[Violation]) -> Settled:
    """A refused message: 401 for a producer without credentials, 415 for a format or
    encoding the receiver does not read, 413 for a body over the limit, else 400; the body
    lists the violations by code."""
    codes = {v.code for v in violations}
    if rejection_status(codes) == 401:
        text = f"unauthorized: {violations[0].message}\n".encode()
        return Settled("rejected", Answer(401, [("WWW-Authenticate", _CHALLENGE), TEXT], text))
    status = rejection_status(codes)
    lines = [f"rejected: {len(violations)} violation(s) of the CloudEvents spec"]
    lines += [str(v) for v in violations]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return Settled("rejected", Answer(status, [TEXT], body))


def handshake(headers: Headers) -> Answer:
    """The CloudEvents webhook abuse-protection handshake (OPTIONS)."""
    out = [("Allow", ALLOW)]
    origin = headers.get("webhook-request-origin")
    if origin:
        out += [("WebHook-Allowed-Origin", origin), ("WebHook-Allowed-Rate", "*")]
    return Answer(200, out)


def not_allowed() -> Answer:
    """A method that carries no message."""
    return Answer(405, [("Allow", ALLOW), TEXT], b"method not allowed\n")
