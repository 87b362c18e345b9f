"""What both clients share: the `Result` of a send, the one encoder that turns events into
the message to send (or refuses them), and the one classifier that turns what came back
into ACK, NACK or UNDELIVERED with the reply event.

`Client` (requests) and `AsyncClient` (httpx) differ only in how the bytes travel.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

from requests.structures import CaseInsensitiveDict
from urllib3.util import Retry

from .conformance import Level, Violation, check_attributes
from .events import CloudEvent, EventLike, attributes_of, coerce
from .faults import check_headers
from .inprocess import App, Reply, as_app
from .options import check_bool, check_mode, check_seconds
from .retry import after_error, after_status
from .tls import trusted_bundle
from .wire import decode, encode, encode_batch, mode_of

__all__ = [
    "Message",
    "Outcome",
    "Result",
    "Sender",
    "Tries",
    "ValidationError",
    "classify",
    "redact",
    "undelivered",
]


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


@dataclass(frozen=True)
class Message:
    """One HTTP request to send: where, how, what."""

    url: str
    app: App | None
    method: str
    headers: dict[str, str]
    body: bytes


#: The host name in the URL of an in-process app (Starlette's TestClient uses it too).
APP_BASE = "http://testserver"


class Tries:
    """Counts the attempts of one send and decides, with the client's urllib3 `Retry`,
    whether to try again and how long to wait first (for the clients that drive the
    Retry by hand: `AsyncClient` and in-process apps)."""

    def __init__(self, retry: Retry, message: Message) -> None:
        self.retry = retry
        self.message = message
        self.count = 0

    def after_reply(self, reply: Reply) -> float | None:
        """Seconds to wait before retrying after this response, or None to stop."""
        retry_after = next((v for k, v in reply.headers if k.lower() == "retry-after"), None)
        step = after_status(
            self.retry, self.message.method, self.message.url, reply.status, retry_after
        )
        return self._take(step)

    def after_error(self, error: BaseException, *, connecting: bool) -> float | None:
        """Seconds to wait before retrying after this failure, or None to give up."""
        step = after_error(
            self.retry, self.message.method, self.message.url, error, connecting=connecting
        )
        return self._take(step)

    def _take(self, step: tuple[Retry, float] | None) -> float | None:
        if step is None:
            return None
        self.retry, wait = step
        return wait


class Sender:
    """The settings and the one encoder both clients share; subclasses move the bytes."""

    def __init__(
        self,
        target: str | object | None,
        *,
        mode: str,
        timeout: float,
        headers: Mapping[str, str] | None,
        validate: bool,
        verify: bool | str = True,
    ) -> None:
        check_mode(mode)
        self.verify = check_verify(verify)
        check_seconds("timeout", timeout, positive=True, maximum=3600.0)
        check_bool("validate", validate)
        if target is not None:
            _target(target)
        if headers is not None and not isinstance(headers, Mapping):
            raise TypeError(f"headers must be a dict of header names to values, not {headers!r}")
        self.target = target
        self.mode = mode
        self.timeout = float(timeout)
        self.headers = dict(check_headers(headers))
        self.validate = validate

    def event_message(
        self,
        event: EventLike,
        to: str | object | None,
        mode: str | None,
        headers: Mapping[str, str] | None,
        path: str | None,
    ) -> Message | Result:
        """The message for one event, or the UNDELIVERED result that refuses it."""
        chosen = mode or self.mode
        check_mode(chosen)
        url, app = self._where(to, path)
        core = coerce(event)
        refused = self._refuse([core], url)
        if refused is not None:
            return refused
        content_type = attributes_of(core).get("datacontenttype")
        if (
            chosen == "binary"
            and isinstance(content_type, str)
            and mode_of(content_type) != "binary"
        ):
            # HTTP binding 3.1.1: in binary mode datacontenttype becomes the Content-Type, and
            # an application/cloudevents... Content-Type makes a receiver read the message as
            # structured or batched: no receiver can read this event back
            return _unsendable(
                url,
                ValueError(
                    f"an event whose datacontenttype is {content_type!r} (a CloudEvents"
                    " format) cannot go in binary mode, where it becomes the Content-Type and"
                    " every receiver reads the body as structured or batched; send it with"
                    " mode='structured'"
                ),
            )
        try:
            message_headers, body = encode(core, chosen)
        except ValueError as exc:  # data JSON cannot carry (NaN, Infinity)
            return _unsendable(url, exc)
        sent = {**self.headers, **message_headers, **(headers or {})}
        return Message(url, app, "POST", sent, body)

    def batch_message(
        self, events: Iterable[EventLike], to: str | object | None, path: str | None
    ) -> Message | Result:
        """The `application/cloudevents-batch+json` message, or the result refusing it."""
        url, app = self._where(to, path)
        core = [coerce(e, "send_batch") for e in events]
        refused = self._refuse(core, url)
        if refused is not None:
            return refused
        try:
            message_headers, body = encode_batch(core)
        except ValueError as exc:
            return _unsendable(url, exc)
        return Message(url, app, "POST", {**self.headers, **message_headers}, body)

    def raw_message(
        self,
        headers: Mapping[str, str],
        body: bytes | str,
        to: str | object | None,
        method: str,
        path: str | None,
    ) -> Message:
        """A message exactly as given (for malformed-message tests); no checks."""
        if not isinstance(method, str) or not method.isalpha():
            raise ValueError(f"method must be an HTTP method name such as 'POST', not {method!r}")
        url, app = self._where(to, path)
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return Message(url, app, method.upper(), {**self.headers, **dict(headers)}, data)

    def _where(self, to: str | object | None, path: str | None) -> tuple[str, App | None]:
        given = to if to is not None else self.target
        if given is None or given == "":
            raise ValueError(
                "no target: pass to=... (a URL or an app) or create the client with one"
            )
        target = _target(given)
        if isinstance(target, str):
            if path is not None:
                raise ValueError(
                    f"path= is for in-process apps; for a URL put the path in it, not {path!r}"
                )
            return target, None
        if path is None:
            path = "/"
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path must start with '/', such as '/events', not {path!r}")
        return APP_BASE + path, target

    def _refuse(self, events: list[EventLike], url: str) -> Result | None:
        if not self.validate:
            return None
        problems = [
            v for e in events for v in check_attributes(attributes_of(e)) if v.level is Level.MUST
        ]
        if not problems:
            return None
        return undelivered(url, ValidationError(problems), attempts=0)

    def _shown_target(self) -> str | None:
        if self.target is None or isinstance(self.target, str):
            return None if self.target is None else redact(self.target)
        return repr(self.target)


def check_verify(verify: object) -> bool | str:
    """`verify=` as given: True, False or the path of a CA bundle (PEM) that exists."""
    if isinstance(verify, bool):
        return verify
    if isinstance(verify, str):
        if not os.path.isfile(verify):
            raise ValueError(
                f"verify takes True, False or the path of a CA bundle (PEM); {verify!r} is not"
                " a file (a TLS receiver's is receiver.ca_bundle)"
            )
        return verify
    raise TypeError(f"verify takes True, False or a CA bundle path, not {verify!r}")


def chosen_verify(verify: bool | str) -> bool | str:
    """What a client verifies against: with True, the public CAs plus the plugin's own
    throwaway CA once a TLS receiver made it (so plugin receivers are trusted)."""
    if verify is True:
        return trusted_bundle() or True
    return verify


def _target(target: object) -> str | App:
    if isinstance(target, str):
        if not target.startswith(("http://", "https://")):
            raise ValueError(f"the target must be an http:// or https:// URL, not {target!r}")
        return target
    app = as_app(target)
    if app is None:
        raise TypeError(
            "the target must be an http:// or https:// URL string or a WSGI/ASGI app"
            f" (Flask, FastAPI, ...), not {target!r}"
        )
    return app


def _unsendable(url: str, exc: ValueError) -> Result:
    error = ValueError(f"the event cannot be sent, nothing was sent: {exc}")
    return undelivered(url, error, attempts=0)
