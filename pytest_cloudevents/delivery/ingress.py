"""`Ingress`: what a platform's ingress changes in the one delivery path.

A receiver made with `platform=` answers as that platform's ingress (an Event Grid topic, a
Knative broker, a Dapr sidecar's publish API, a CloudEvents webhook): its paths, methods and
credentials, the form in which it stores an event, and its answers. The platform modules
(`platforms/`) implement this protocol; the app consults it at four points and never knows
which platform it serves:

1. `early(request)`: an answer given without a delivery (the OPTIONS handshake, a method
   the platform refuses before reading anything), or None;
2. `admit(request)`: the path, method and credentials, as a `Refusal` (recorded as a
   rejected delivery with its code) or None;
3. `inbound(request, body, max_body)`: the message to decode in place of the request's (Dapr
   wraps a payload that is not a CloudEvent in its envelope), or None to decode it as
   received; JSON it reads is bounded by `max_body` as the decoder bounds it;
4. `stored(events, request)`: the events as the platform stores them (attributes it adds),
   or a `Refusal`;

and `answer(settled, violations)` turns the app's own answers (the acknowledgement, a
rejection) into the platform's. Fault rules and handler replies are answered as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pytest_cloudevents.delivery.answers import Settled
    from pytest_cloudevents.delivery.exchange import Request
    from pytest_cloudevents.events import CloudEvent
    from pytest_cloudevents.spec.rules import Violation
    from pytest_cloudevents.wire import Headers
    from pytest_cloudevents.wire.message import Answer

__all__ = ["Inbound", "Ingress", "Refusal"]


@dataclass(frozen=True)
class Refusal:
    """A request the platform refuses: the violation `code` (see `spec/codes.py`) and what
    the producer should do instead."""

    code: str
    message: str


@dataclass(frozen=True)
class Inbound:
    """The message the platform makes of a request (headers and body to decode), with the
    warnings that say what it changed."""

    headers: Headers
    body: bytes
    warnings: list[Violation] = field(default_factory=list)


class Ingress(Protocol):
    """A platform's ingress, as the delivery app consults it (see the module doc)."""

    name: str

    def early(self, request: Request) -> Answer | None: ...

    def admit(self, request: Request) -> Refusal | None: ...

    def inbound(self, request: Request, body: bytes, max_body: int) -> Inbound | Refusal | None: ...

    def stored(self, events: list[CloudEvent], request: Request) -> list[CloudEvent] | Refusal: ...

    def answer(self, settled: Settled, violations: list[Violation]) -> Settled: ...
