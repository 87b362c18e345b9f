"""The one delivery application: admit, bound, inflate, decode, check, contract, record,
dispatch, settle.

It knows no host. A host (the server, each mock) builds a `Request` (`Request.from_http`),
asks `needs_thread(request)` whether the delivery runs user code (and so belongs off an
event loop) and calls `deliver(request)` there: the steps that cannot hold run in the call,
which gives the `Answer` when nothing can hold the delivery (no rule, no handler: recorded
once, answered at once), else a generator for the rest. The host runs what it gets with
one of the drivers (`driver.py`) and writes the `Answer`. Where a `delay` holds the
delivery, the generator yields a `Hold`, and the host sends back how the hold ended
(`ELAPSED`, `CUT` by reset/stop, or `GONE`: the client went away).

Dispatch runs one way: fault rules -> handler -> default answer (the consumer's, where the
app forwards: `forward.py`). A fault returned by a handler is applied, never re-dispatched
(a handler's `delay` holds, then acknowledges).
User code (`auth=` functions, `when=` predicates, handlers, schemas) runs outside every
lock of the plugin, and one guard around the whole delivery turns anything raised
(`BaseException` included) into a recorded `error` answered 500: no exception leaves a
delivery, and no request goes unrecorded.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from datetime import datetime, timezone
from typing import Any, Final, final

from pytest_cloudevents.config import Options
from pytest_cloudevents.criteria.schema import Contracts, Schema
from pytest_cloudevents.delivery.access import AuthArg, check_auth
from pytest_cloudevents.delivery.answers import (
    Settled,
    acknowledgement,
    error_answer,
    handshake,
    not_allowed,
    rejection,
)
from pytest_cloudevents.delivery.driver import Delivering
from pytest_cloudevents.delivery.exchange import (
    BODY_METHODS,
    CUT,
    GONE,
    Answer,
    Hold,
    HoldEnd,
    Request,
)
from pytest_cloudevents.delivery.forward import Forward, forwarded_answer
from pytest_cloudevents.delivery.ingress import Ingress, Refusal
from pytest_cloudevents.events import is_event
from pytest_cloudevents.faults.kinds import Delay, Fault, Flaky, encode_reply, is_plain_fault
from pytest_cloudevents.faults.rules import RuleList
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.recording.log import Arrival, DeliveryLog
from pytest_cloudevents.recording.store import LocalRecording, Recording
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire import decode
from pytest_cloudevents.wire.compression import decompress

__all__ = ["DeliveryApp", "local_app"]

_Step = Generator[Hold, HoldEnd, "Settled | None"]
_ENCODING_CODES: Final[dict[str, str]] = {
    "unsupported": "unsupported-encoding",
    "corrupt": "invalid-encoding",
    "too-large": "body-too-large",
}
#: Bodies larger than this are decoded off the loop (the codec's work grows with them).
_DECODE_ON_LOOP: Final[int] = 64 * 1024


class _Track:
    """Where one delivery stands, for the guard: its arrival, the version in the log (once
    there), and what its steps learned that is not in a version yet."""

    __slots__ = ("arrival", "delivery", "found", "request", "timestamp")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.arrival: Arrival | None = None
        self.timestamp: datetime | None = None
        self.delivery: Delivery | None = None
        #: fields learned but not yet in `delivery`
        self.found: dict[str, Any] = {}


@final
class DeliveryApp:
    """Every delivery is decoded, checked, recorded, faulted and answered here, for the
    real server, each mock and the standalone server alike, from its `Recording`."""

    def __init__(
        self, recording: Recording, ingress: Ingress | None = None, forward: Forward | None = None
    ) -> None:
        self.recording = recording
        #: the platform whose ingress this app answers as (`Receiver(platform=...)`)
        self.ingress = ingress
        #: the consumer deliveries go on to (`Receiver(forward=URL)`), or None
        self.forward = forward

    @property
    def max_body(self) -> int:
        """The largest body a host needs to read (more is `body-too-large`)."""
        return self.recording.options.max_body

    def needs_thread(self, request: Request) -> bool:
        """Whether delivering `request` may run user code or long work (and so must not
        run on an event loop): an `auth=` function, a rule, a handler, a contract, a
        large or compressed body, a consumer to forward to."""
        rec = self.recording
        return bool(
            self.forward is not None
            or (rec.auth is not None and rec.auth.runs_user_code)
            or rec.handler is not None
            or not rec.rules.empty
            or rec.contracts is not None
            or len(request.body) > _DECODE_ON_LOOP
            or "content-encoding" in request.headers.lowered
        )

    def deliver(self, request: Request) -> Answer | Delivering:
        """The delivery of one request: its `Answer` when it was answered without a hold
        (the common case), else a generator of `Hold`s returning the `Answer` (run what it
        gives with `driver.drive`/`drive_async`). Call it where user code may run (see
        `needs_thread`): the steps before any hold run in the call. Nothing it runs can
        raise out of it (see the module doc)."""
        method = request.method  # upper-case: `Request.from_http` made it so
        ingress = self.ingress
        if ingress is not None:
            try:
                early = ingress.early(request)
            except Exception as exc:  # the platform's own code: never out of a delivery
                early = error_answer(exc, f"the {ingress.name} ingress").answer
            if early is not None:
                return early
        elif method == "HEAD":
            return Answer(200)
        if method == "OPTIONS":
            return handshake(request.headers)
        if ingress is None and method not in BODY_METHODS and not request.carries_message:
            return not_allowed()
        track = _Track(request)
        try:
            answer = self._prepare(request, track)
        except BaseException as exc:  # the guard: anything raised becomes a recorded error
            return self._guard(track, exc)
        if answer is not None:
            return answer
        return self._dispatching(track)

    def _dispatching(self, track: _Track) -> Delivering:
        """The steps that may hold: rules, handler, default answer."""
        delivery, arrival = track.delivery, track.arrival
        assert delivery is not None and arrival is not None
        try:
            result = yield from self._dispatch(delivery, arrival.cancelled)
            if result is None:  # cut short by reset() or stop(): never recorded
                return Answer(None)
            return self._settle(track, result, delivery)
        except GeneratorExit:  # the host dropped the delivery (stop): never recorded
            raise
        except BaseException as exc:  # the guard: anything raised becomes a recorded error
            return self._guard(track, exc)

    def _guard(self, track: _Track, exc: BaseException) -> Answer:
        if track.arrival is None:
            self._arrive(track)
        return self._settle(track, error_answer(exc, "the delivery"), track.delivery)

    def _arrive(self, track: _Track) -> Arrival:
        """Number the request in the log and note when it came."""
        arrival = track.arrival = self.recording.log.begin()
        track.timestamp = datetime.now(timezone.utc)
        return arrival

    def _delivery(self, track: _Track, changes: Mapping[str, Any]) -> Delivery:
        """The first version of the delivery, with `changes` (fields, as the app names
        them) in it."""
        request, arrival = track.request, track.arrival
        assert arrival is not None and track.timestamp is not None
        return Delivery.arrived(
            arrival.seq,
            arrival.at,
            track.timestamp,
            request.method,
            request.path,
            request.query,
            request.headers,
            request.body,
            request.remote_addr,
            request.tls,
            changes,
        )

    def _refuse(self, track: _Track, code: str, message: str) -> Answer:
        """Record the delivery rejected for one violation, and give the answer."""
        violations = [Violation(code, None, message)]
        track.found["violations"] = violations
        return self._settle(track, rejection(violations))

    def _prepare(self, request: Request, track: _Track) -> Answer | None:
        """Admit, bound, inflate, decode, check: the answer when the delivery ends here
        (refused, or nothing can hold it), else None with the pending version logged."""
        rec = self.recording
        options = rec.options
        self._arrive(track)
        # what the steps learn, put in a version once (a version costs a copy)
        found = track.found

        limit = options.max_body
        if request.incomplete:
            return self._settle(track, Settled("abandoned", Answer(None)))
        if request.head_too_large:
            return self._refuse(
                track,
                "head-too-large",
                f"{request.malformed}; send fewer or shorter headers",
            )
        if request.malformed is not None:
            return self._refuse(
                track,
                "malformed-http",
                f"the HTTP/1.1 message is malformed ({request.malformed}); send a valid"
                " Content-Length or chunked body",
            )
        ingress = self.ingress
        if ingress is not None:
            refused = ingress.admit(request)
            if refused is not None:
                return self._refuse(track, refused.code, refused.message)
        if rec.auth is not None:
            try:
                admitted = rec.auth(request.headers)
            except BaseException as exc:  # a user's auth callable: anything it raises
                return self._settle(track, error_answer(exc, "the auth= check"))
            if not admitted:
                return self._refuse(
                    track,
                    "unauthorized",
                    "the request lacks the credentials this receiver requires"
                    f" ({rec.auth.challenge})",
                )
        if request.too_large:
            size = request.declared_length or f"over {limit}"
            return self._refuse(
                track,
                "body-too-large",
                f"the body is {size} bytes; this receiver accepts at most {limit}"
                " (raise max_body / cloudevents_max_body)",
            )
        body = request.body
        if "content-encoding" in request.headers.lowered:
            inflated = decompress(request.headers.lowered, body, limit)
            found["content_encoding"] = inflated.encoding
            if inflated.problem is not None:
                return self._refuse(track, _ENCODING_CODES[inflated.problem], inflated.detail)
            body = found["body"] = inflated.body
        headers = request.headers
        added: list[Violation] | None = None
        if ingress is not None:
            made = ingress.inbound(request, body, limit)
            if isinstance(made, Refusal):
                return self._refuse(track, made.code, made.message)
            if made is not None:
                headers, body, added = made.headers, made.body, made.warnings
        decoded = decode(
            headers,
            body,
            strict=options.strict,
            max_body=limit,
            extensions=options.extensions,
            spec=options.spec,
        )
        found["mode"], found["warnings"] = decoded.mode, decoded.warnings
        if decoded.violations:
            found["violations"] = decoded.violations
            return self._settle(track, rejection(decoded.violations))
        if ingress is not None:
            if added:
                found["warnings"] = [*decoded.warnings, *added]
            stored = ingress.stored(decoded.events, request)
            if isinstance(stored, Refusal):
                return self._refuse(track, stored.code, stored.message)
            decoded.events = stored
        if rec.contracts is not None:
            broken = rec.contracts.violations(decoded.events)
            if broken:
                found["violations"] = broken
                return self._settle(track, rejection(broken))
        found["events"] = decoded.events
        if rec.handler is None and rec.rules.empty and self.forward is None:
            # nothing can hold it or run user code: answered now, with no pending version
            return self._settle(track, acknowledgement(options.ack_status))
        delivery = track.delivery = self._delivery(track, found)
        track.found = {}
        assert track.arrival is not None
        rec.log.add(delivery, track.arrival.generation)
        return None

    # -- dispatch: rules -> handler -> default ---------------------------------------------

    def _dispatch(self, delivery: Delivery, cancel: threading.Event) -> _Step:
        try:
            fault = self.recording.rules.pick(delivery)
        except BaseException as exc:  # a user's when= predicate: anything it raises
            return error_answer(exc, "a when= predicate")
        if fault is not None:
            return (yield from self._apply(fault, delivery, cancel, handler=True))
        return (yield from self._handle(delivery, cancel))

    def _apply(
        self,
        fault: Fault,
        delivery: Delivery,
        cancel: threading.Event,
        *,
        handler: bool,
        name: str | None = None,
    ) -> _Step:
        """Carry out `fault`; after a `delay` without `then`, continue with the handler
        (`handler=True`) or the default acknowledgement."""
        name = name or fault.name
        if isinstance(fault, Delay):
            end = yield Hold(fault.seconds, cancel)
            if end == CUT:
                return None
            if end == GONE:
                return Settled("abandoned", Answer(None), name)
            if fault.then is not None:
                return (yield from self._apply(fault.then, delivery, cancel, handler=handler))
            if handler:
                result = yield from self._handle(delivery, cancel)
            else:
                result = self._ack()
            if result is not None:
                result.fault = name if result.fault is None else f"{name}+{result.fault}"
            return result
        if isinstance(fault, Flaky):  # pragma: no cover - the rule list unwraps it
            raise TypeError(f"cannot apply {fault!r}")
        outcome, answer = fault.answer()
        return Settled(outcome, answer, name)

    def _handle(self, delivery: Delivery, cancel: threading.Event) -> _Step:
        """The handler, once per event; the first reply or fault answers the delivery;
        else the consumer's answer (a proxy) or the acknowledgement."""
        handler = self.recording.handler
        if handler is None:
            return self._onward(delivery)
        for event in delivery.events:
            try:
                result = handler(event)
            except BaseException as exc:  # a user's handler: anything it raises
                return error_answer(exc, "the handler")
            if result is None:
                continue
            if is_plain_fault(result):
                return (yield from self._apply(result, delivery, cancel, handler=False))  # type: ignore[arg-type]
            if is_event(result) and not isinstance(result, Flaky):
                try:
                    reply_headers, body = encode_reply(result, "binary")  # type: ignore[arg-type]
                except ValueError as exc:
                    return error_answer(exc, "the handler")
                return Settled("accepted", Answer(200, list(reply_headers), body))
            what = "faults.flaky(...)" if isinstance(result, Flaky) else repr(result)
            problem = TypeError(
                f"a handler returns None, a CloudEvent or a plain fault, not {what}"
            )
            return error_answer(problem, "the handler")
        return self._onward(delivery)

    def _onward(self, delivery: Delivery) -> Settled:
        """What nothing else answered: the consumer's answer when the app forwards, else
        the acknowledgement."""
        if self.forward is None:
            return self._ack()
        return forwarded_answer(self.forward(delivery))

    def _ack(self) -> Settled:
        return acknowledgement(self.recording.options.ack_status)

    def _settle(self, track: _Track, result: Settled, delivery: Delivery | None = None) -> Answer:
        """Record the delivery answered (`delivery`'s next version, or its first) with what
        its steps learned, and give the answer."""
        changes = track.found
        ingress = self.ingress
        if ingress is not None:
            try:
                result = ingress.answer(result, changes.get("violations") or [])
            except Exception as exc:  # the platform's own code: never out of a delivery
                result = error_answer(exc, f"the {ingress.name} ingress")
        changes["outcome"], changes["status"] = result.outcome, result.answer.status
        changes["fault"], changes["error"] = result.fault, result.error
        if result.forwarded is not None:
            changes["forwarded"] = result.forwarded
        # a delivery not answered 2xx received nothing; its events stay for `attempts`
        settled = self._delivery(track, changes) if delivery is None else delivery.evolve(**changes)
        assert track.arrival is not None
        self.recording.log.settle(settled, track.arrival.generation)
        return result.answer


def local_app(
    options: Options | None,
    settings: Mapping[str, Any],
    *,
    auth: AuthArg = None,
    schemas: Mapping[str, Schema] | None = None,
    ingress: Ingress | None = None,
    forward: Forward | None = None,
    log: DeliveryLog | None = None,
    rules: RuleList | None = None,
) -> DeliveryApp:
    """The delivery app of an in-process endpoint (a receiver, a mock sink): `options`
    with `settings` merged in, the `auth=` check and the contracts, checked as given."""
    if options is not None and not isinstance(options, Options):
        raise TypeError(f"options must be an Options, not {options!r}")
    recording = LocalRecording(
        (options or Options()).merged(settings),
        auth=check_auth(auth),
        contracts=None if schemas is None else Contracts(schemas),
        log=log,
        rules=rules,
    )
    return DeliveryApp(recording, ingress, forward)
