"""What every platform shares: the plan of a delivery (the HTTP calls a platform makes and
the waits between them, as a generator), its reading of each answer, the `Delivered` result,
the one sync and the one async driver of a plan, and the ingress base class.

A platform's delivery is a generator, like the delivery app's: it yields a `Call` (one HTTP
request to the subscriber) and is sent back the `Response`, or yields a `Wait` (the gap
before a retry, in the platform's time) and is sent back nothing. The clients run it with
`run`/`arun`, giving the one attempt of their own transport; nothing here opens a socket.
Time is virtual: a `Wait` advances the plan's clock and sleeps `seconds * time_scale` for
real (0 by default), so a ten-retry schedule runs in milliseconds and is still reported.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, final

from pytest_cloudevents.delivery.answers import Settled
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.delivery.ingress import Inbound, Refusal
from pytest_cloudevents.events import CloudEvent, EventLike, attributes_of, build, data_of
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.wire import Headers, decode, mode_of
from pytest_cloudevents.wire.message import Answer

__all__ = [
    "Attempt",
    "Call",
    "Delivered",
    "IngressBase",
    "Plan",
    "Reading",
    "Response",
    "Verdict",
    "Wait",
    "arun",
    "body_head",
    "handshake",
    "json_answer",
    "reply_of",
    "run",
    "with_attributes",
]

#: A platform's reading of one answer.
Reading = Literal["success", "retry", "terminal", "drop"]
#: What became of a delivery, in the platforms' words.
Verdict = Literal["delivered", "replied", "dead-lettered", "dropped"]
Purpose = Literal["handshake", "discovery", "delivery", "dead-letter"]


@dataclass(frozen=True)
class Call:
    """One HTTP request the platform makes: to the target URL as given (`path` None) or to
    `path` under the target's base (Dapr's routes, `/dapr/subscribe`)."""

    method: str
    path: str | None
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    purpose: Purpose = "delivery"
    #: seconds the platform waits for the answer (None: the client's `timeout`)
    timeout: float | None = None
    #: another target (a dead-letter sink's URL), or None for the subscriber
    to: str | None = None


@dataclass(frozen=True)
class Wait:
    """The gap before the next attempt, in the platform's seconds."""

    seconds: float


@dataclass(frozen=True)
class Response:
    """What one `Call` got: a status, headers and body, or no response (`error`)."""

    status: int | None
    headers: Headers
    body: bytes = b""
    error: BaseException | None = None
    elapsed: float = 0.0
    #: the `Retry-After` the answer asked for, in seconds (read by the client)
    retry_after: float | None = None


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt: its number (1, 2, ...), the platform time it was sent at
    (seconds after the first), the status (None: no response), the platform's reading,
    why, and the first bytes of the body."""

    number: int
    at: float
    status: int | None
    reading: Reading
    reason: str
    body: bytes = b""
    error: BaseException | None = None

    @classmethod
    def of(
        cls, number: int, at: float, response: Response, reading: Reading, reason: str
    ) -> Attempt:
        """The attempt that got `response`."""
        return cls(number, at, response.status, reading, reason, response.body, response.error)


@final
@dataclass
class Delivered:
    """The result of `deliver(event, to=..., platform=...)`.

    `verdict` is the platform's: "delivered", "replied" (a reply event was taken),
    "dead-lettered" or "dropped"; `attempts` each attempt with its reading and the platform
    time it was sent at; `reply` the reply event; `dead_letter` the event as the dead-letter
    sink gets it; `route` the path a Dapr delivery took; `handshake` the OPTIONS exchange
    (Event Grid, webhooks).
    """

    platform: str
    target: str
    verdict: Verdict
    attempts: list[Attempt] = field(default_factory=list)
    reply: CloudEvent | None = None
    dead_letter: CloudEvent | None = None
    route: str | None = None
    handshake: Response | None = None
    reason: str = ""
    #: each entry's verdict of a Dapr bulk delivery, by entry id
    entries: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int | None:
        """The status of the last attempt (None without a response or an attempt)."""
        return self.attempts[-1].status if self.attempts else None

    @property
    def gaps(self) -> list[float]:
        """The waits between attempts, in platform seconds (the schedule as executed)."""
        times = [a.at for a in self.attempts]
        return [round(b - a, 6) for a, b in itertools.pairwise(times)]

    @property
    def is_success(self) -> bool:
        """True when the platform counts the delivery done ("delivered" or "replied")."""
        return self.verdict in ("delivered", "replied")

    def describe(self) -> str:
        """The verdict, why, and each attempt (time, status, reading, start of the body)."""
        lines = [f"{self.platform} delivery to {self.target}: {self.verdict}"]
        if self.reason:
            lines.append(f"reason: {self.reason}")
        if self.route is not None:
            lines.append(f"route: {self.route}")
        for attempt in self.attempts:
            got = "no response" if attempt.status is None else str(attempt.status)
            line = f"  attempt {attempt.number} at {attempt.at:g}s: {got} -> {attempt.reading}"
            line += f" ({attempt.reason})"
            if attempt.body:
                line += f" body {body_head(attempt.body)}"
            if attempt.error is not None:
                line += f" error {type(attempt.error).__name__}: {attempt.error}"
            lines.append(line)
        if self.dead_letter is not None:
            marks = {
                k: v
                for k, v in attributes_of(self.dead_letter).items()
                if k not in ("id", "source", "type", "specversion", "time", "datacontenttype")
            }
            lines.append(f"dead letter: {marks}")
        return "\n".join(lines)


Plan = Generator["Call | Wait", "Response | None", Delivered]
Exchange = Callable[[Call], Response]
AsyncExchange = Callable[[Call], Awaitable[Response]]


def run(plan: Plan, exchange: Exchange, sleep: Callable[[float], None], scale: float) -> Delivered:
    """Run a delivery plan with a client's one attempt (`exchange`); waits sleep
    `seconds * scale` for real (none at 0)."""
    sent: Response | None = None
    try:
        while True:
            step = plan.send(sent)
            if isinstance(step, Wait):
                if scale > 0 and step.seconds > 0:
                    sleep(step.seconds * scale)
                sent = None
            else:
                sent = exchange(step)
    except StopIteration as stop:
        result: Delivered = stop.value
        return result


async def arun(
    plan: Plan, exchange: AsyncExchange, sleep: Callable[[float], Awaitable[Any]], scale: float
) -> Delivered:
    """`run` for the async client."""
    sent: Response | None = None
    try:
        while True:
            step = plan.send(sent)
            if isinstance(step, Wait):
                if scale > 0 and step.seconds > 0:
                    await sleep(step.seconds * scale)
                sent = None
            else:
                sent = await exchange(step)
    except StopIteration as stop:
        result: Delivered = stop.value
        return result


def handshake(result: Delivered, origin: str, who: str) -> Generator[Call, Response | None, bool]:
    """The CloudEvents webhook abuse-protection handshake (OPTIONS with
    `WebHook-Request-Origin`), as a step of a plan: whether the target consented (answered
    `WebHook-Allowed-Origin` with `origin` or `*`; a status alone is no consent). The
    exchange is kept on `result`, and the reason when there was no consent."""
    shake = yield Call("OPTIONS", None, [("WebHook-Request-Origin", origin)], purpose="handshake")
    assert shake is not None
    result.handshake = shake
    if shake.headers.get("webhook-allowed-origin") in (origin, "*"):
        return True
    result.reason = (
        f"the target did not consent to the abuse-protection handshake (answer OPTIONS with"
        f" WebHook-Allowed-Origin: {origin} or *); {who}"
    )
    return False


def body_head(body: bytes, size: int = 80) -> str:
    """The first bytes of a body as text, for a scorecard or a description."""
    text = body[:size].decode("utf-8", "replace")
    return repr(text) + (" ..." if len(body) > size else "")


def reply_of(response: Response) -> tuple[CloudEvent | None, list[Violation], bool]:
    """The reply event a response carries: (event, violations, whether it looked like one).
    A body in a CloudEvents format or with `ce-specversion` is a reply; anything else is
    not."""
    lowered = response.headers.lowered
    if mode_of(lowered.get("content-type")) == "binary" and "ce-specversion" not in lowered:
        return None, [], False
    decoded = decode(response.headers, response.body)
    if decoded.violations:
        return None, decoded.violations, True
    return (decoded.events[0] if len(decoded.events) == 1 else None), [], True


def with_attributes(
    event: EventLike, added: Mapping[str, Any], removed: Sequence[str] = ()
) -> CloudEvent:
    """A copy of `event` with attributes added (or replaced) and some removed."""
    attributes = {k: v for k, v in attributes_of(event).items() if k not in removed}
    attributes.update(added)
    return build(attributes, data_of(event))


def json_answer(status: int, document: object, headers: Sequence[tuple[str, str]] = ()) -> Answer:
    """An answer with a JSON body."""
    body = json.dumps(document, separators=(",", ":")).encode()
    return Answer(status, [("Content-Type", "application/json; charset=utf-8"), *headers], body)


def b64(data: bytes) -> str:
    """Standard padded base64 text."""
    return base64.b64encode(data).decode("ascii")


class IngressBase:
    """The ingress steps a platform leaves as they are (the `Ingress` protocol's defaults):
    subclasses override what their platform changes."""

    name = "platform"
    #: the status of the platform's acknowledgement
    success = 202
    #: the methods the platform reads a message from
    methods: tuple[str, ...] = ("POST",)

    def early(self, request: Request) -> Answer | None:
        """A request that carries no message, by a method the platform does not take, is
        refused before anything is read (405, not recorded); `allow` the methods named."""
        if request.method in self.methods or request.carries_message:
            return None
        return Answer(405, [("Allow", ", ".join(self.methods))])

    def admit(self, request: Request) -> Refusal | None:
        """Everything is admitted."""
        return None

    def inbound(self, request: Request, body: bytes, max_body: int) -> Inbound | Refusal | None:
        """The message is decoded as received."""
        return None

    def stored(self, events: list[CloudEvent], request: Request) -> list[CloudEvent] | Refusal:
        """The events are stored as received."""
        return events

    def answer(self, settled: Settled, violations: list[Violation]) -> Settled:
        """The app's answer, as it is."""
        return settled

    def publish_url(self, base: str, **parts: str) -> str:
        """The URL a producer publishes to on a receiver whose root is `base`."""
        return base

    def own_answer(self, settled: Settled) -> bool:
        """Whether the app answered on its own (an acknowledgement or a refusal), not a
        fault rule or a handler's reply, which are answered as given."""
        if settled.fault is not None or settled.error is not None:
            return False
        if settled.outcome == "accepted":
            return not settled.answer.body and not settled.answer.headers
        return settled.outcome == "rejected"
