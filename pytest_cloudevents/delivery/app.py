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
from datetime import datetime, timezone
from typing import Final

from pytest_cloudevents.config import Options
from pytest_cloudevents.criteria.schema import Contracts
from pytest_cloudevents.delivery.exchange import (
    ALLOW,
    BODY_METHODS,
    CUT,
    ELAPSED,
    GONE,
    Answer,
    Hold,
    HoldEnd,
    Outcome,
    Request,
    error_outcome,
    handshake,
    rejection,
)
from pytest_cloudevents.events import CloudEvent, EventLike, is_event
from pytest_cloudevents.faults.kinds import (
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
from pytest_cloudevents.recording.log import Delivery, DeliveryLog, DeliveryOutcome
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire import Headers, decode
from pytest_cloudevents.wire.compression import decompress

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

#: A handler: called once per accepted event; None acknowledges, a CloudEvent replies,
#: a fault answers with that fault.
Handler = Callable[[CloudEvent], "EventLike | Fault | None"]
Delivering = Generator[Hold, HoldEnd, Answer]
_Step = Generator[Hold, HoldEnd, "Outcome | None"]
_ENCODING_CODES: Final[dict[str, str]] = {
    "unsupported": "unsupported-encoding",
    "corrupt": "invalid-encoding",
    "too-large": "body-too-large",
}
#: Who may deliver: called with the request's headers (case-insensitive), True admits.
Auth = Callable[[Mapping[str, str]], bool]


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

    def _refusal(self, headers: Headers, delivery: Delivery) -> Outcome | None:
        """The auth check, before anything else: None admits; a refusal is
        `unauthorized` (401); what a callable check raises is an `error`, as any user
        code's."""
        assert self.auth is not None
        try:
            admitted = bool(self.auth(headers))
        except BaseException as exc:  # a user's auth callable: anything it raises
            return error_outcome(delivery, exc, "the auth= check")
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
        return rejection(delivery)

    def deliver(self, request: Request) -> Delivering:
        """The delivery of one request, as a generator of `Hold`s returning the `Answer`."""
        method = request.method.upper()
        if method == "HEAD":
            return Answer(200)
        if method == "OPTIONS":
            return Answer(200, handshake(request.headers))
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
            return self._settle(delivery, arrival.generation, Outcome("abandoned", Answer(None)))
        if request.malformed is not None:
            delivery.violations = [
                Violation(
                    "malformed-http",
                    None,
                    f"the HTTP/1.1 message is malformed ({request.malformed}); send a valid"
                    " Content-Length or chunked body",
                )
            ]
            return self._settle(delivery, arrival.generation, rejection(delivery))
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
            return self._settle(delivery, arrival.generation, rejection(delivery))
        body = request.body
        if "content-encoding" in request.headers.lowered:
            inflated = decompress(request.headers.lowered, body, limit)
            delivery.content_encoding = inflated.encoding
            if inflated.problem is not None:
                code = _ENCODING_CODES[inflated.problem]
                delivery.violations = [Violation(code, None, inflated.detail)]
                return self._settle(delivery, arrival.generation, rejection(delivery))
            body = delivery.body = inflated.body
        decoded = decode(request.headers, body, strict=self.options.strict, max_body=limit)
        delivery.mode = decoded.mode
        delivery.warnings = decoded.warnings
        if not decoded.ok:
            delivery.violations = decoded.violations
            return self._settle(delivery, arrival.generation, rejection(delivery))
        delivery.events = decoded.events
        if self.contracts is not None:
            broken = self.contracts.violations(delivery.events)
            if broken:
                delivery.violations, delivery.events = broken, []
                return self._settle(delivery, arrival.generation, rejection(delivery))
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
            return error_outcome(delivery, exc, "a when= predicate")
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
                return Outcome("abandoned", Answer(None), name)
            if fault.then is not None:
                return (yield from self._apply(fault.then, delivery, cancel, after, name))
            result = yield from after(delivery, cancel)
            if result is not None:
                result.fault = name if result.fault is None else f"{name}+{result.fault}"
            return result
        if isinstance(fault, Status):
            return Outcome("faulted", Answer(fault.code, list(fault.headers), fault.body), name)
        if isinstance(fault, Throttle):
            headers = [("Retry-After", fault.retry_after)]
            return Outcome("faulted", Answer(429, headers, b"too many requests\n"), name)
        if isinstance(fault, Disconnect):
            return Outcome("faulted", Answer(None), name)
        if isinstance(fault, Reply):
            outcome: DeliveryOutcome = "accepted" if 200 <= fault.status <= 299 else "faulted"
            answer = Answer(fault.status, list(fault.headers), fault.body)
            return Outcome(outcome, answer, name)
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
                return error_outcome(delivery, exc, "the handler")
            if result is None:
                continue
            if isinstance(result, (Status, Throttle, Delay, Disconnect, Reply)):
                return (yield from self._apply(result, delivery, cancel, self._after_handler))
            if is_event(result) and not isinstance(result, Flaky):
                try:
                    reply_headers, body = encode_reply(result, "binary")
                except ValueError as exc:
                    return error_outcome(delivery, exc, "the handler")
                return Outcome("accepted", Answer(200, list(reply_headers), body))
            what = "faults.flaky(...)" if isinstance(result, Flaky) else repr(result)
            problem = TypeError(
                f"a handler returns None, a CloudEvent or a plain fault, not {what}"
            )
            return error_outcome(delivery, problem, "the handler")
        return self._ack()

    def _after_handler(self, delivery: Delivery, cancel: threading.Event) -> _Step:
        """What follows a handler's `delay`: the default acknowledgement, never the
        handler again."""
        return self._ack()
        yield  # pragma: no cover - makes this a generator

    def _ack(self) -> Outcome:
        return Outcome("accepted", Answer(self.options.ack_status))

    def _settle(self, delivery: Delivery, generation: int, result: Outcome) -> Answer:
        delivery.outcome = result.outcome
        delivery.status = result.answer.status
        delivery.fault = result.fault
        self.log.settle(delivery, generation)
        return result.answer
