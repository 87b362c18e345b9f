"""What both clients share: the `Message` to send, and the one encoder (`Sender`) that
turns events into it (attributes read once, headers merged one way) or refuses them with
an UNDELIVERED `Result`.

`Client` (requests) and `AsyncClient` (httpx) differ only in how the bytes travel.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from pytest_cloudevents.config import default
from pytest_cloudevents.errors import ResponseTooLarge
from pytest_cloudevents.events import EventLike, attributes_of, coerce, data_of
from pytest_cloudevents.platforms import Dapr, Plan, resolve
from pytest_cloudevents.platforms.contract import Call, Response
from pytest_cloudevents.send.result import Result, ValidationError, redact, undelivered
from pytest_cloudevents.send.retryafter import retry_after_seconds
from pytest_cloudevents.send.transports import App, as_app
from pytest_cloudevents.spec.codes import Level
from pytest_cloudevents.spec.rules import check_attributes
from pytest_cloudevents.tls import check_verify
from pytest_cloudevents.validate import check_bool, check_mode, check_seconds, check_whole
from pytest_cloudevents.wire import decode, encode, encode_batch, is_json_media_type, mode_of
from pytest_cloudevents.wire.compression import CODINGS
from pytest_cloudevents.wire.compression import compress as compress_body
from pytest_cloudevents.wire.headers import Headers
from pytest_cloudevents.wire.jsontext import JSONTextError, parse
from pytest_cloudevents.wire.message import check_headers

__all__ = [
    "APP_BASE",
    "Message",
    "Sender",
    "check_compress",
    "platform_response",
    "too_large",
]


@dataclass(frozen=True)
class Message:
    """One HTTP request to send: where, how, what."""

    url: str
    app: App | None
    method: str
    #: what goes on the wire: the client's headers, then the message's, then the send's
    #: own, each replacing earlier values of the same name (`Headers.merged`)
    headers: Headers
    body: bytes


#: The host name in the URL of an in-process app (Starlette's TestClient uses it too).
APP_BASE = "http://testserver"


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
        compress: str | None = None,
        max_retry_after: float = default("max_retry_after"),
        max_response: int = default("max_response"),
    ) -> None:
        check_mode(mode)
        #: the most of a response body a client reads (decoded); the rest is not read
        self.max_response = check_whole("max_response (bytes)", max_response, minimum=0)
        #: the longest Retry-After waited for; a longer one ends the retries (the result is
        #: the last answer, with a `RetryAfterTooLong` as its error)
        self.max_retry_after = check_seconds("max_retry_after", max_retry_after)
        self.verify = check_verify(verify)
        self.compress = check_compress(compress)
        check_seconds("timeout", timeout, positive=True, maximum=3600.0)
        check_bool("validate", validate)
        if target is not None:
            _target(target)
        if headers is not None and not isinstance(headers, Mapping):
            raise TypeError(f"headers must be a dict of header names to values, not {headers!r}")
        self.target = target
        self.mode = mode
        self.timeout = float(timeout)
        self.headers = Headers(check_headers(headers))
        self.validate = validate

    def event_message(
        self,
        event: EventLike,
        to: str | object | None,
        mode: str | None,
        headers: Mapping[str, str] | None,
        path: str | None,
        compress: str | None = None,
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
        data = data_of(core)
        if (
            chosen == "binary"
            and isinstance(data, (bytes, bytearray))
            and isinstance(content_type, str)  # without one, bytes go as octet-stream
            and is_json_media_type(content_type)
            and not _is_json(bytes(data))
        ):
            # binary data labelled JSON (data_base64 in a structured event): in binary mode
            # the bytes become the body under that Content-Type, and a receiver rejects
            # them as invalid JSON though the structured event was valid
            return _unsendable(
                url,
                ValueError(
                    f"the event's data is bytes that are not JSON but its datacontenttype is"
                    f" {content_type!r}: in binary mode every receiver reads the body as JSON"
                    " and rejects it; send it with mode='structured' (as data_base64), or give"
                    " it a datacontenttype that says what the bytes are"
                ),
            )
        try:
            message_headers, body = encode(core, chosen)
        except ValueError as exc:  # data JSON cannot carry (NaN, Infinity)
            return _unsendable(url, exc)
        if headers is not None and not isinstance(headers, Mapping):
            raise TypeError(f"headers must be a dict of header names to values, not {headers!r}")
        overrides = check_headers(headers)
        sent = self.headers.merged(message_headers, overrides)
        if self.validate and any(_shapes_the_event(name) for name, _ in overrides):
            # the send's headers= replaced an attribute or the Content-Type: what goes on
            # the wire is checked as a receiver checks it (send_raw sends anything)
            decoded = decode(sent, body)
            if not decoded.ok:
                broken = "; ".join(str(v) for v in decoded.violations)
                return _unsendable(
                    url,
                    ValueError(
                        f"the headers= given to send make a message that breaks the spec"
                        f" ({broken}); set attributes on the event, or send a malformed"
                        " message on purpose with send_raw"
                    ),
                )
        return self._compressed(Message(url, app, "POST", sent, body), compress)

    def batch_message(
        self,
        events: Iterable[EventLike],
        to: str | object | None,
        path: str | None,
        compress: str | None = None,
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
        message = Message(url, app, "POST", self.headers.merged(message_headers), body)
        return self._compressed(message, compress)

    def _compressed(self, message: Message, coding: str | None) -> Message:
        """The message with its body compressed (`compress=` per send, else the client's)."""
        chosen = check_compress(coding) or self.compress
        if chosen is None:
            return message
        headers = message.headers.merged({"Content-Encoding": chosen})
        return replace(message, headers=headers, body=compress_body(message.body, chosen))

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
        if not isinstance(body, (str, bytes, bytearray, memoryview)):
            raise TypeError(
                f"send_raw takes the body as bytes or str, not {type(body).__name__} {body!r}"
            )
        if not isinstance(headers, Mapping):
            raise TypeError(f"headers must be a dict of header names to values, not {headers!r}")
        url, app = self._where(to, path)
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return Message(url, app, method.upper(), self.headers.merged(headers), data)

    def replay_messages(
        self,
        recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        to: str | object | None,
        mode: str | None,
        path: str | None,
    ) -> list[Message]:
        """The messages of recorded files (conformance YAML or JSON lines, files or
        folders), each as recorded (`mode` None) or in `mode`; RecordError (a ValueError)
        naming a file that cannot be read, before anything is sent."""
        from pytest_cloudevents.archive.files import read_records  # YAML only when used

        if mode is not None and mode not in ("binary", "structured"):
            raise ValueError(f"mode is None (as recorded), 'binary' or 'structured', not {mode!r}")
        messages = []
        for record in read_records(recordings):
            headers, body = record.message(mode)  # type: ignore[arg-type]
            messages.append(self.raw_message(headers, body, to, "POST", path))
        return messages

    def call_message(self, call: Call, to: str | object | None, path: str | None = None) -> Message:
        """The message of one platform call (`platforms`): to the call's own target (a
        dead-letter sink) or to `to`, at the call's path under the target's base (None:
        the target URL as given; an app's `path`, "/" by default)."""
        given = call.to if call.to is not None else (to if to is not None else self.target)
        if given is None or given == "":
            raise ValueError(
                "no target: pass to=... (a URL or an app) or create the client with one"
            )
        target = _target(given)
        if isinstance(target, str):
            url, app = target, None
            if call.path is not None:
                parts = urlsplit(target)
                url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + call.path, query=""))
        else:
            where = call.path or path or "/"
            if not where.startswith("/"):
                raise ValueError(f"path must start with '/', such as '/events', not {where!r}")
            url, app = APP_BASE + where, target
        headers = self.headers.merged(tuple(call.headers))
        return Message(url, app, call.method, headers, call.body)

    def plan_of(
        self, event: object, to: str | object | None, platform: object, topic: str | None
    ) -> tuple[Plan, str]:
        """The platform's delivery plan of `event` to `to`, and the target as shown."""
        chosen = resolve(platform)
        given = to if to is not None else self.target
        url, _ = self._where(to, None if isinstance(given, str) else "/")
        shown = redact(url) if isinstance(given, str) else repr(given)
        if isinstance(chosen, Dapr):
            return chosen.plan(event, shown, topic), shown  # type: ignore[arg-type]
        if topic is not None:
            raise TypeError(f"topic= is Dapr's; {chosen.name} delivers without one")
        if isinstance(event, (list, tuple)):
            raise TypeError(f"{chosen.name} delivers one event at a time; call deliver for each")
        return chosen.plan(coerce(event, "deliver"), shown), shown

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


def check_compress(coding: object) -> str | None:
    """`compress=` as given: None, "gzip" or "deflate"."""
    if coding is None or coding in CODINGS:
        return coding
    raise ValueError(f"compress takes 'gzip', 'deflate' or None, not {coding!r}")


def _shapes_the_event(name: str) -> bool:
    """Whether a header carries an attribute or chooses the content mode."""
    lowered = name.lower()
    return lowered.startswith("ce-") or lowered == "content-type"


def _is_json(body: bytes) -> bool:
    try:
        parse(body.decode("utf-8"))
    except (JSONTextError, UnicodeDecodeError):
        return False
    return True


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


def platform_response(
    status: int | None,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    error: BaseException | None,
    elapsed: float,
) -> Response:
    """What one platform call got, with the `Retry-After` it asked for read once."""
    given = Headers(list(headers))
    wait = retry_after_seconds(given.get("retry-after")) if status is not None else None
    return Response(status, given, body, error, elapsed, wait)


def too_large(limit: int) -> ResponseTooLarge:
    """The error of a response whose body was cut at `limit` bytes."""
    return ResponseTooLarge(
        f"the response body is longer than max_response={limit:,} bytes: only that much"
        " was read (raise max_response to read more)"
    )
