"""`Client` sends CloudEvents over real HTTP and returns a `Result`: ACK, NACK or
UNDELIVERED, with the reply event when the response carries one."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.util import Retry

from .conformance import Level, Violation, check_attributes
from .events import CloudEvent, EventLike, attributes_of, coerce
from .faults import check_headers
from .options import check_bool, check_mode, check_seconds
from .retry import CountingAdapter, counting, retry_of
from .wire import decode, encode, encode_batch, mode_of

__all__ = ["Client", "Outcome", "Result", "ValidationError"]


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


def _check_url(url: object) -> str:
    if not isinstance(url, str):
        raise TypeError(f"the target must be an http:// or https:// URL string, not {url!r}")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the target must be an http:// or https:// URL, not {url!r}")
    return url


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


class Client:
    """A real CloudEvents sender over `requests`, for testing consumers.

    `target` is the default URL (or give `to=` per send); `mode` is "binary" or
    "structured"; `timeout` is the connect and read timeout in seconds; `retry` a urllib3
    `Retry`, a number of retries (Knative's status set) or None; `headers` are sent with
    every message; `session` a `requests.Session` to use instead of the client's own;
    `validate=False` sends events that break the spec (otherwise they are UNDELIVERED
    and nothing is sent). Redirects are never followed.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        mode: str = "binary",
        timeout: float = 5.0,
        retry: Retry | int | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        validate: bool = True,
    ) -> None:
        check_mode(mode)
        check_seconds("timeout", timeout, positive=True, maximum=3600.0)
        check_bool("validate", validate)
        if target is not None:
            _check_url(target)
        if session is not None and not isinstance(session, requests.Session):
            raise TypeError(f"session must be a requests.Session (or None), not {session!r}")
        if headers is not None and not isinstance(headers, Mapping):
            raise TypeError(f"headers must be a dict of header names to values, not {headers!r}")
        self.target = target
        self.mode = mode
        self.timeout = float(timeout)
        self.headers = dict(check_headers(headers))
        self.validate = validate
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            # the client sends exactly what the test says: no ~/.netrc credentials, no
            # proxy from the environment (a session the user gives is used as given)
            session.trust_env = False
        self.session = session
        if self._own_session or retry is not None:
            adapter = CountingAdapter(max_retries=counting(retry_of(retry)))
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

    # -- sending -------------------------------------------------------------------------

    def send(
        self,
        event: EventLike,
        *,
        to: str | None = None,
        mode: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Result:
        """Send one event; returns ACK, NACK or UNDELIVERED with the reply, if any."""
        chosen = mode or self.mode
        check_mode(chosen)
        url = self._url(to)
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
            return self._unsendable(
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
            return self._unsendable(url, exc)
        return self._post(url, {**message_headers, **(headers or {})}, body, "POST")

    def request(
        self,
        event: EventLike,
        *,
        to: str | None = None,
        mode: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[CloudEvent | None, Result]:
        """Send one event and return `(reply, result)`; reply is None without one."""
        result = self.send(event, to=to, mode=mode, headers=headers)
        return result.reply, result

    def send_batch(self, events: Iterable[EventLike], *, to: str | None = None) -> Result:
        """Send events in one `application/cloudevents-batch+json` message."""
        url = self._url(to)
        core = [coerce(e, "send_batch") for e in events]
        refused = self._refuse(core, url)
        if refused is not None:
            return refused
        try:
            message_headers, body = encode_batch(core)
        except ValueError as exc:
            return self._unsendable(url, exc)
        return self._post(url, message_headers, body, "POST")

    @staticmethod
    def _unsendable(url: str, exc: ValueError) -> Result:
        error = ValueError(f"the event cannot be sent, nothing was sent: {exc}")
        return Result(Outcome.UNDELIVERED, redact(url), error=error, attempts=0)

    def send_raw(
        self,
        headers: Mapping[str, str],
        body: bytes | str,
        *,
        to: str | None = None,
        method: str = "POST",
    ) -> Result:
        """Send a message exactly as given (for malformed-message tests); no checks."""
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return self._post(self._url(to), dict(headers), data, method)

    def close(self) -> None:
        """Close the client's own session (a session given to it is left open)."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------

    def _url(self, to: str | None) -> str:
        url = to or self.target
        if not url:
            raise ValueError("no target URL: pass to=... or create Client(target=...)")
        return _check_url(url)

    def _refuse(self, events: list[EventLike], url: str) -> Result | None:
        if not self.validate:
            return None
        problems = [
            v for e in events for v in check_attributes(attributes_of(e)) if v.level is Level.MUST
        ]
        if not problems:
            return None
        return Result(Outcome.UNDELIVERED, redact(url), error=ValidationError(problems), attempts=0)

    def _post(self, url: str, headers: dict[str, str], body: bytes, method: str) -> Result:
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                headers={**self.headers, **headers},
                data=body,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise ValueError(f"cannot send to {url!r}: {exc}") from exc
        except requests.RequestException as exc:
            return Result(
                Outcome.UNDELIVERED,
                redact(url),
                error=exc,
                elapsed=time.monotonic() - started,
                attempts=self._attempts(url, None),
            )
        result = Result(
            Outcome.ACK if 200 <= response.status_code <= 299 else Outcome.NACK,
            redact(url),
            status_code=response.status_code,
            headers=response.headers,
            body=response.content,
            elapsed=time.monotonic() - started,
            attempts=self._attempts(url, response),
        )
        _read_reply(result)
        return result

    def _attempts(self, url: str, response: requests.Response | None) -> int:
        adapter = self.session.get_adapter(url)
        if isinstance(adapter, CountingAdapter):
            return adapter.attempts()
        retries = getattr(getattr(response, "raw", None), "retries", None)
        history = getattr(retries, "history", None)
        return 1 + len(history) if history else 1

    def __repr__(self) -> str:
        target = None if self.target is None else redact(self.target)
        return f"<Client target={target!r} mode={self.mode}>"


def _carries_event(headers: Mapping[str, str]) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    if mode_of(lowered.get("content-type")) != "binary":
        return True
    return "ce-specversion" in lowered


def _read_reply(result: Result) -> None:
    if not _carries_event(result.headers):
        return
    decoded = decode(dict(result.headers), result.body)
    if decoded.violations:
        result.reply_violations = decoded.violations
    elif len(decoded.events) == 1:
        result.reply = decoded.events[0]
