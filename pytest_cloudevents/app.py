"""The one delivery application: decode, check, record, fault, handle, answer.

It knows no host. A host (the server, each mock) turns what arrived into a `Request`,
runs `DeliveryApp.deliver(request)` and writes the `Answer`. The delivery is a generator:
where a `delay` holds it, it yields a `Hold`, and the host sends back how the hold ended
(`ELAPSED`, `CUT` by reset/stop, or `GONE`: the client went away). `run` drives it for a
host that may block a thread; an asyncio host awaits the holds instead.

Dispatch runs one way: fault rules -> handler -> default answer. A fault returned by a
handler is applied, never re-dispatched (a handler's `delay` holds, then acknowledges).
User code (`when=` predicates, handlers) runs outside every lock of the plugin, and
whatever it raises (`BaseException` included) makes the delivery an `error` (500).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Final, Literal

from .conformance import Violation
from .contracts import Contracts
from .events import CloudEvent, EventLike, is_event
from .faults import (
    Delay,
    Disconnect,
    Fault,
    Flaky,
    Reply,
    RuleList,
    Status,
    Throttle,
    encode_reply,
)
from .options import Options
from .recording import Delivery, DeliveryLog, DeliveryOutcome
from .tls import TLSInfo
from .wire import HeaderMap, decode

__all__ = [
    "ALLOW",
    "BODY_METHODS",
    "CUT",
    "ELAPSED",
    "GONE",
    "Answer",
    "DeliveryApp",
    "Handler",
    "Hold",
    "HoldEnd",
    "Request",
]

#: Methods that always carry a message (an empty binary-mode body is a valid event).
BODY_METHODS: Final[tuple[str, ...]] = ("POST", "PUT", "PATCH")
ALLOW: Final[str] = "POST, PUT, PATCH, OPTIONS, HEAD"

#: A handler: called once per accepted event; None acknowledges, a CloudEvent replies,
#: a fault answers with that fault.
Handler = Callable[[CloudEvent], "EventLike | Fault | None"]
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
    headers: HeaderMap
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


Delivering = Generator[Hold, HoldEnd, Answer]
_Step = Generator[Hold, HoldEnd, "_Outcome | None"]
_PHRASES: Final[dict[int, str]] = {s.value: s.phrase for s in HTTPStatus}
_CHALLENGE: Final[str] = 'Bearer realm="pytest-cloudevents"'
#: Who may deliver: called with the request's headers (case-insensitive), True admits.
Auth = Callable[[Mapping[str, str]], bool]


@dataclass
class _Outcome:
    outcome: DeliveryOutcome
    answer: Answer
    fault: str | None = None


class DeliveryApp:
    """Every delivery is decoded, checked, recorded, faulted and answered here, for the
    real server, each mock and the standalone server alike. It owns what a delivery
    needs: the options, the log, the fault rules and the handler; a `Sink` reads them."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.log = DeliveryLog()
        self.rules = RuleList()
        self.handler: Handler | None = None
        #: who may deliver (`Receiver(auth=...)`); None admits everyone
        self.auth: Auth | None = None
        #: JSON Schemas the events' data must meet (`Receiver(schemas=...)`)
        self.contracts: Contracts | None = None

    def _refusal(self, headers: HeaderMap, delivery: Delivery) -> _Outcome | None:
        """The auth check, before anything else: None admits; a refusal is
        `unauthorized` (401); what a callable check raises is an `error`, as any user
        code's."""
        assert self.auth is not None
        try:
            admitted = bool(self.auth(headers))
        except BaseException as exc:  # a user's auth callable: anything it raises
            return _error(delivery, exc, "the auth= check")
        if admitted:
            return None
        delivery.violations = [
            Violation(
                "unauthorized",
                None,
                "the request lacks the credentials this receiver requires (send"
                " Authorization: Bearer <token>)",
            )
        ]
        return _rejection(delivery)

    def deliver(self, request: Request) -> Delivering:
        """The delivery of one request, as a generator of `Hold`s returning the `Answer`."""
        method = request.method.upper()
        if method == "HEAD":
            return Answer(200)
        if method == "OPTIONS":
            return Answer(200, _handshake(request.headers))
        carries = (
            request.body
            or request.too_large
            or request.declared_length
            or request.malformed
            or request.incomplete
        )
        if method not in BODY_METHODS and not carries:
            return Answer(405, [("Allow", ALLOW)], b"method not allowed\n")

        arrival = self.log.begin()
        delivery = Delivery(
            seq=arrival.seq,
            received_at=arrival.at,
            timestamp=datetime.now(timezone.utc),
            method=method,
            path=request.path or "/",
            query=request.query,
            headers=request.headers,
            body=b"" if request.too_large else request.body,
            remote_addr=request.remote_addr,
            tls=request.tls,
        )
        limit = self.options.max_body
        if request.incomplete:
            return self._settle(delivery, arrival.generation, _Outcome("abandoned", Answer(None)))
        if request.malformed is not None:
            delivery.violations = [
                Violation(
                    "malformed-http",
                    None,
                    f"the HTTP/1.1 message is malformed ({request.malformed}); send a valid"
                    " Content-Length or chunked body",
                )
            ]
            return self._settle(delivery, arrival.generation, _rejection(delivery))
        refused = None if self.auth is None else self._refusal(request.headers, delivery)
        if refused is not None:
            return self._settle(delivery, arrival.generation, refused)
        if request.too_large:
            size = request.declared_length or f"over {limit}"
            delivery.violations = [
                Violation(
                    "body-too-large",
                    None,
                    f"the body is {size} bytes; this receiver accepts at most {limit}"
                    " (raise max_body / cloudevents_max_body)",
                )
            ]
            return self._settle(delivery, arrival.generation, _rejection(delivery))
        decoded = decode(request.headers, request.body, strict=self.options.strict, max_body=limit)
        delivery.mode = decoded.mode
        delivery.warnings = decoded.warnings
        if not decoded.ok:
            delivery.violations = decoded.violations
            return self._settle(delivery, arrival.generation, _rejection(delivery))
        delivery.events = decoded.events
        if self.contracts is not None:
            broken = self.contracts.violations(delivery.events)
            if broken:
                delivery.violations, delivery.events = broken, []
                return self._settle(delivery, arrival.generation, _rejection(delivery))
        self.log.add(delivery, arrival.generation)
        result = yield from self._dispatch(delivery, arrival.cancelled)
        if result is None:  # cut short by reset() or stop(): never recorded
            return Answer(None)
        return self._settle(delivery, arrival.generation, result)

    def run(self, request: Request, hold: Callable[[Hold], HoldEnd]) -> Answer:
        """Drive `deliver` to its answer, blocking in `hold` wherever a delay holds it."""
        steps = self.deliver(request)
        try:
            step = next(steps)
            while True:
                step = steps.send(hold(step))
        except StopIteration as done:
            answer: Answer = done.value
            return answer

    async def run_async(
        self, request: Request, hold: Callable[[Hold], Awaitable[HoldEnd]]
    ) -> Answer:
        """Drive `deliver` to its answer, awaiting `hold` wherever a delay holds it."""
        steps = self.deliver(request)
        try:
            step = next(steps)
            while True:
                step = steps.send(await hold(step))
        except StopIteration as done:
            answer: Answer = done.value
            return answer

    # -- dispatch: rules -> handler -> default ---------------------------------------------

    def _dispatch(self, delivery: Delivery, cancel: threading.Event) -> _Step:
        try:
            fault = self.rules.pick(delivery)
        except BaseException as exc:  # a user's when= predicate: anything it raises
            return _error(delivery, exc, "a when= predicate")
        if fault is not None:
            return (yield from self._apply(fault, delivery, cancel, self._handle))
        return (yield from self._handle(delivery, cancel))

    def _apply(
        self,
        fault: Fault,
        delivery: Delivery,
        cancel: threading.Event,
        after: Callable[[Delivery, threading.Event], _Step],
        name: str | None = None,
    ) -> _Step:
        """Carry out `fault`; after a `delay` without `then`, continue with `after`."""
        name = name or fault.name
        if isinstance(fault, Delay):
            end = yield Hold(fault.seconds, cancel)
            if end == CUT:
                return None
            if end == GONE:
                return _Outcome("abandoned", Answer(None), name)
            if fault.then is not None:
                return (yield from self._apply(fault.then, delivery, cancel, after, name))
            result = yield from after(delivery, cancel)
            if result is not None:
                result.fault = name if result.fault is None else f"{name}+{result.fault}"
            return result
        if isinstance(fault, Status):
            return _Outcome("faulted", Answer(fault.code, list(fault.headers), fault.body), name)
        if isinstance(fault, Throttle):
            headers = [("Retry-After", fault.retry_after)]
            return _Outcome("faulted", Answer(429, headers, b"too many requests\n"), name)
        if isinstance(fault, Disconnect):
            return _Outcome("faulted", Answer(None), name)
        if isinstance(fault, Reply):
            outcome: DeliveryOutcome = "accepted" if 200 <= fault.status <= 299 else "faulted"
            answer = Answer(fault.status, list(fault.headers), fault.body)
            return _Outcome(outcome, answer, name)
        raise TypeError(f"cannot apply {fault!r}")  # pragma: no cover - Flaky is unwrapped

    def _handle(self, delivery: Delivery, cancel: threading.Event) -> _Step:
        """The handler, once per event; the first reply or fault answers the delivery."""
        handler = self.handler
        if handler is None:
            return self._ack()
        for event in delivery.events:
            try:
                result = handler(event)
            except BaseException as exc:  # a user's handler: anything it raises
                return _error(delivery, exc, "the handler")
            if result is None:
                continue
            if isinstance(result, (Status, Throttle, Delay, Disconnect, Reply)):
                return (yield from self._apply(result, delivery, cancel, self._after_handler))
            if is_event(result) and not isinstance(result, Flaky):
                try:
                    reply_headers, body = encode_reply(result, "binary")
                except ValueError as exc:
                    return _error(delivery, exc, "the handler")
                return _Outcome("accepted", Answer(200, list(reply_headers), body))
            what = "faults.flaky(...)" if isinstance(result, Flaky) else repr(result)
            problem = TypeError(
                f"a handler returns None, a CloudEvent or a plain fault, not {what}"
            )
            return _error(delivery, problem, "the handler")
        return self._ack()

    def _after_handler(self, delivery: Delivery, cancel: threading.Event) -> _Step:
        """What follows a handler's `delay`: the default acknowledgement, never the
        handler again."""
        return self._ack()
        yield  # pragma: no cover - makes this a generator

    def _ack(self) -> _Outcome:
        return _Outcome("accepted", Answer(self.options.ack_status))

    def _settle(self, delivery: Delivery, generation: int, result: _Outcome) -> Answer:
        delivery.outcome = result.outcome
        delivery.status = result.answer.status
        delivery.fault = result.fault
        self.log.settle(delivery, generation)
        return result.answer


def _error(delivery: Delivery, exc: BaseException, who: str) -> _Outcome:
    delivery.error = exc
    body = f"{who} raised {type(exc).__name__}: {exc}\n".encode("utf-8", "replace")
    return _Outcome("error", Answer(500, [("Content-Type", "text/plain; charset=utf-8")], body))


def _rejection(delivery: Delivery) -> _Outcome:
    codes = set(delivery.codes)
    status = 415 if "unsupported-format" in codes else 413 if "body-too-large" in codes else 400
    if "unauthorized" in codes:
        text = f"unauthorized: {delivery.violations[0].message}\n".encode()
        return _Outcome("rejected", Answer(401, [("WWW-Authenticate", _CHALLENGE)], text))
    lines = [f"rejected: {len(delivery.violations)} violation(s) of the CloudEvents spec"]
    lines += [str(v) for v in delivery.violations]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    return _Outcome("rejected", Answer(status, headers, body))


def _handshake(headers: HeaderMap) -> list[tuple[str, str]]:
    """The CloudEvents webhook abuse-protection handshake (OPTIONS)."""
    out = [("Allow", ALLOW)]
    origin = headers.get("webhook-request-origin")
    if origin:
        out += [("WebHook-Allowed-Origin", origin), ("WebHook-Allowed-Rate", "*")]
    return out
