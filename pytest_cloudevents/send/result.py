"""The `Result` of a send and the one classifier both clients share: a response becomes
ACK (2xx) or NACK, with the reply event when it carries one; no response is UNDELIVERED."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import final
from urllib.parse import urlsplit, urlunsplit

from requests.structures import CaseInsensitiveDict

from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire import decode, mode_of

__all__ = ["Outcome", "Result", "ValidationError", "classify", "redact", "undelivered"]


class Outcome(str, Enum):
    """What became of a send: ACK (2xx), NACK (any other status), UNDELIVERED (none)."""

    ACK = "ACK"
    NACK = "NACK"
    UNDELIVERED = "UNDELIVERED"


class ValidationError(ValueError):
    """The client's own check refused an event; nothing was sent."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


@final
@dataclass
class Result:
    """The result of one send, retries included.

    `attempts` counts the HTTP requests actually sent (0 when validation stopped the
    send). `reply` is the CloudEvent the response carried, if any and valid;
    `reply_violations` lists what was wrong with it otherwise.
    """

    outcome: Outcome
    url: str
    status_code: int | None = None
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)
    body: bytes = b""
    reply: CloudEvent | None = None
    reply_violations: list[Violation] = field(default_factory=list)
    error: BaseException | None = None
    elapsed: float = 0.0
    attempts: int = 0

    @property
    def status(self) -> int | None:
        """The HTTP status of the last response (None when undelivered); `status_code` is
        the same, by its 0.2 name."""
        return self.status_code

    @property
    def is_ack(self) -> bool:
        """True for a 2xx response."""
        return self.outcome is Outcome.ACK

    @property
    def is_nack(self) -> bool:
        """True for a response with any other status."""
        return self.outcome is Outcome.NACK

    @property
    def is_undelivered(self) -> bool:
        """True when no response came back (or nothing was sent)."""
        return self.outcome is Outcome.UNDELIVERED

    def describe(self) -> str:
        """Outcome, status, URL, attempts, error and the start of the body, one a line."""
        lines = [
            f"outcome: {self.outcome.value}",
            f"status: {self.status_code if self.status_code is not None else '(no response)'}",
            f"url: {self.url}",
            f"attempts: {self.attempts}",
        ]
        if self.error is not None:
            lines.append(f"error: {type(self.error).__name__}: {self.error}")
        if self.body:
            head = self.body[:200].decode("utf-8", errors="replace")
            more = " ..." if len(self.body) > 200 else ""
            lines.append(f"body: {head!r}{more}")
        if self.reply_violations:
            lines.append("reply violations: " + "; ".join(str(v) for v in self.reply_violations))
        return "\n".join(lines)


def redact(url: str) -> str:
    """The URL without the credentials of a `user:pass@` part, for anything shown."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def undelivered(url: str, error: BaseException, *, elapsed: float = 0.0, attempts: int) -> Result:
    """The result of a send that got no response."""
    return Result(Outcome.UNDELIVERED, redact(url), error=error, elapsed=elapsed, attempts=attempts)


def classify(
    url: str,
    status: int,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    elapsed: float,
    attempts: int,
) -> Result:
    """ACK for 2xx, NACK otherwise, with the reply event read from the response.
    Repeated headers (given as pairs) are joined with commas."""
    if isinstance(headers, Mapping):
        merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers)
    else:
        merged = CaseInsensitiveDict()
        for name, value in headers:
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
    result = Result(
        Outcome.ACK if 200 <= status <= 299 else Outcome.NACK,
        redact(url),
        status_code=status,
        headers=merged,
        body=body,
        elapsed=elapsed,
        attempts=attempts,
    )
    if _carries_event(result.headers):
        decoded = decode(dict(result.headers), body)
        if decoded.violations:
            result.reply_violations = decoded.violations
        elif len(decoded.events) == 1:
            result.reply = decoded.events[0]
    return result


def _carries_event(headers: Mapping[str, str]) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    if mode_of(lowered.get("content-type")) != "binary":
        return True
    return "ce-specversion" in lowered
