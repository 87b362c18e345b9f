"""The CloudEvents HTTP webhook spec (v1.0.2, `cloudevents/http-webhook.md`): a receiver
that grants the abuse-protection handshake, demands a Bearer token or `access_token`, and
throttles with 429 and `Retry-After` past its rate (ingress); and a sender that asks for
consent first, waits as a 429's `Retry-After` says, and stops at 410 (delivery), from
`../shared/platforms.md` section 5."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Final, final
from urllib.parse import parse_qsl

from pytest_cloudevents.delivery.access import presented_token, token_matches
from pytest_cloudevents.delivery.answers import Settled
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.delivery.ingress import Refusal
from pytest_cloudevents.events import EventLike
from pytest_cloudevents.platforms.contract import (
    Attempt,
    Call,
    Delivered,
    IngressBase,
    Plan,
    Reading,
    Response,
    Wait,
    handshake,
)
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.validate import check_mode, check_whole
from pytest_cloudevents.wire import encode
from pytest_cloudevents.wire.message import Answer, check_answer

__all__ = ["Webhook", "webhook"]

SUCCESS: Final[frozenset[int]] = frozenset({200, 201, 202, 204})
_ALLOW: Final[tuple[str, str]] = ("Allow", "POST")


@final
class Webhook(IngressBase):
    """A CloudEvents webhook (both sides).

    Ingress: `origins` the handshake grants (`"*"`: any), `rate` the requests a minute it
    takes (more: 429 with `Retry-After`), `token` the Bearer or `access_token` it demands.
    Delivery: `origin` sent as `WebHook-Request-Origin`, `mode`, and `retry` the 429s
    waited out (the spec retries nothing else; 410 stops).
    """

    name = "webhook"
    success = 202  # the receiver's ack_status (any of 200, 201, 202, 204 is the spec's)

    def __init__(
        self,
        *,
        origins: str | tuple[str, ...] = "*",
        rate: int | None = None,
        token: str | None = None,
        origin: str = "sender.example.com",
        mode: str = "binary",
        retry: int = 3,
    ) -> None:
        self.origins = (origins,) if isinstance(origins, str) else tuple(origins)
        self.rate = None if rate is None else check_whole("rate (a minute)", rate, minimum=1)
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError(f"token must be a non-empty string, not {token!r}")
        self.token = token
        self.origin = origin
        check_mode(mode)
        self.mode = mode
        self.retry = check_whole("retry", retry, minimum=0)
        self._window: deque[float] = deque()
        self._lock = threading.Lock()

    # -- ingress ---------------------------------------------------------------------------

    def early(self, request: Request) -> Answer | None:
        if request.method != "OPTIONS":
            return super().early(request)
        origin = request.headers.get("webhook-request-origin")
        if not origin:
            return Answer(400, [_ALLOW], b"WebHook-Request-Origin is required\n")
        if "*" not in self.origins and origin not in self.origins:
            return Answer(403, [_ALLOW], b"this origin is not allowed\n")
        headers = [_ALLOW, ("WebHook-Allowed-Origin", origin)]
        headers.append(("WebHook-Allowed-Rate", str(self.rate) if self.rate else "*"))
        return check_answer(200, headers)  # the origin is the request's: checked as any answer

    def admit(self, request: Request) -> Refusal | None:
        if request.method != "POST":
            return Refusal("method-not-allowed", f"a webhook takes POST, not {request.method}")
        if self.token is not None:
            given = presented_token(request.headers)
            if given is None:
                given = dict(parse_qsl(request.query)).get("access_token")
            if not token_matches(given, self.token.encode()):
                return Refusal(
                    "unauthorized",
                    "send Authorization: Bearer <token> or ?access_token=<token>",
                )
        if self.rate is not None:
            now = time.monotonic()
            with self._lock:
                while self._window and now - self._window[0] >= 60.0:
                    self._window.popleft()
                if len(self._window) >= self.rate:
                    wait = max(1, int(60.0 - (now - self._window[0])) + 1)
                    return Refusal("rate-exceeded", f"over {self.rate} a minute; retry in {wait}")
                self._window.append(now)
        return None

    def answer(self, settled: Settled, violations: list[Violation]) -> Settled:
        if not self.own_answer(settled) or settled.outcome == "accepted":
            return settled
        codes = {v.code for v in violations}
        if "rate-exceeded" in codes:
            wait = violations[0].message.rsplit(" ", 1)[-1]
            return Settled(
                "rejected",
                Answer(429, [("Retry-After", wait)], f"{violations[0].message}\n".encode()),
            )
        if "method-not-allowed" in codes:
            return Settled("rejected", Answer(405, [_ALLOW]))
        return settled

    # -- delivery --------------------------------------------------------------------------

    def read(self, response: Response) -> tuple[Reading, str]:
        """The spec's reading of a target's answer."""
        status = response.status
        if status is None:
            return "terminal", "no response"
        if status in SUCCESS:
            return "success", f"{status}"
        if status == 429:
            if response.retry_after is None:
                return "terminal", "429 without Retry-After (the target MUST send one)"
            return "retry", "429: waited as Retry-After says"
        if status == 410:
            return "drop", "410: the target is retired; stop sending"
        if 300 <= status <= 399:
            return "terminal", f"{status}: redirects are not followed"
        return "terminal", f"{status}"

    def plan(self, event: EventLike, target: str) -> Plan:
        """The handshake, then the delivery, waiting out 429s."""
        result = Delivered(self.name, target, "dropped")
        if not (yield from handshake(result, self.origin, "nothing is sent without consent")):
            return result
        headers, body = encode(event, self.mode)
        call = Call("POST", None, [*headers.items(), ("WebHook-Request-Origin", self.origin)], body)
        clock = 0.0
        for number in range(1, self.retry + 2):
            response = yield call
            assert response is not None
            reading, reason = self.read(response)
            result.attempts.append(Attempt.of(number, clock, response, reading, reason))
            if reading == "success":
                result.verdict = "delivered"
                return result
            if reading != "retry" or number > self.retry:
                result.reason = reason
                return result
            wait = response.retry_after or 0.0
            yield Wait(wait)
            clock += wait
        return result

    def __repr__(self) -> str:
        return "platforms.webhook()"


#: `platforms.webhook(...)`: the CloudEvents webhook spec's sides (see `Webhook`).
webhook = Webhook
