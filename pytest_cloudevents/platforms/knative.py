"""Knative Eventing: the broker's ingress (`/{namespace}/{broker}`, 202) and a Trigger's
delivery to a subscriber (binary, `Prefer: reply`, the `delivery` spec's retries and
dead-letter sink), from `../shared/platforms.md` section 1 (knative/eventing's ingress,
dispatcher and retry code, knative/specs' data plane)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Final, Literal, final

from pytest_cloudevents.criteria.filters import Filter, from_trigger
from pytest_cloudevents.delivery.answers import Settled
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.delivery.ingress import Refusal
from pytest_cloudevents.events import CloudEvent, EventLike, attributes_of, format_time
from pytest_cloudevents.platforms.contract import (
    Attempt,
    Call,
    Delivered,
    IngressBase,
    Plan,
    Reading,
    Response,
    Wait,
    b64,
    reply_of,
    with_attributes,
)
from pytest_cloudevents.platforms.durations import seconds_of
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.spec.syntax import whole_number
from pytest_cloudevents.validate import check_whole
from pytest_cloudevents.wire import encode
from pytest_cloudevents.wire.message import Answer

__all__ = ["RETRIED", "Knative", "knative"]

#: Statuses Knative retries (KE `retries.go` SelectiveRetry); a network error is retried too.
RETRIED: Final[frozenset[int]] = frozenset({404, 408, 409, 429, *range(500, 600)})
#: The broker's TTL when an event arrives without one (KE `cmd/broker/ingress`: MAX_TTL).
MAX_TTL: Final[int] = 255
#: `knativeerrordata` is cut to this many characters (KE dispatcher).
ERROR_DATA_LIMIT: Final[int] = 1024
_ALLOW: Final[tuple[str, str]] = ("Allow", "POST, OPTIONS")
_NAME: Final[re.Pattern[str]] = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@final
class Knative(IngressBase):
    """Knative's broker (ingress) and a Trigger's delivery (sender); make one with
    `platforms.knative(...)`.

    - `namespace`, `broker`: the broker's address, `/{namespace}/{broker}`; `Kn-Namespace`;
    - `retry`, `backoff_policy`, `backoff_delay`, `retry_after_max`, `timeout`: the
      Trigger's `delivery` spec (durations in ISO 8601, `PT0.2S`, or seconds); without
      `retry`, one attempt;
    - `dead_letter`: True reports the dead-lettered event, a URL also sends it there;
    - `format`: "binary" (the default) or "json" (structured), as `delivery.format`;
    - `kind`: "trigger" (a broker's: a 2xx body that is no CloudEvent is retried) or
      "subscription" (a channel's: such a body is ignored);
    - `trigger`: the Trigger's filter, as a manifest (`filters.from_trigger` takes it) or a
      `filters` filter: an event it does not pass is not delivered ("dropped": the broker's
      filter answers 200 and sends nothing).
    """

    name = "knative"
    success = 202

    def __init__(
        self,
        *,
        namespace: str = "default",
        broker: str = "default",
        retry: int | None = None,
        backoff_policy: Literal["exponential", "linear"] | None = None,
        backoff_delay: str | float | None = None,
        retry_after_max: str | float | None = None,
        timeout: str | float | None = None,
        dead_letter: bool | str = False,
        format: Literal["binary", "json"] = "binary",
        kind: Literal["trigger", "subscription"] = "trigger",
        trigger: object = None,
    ) -> None:
        for what, value in (("namespace", namespace), ("broker", broker)):
            if not isinstance(value, str) or not _NAME.fullmatch(value):
                raise ValueError(
                    f"{what} must be a Kubernetes name such as 'default', not {value!r}"
                )
        self.namespace, self.broker = namespace, broker
        self.retry = 0 if retry is None else check_whole("retry", retry, minimum=0)
        if backoff_policy not in (None, "exponential", "linear"):
            raise ValueError(
                f"backoff_policy is 'exponential' or 'linear' (Knative's backoffPolicy), not"
                f" {backoff_policy!r}"
            )
        self.backoff_policy = backoff_policy
        self.backoff_delay = seconds_of("backoff_delay", backoff_delay)
        self.retry_after_max = seconds_of("retry_after_max", retry_after_max)
        self.timeout = seconds_of("timeout", timeout)
        if not isinstance(dead_letter, (bool, str)):
            raise TypeError(
                "dead_letter is True (report the dead-lettered event), a sink URL to send it"
                f" to, or False; not {dead_letter!r}"
            )
        self.dead_letter = dead_letter
        if format not in ("binary", "json"):
            raise ValueError(f"format is 'binary' or 'json' (delivery.format), not {format!r}")
        self.format = format
        if kind not in ("trigger", "subscription"):
            raise ValueError(f"kind is 'trigger' or 'subscription', not {kind!r}")
        self.kind = kind
        #: the Trigger's filter (`trigger=`: a manifest, or a `filters` filter), or None
        self.filter: Filter | None = None
        if trigger is not None:
            self.filter = trigger if isinstance(trigger, Filter) else from_trigger(trigger)

    # -- ingress: the broker -------------------------------------------------------------

    def publish_url(self, base: str, **parts: str) -> str:
        """`{base}/{namespace}/{broker}`; `namespace=`/`broker=` name another broker."""
        namespace = parts.get("namespace", self.namespace)
        broker = parts.get("broker", self.broker)
        return f"{base.rstrip('/')}/{namespace}/{broker}"

    def early(self, request: Request) -> Answer | None:
        if request.method == "OPTIONS":
            return Answer(
                200, [_ALLOW, ("WebHook-Allowed-Origin", "*"), ("WebHook-Allowed-Rate", "*")]
            )
        if request.method != "POST" and not request.carries_message:
            return Answer(405, [_ALLOW])
        return None

    def admit(self, request: Request) -> Refusal | None:
        if request.method != "POST":
            return Refusal(
                "method-not-allowed",
                f"a Knative broker takes POST (and OPTIONS), not {request.method}",
            )
        if request.path == "/":
            return Refusal(
                "unknown-route",
                f"a Knative broker's address is /{{namespace}}/{{broker}}, not /; post to"
                f" /{self.namespace}/{self.broker}",
            )
        parts = request.path.rstrip("/").split("/")
        if len(parts) != 3:
            return Refusal(
                "malformed-route",
                f"{request.path!r} is not a broker address /{{namespace}}/{{broker}};"
                f" post to /{self.namespace}/{self.broker}",
            )
        if (parts[1], parts[2]) != (self.namespace, self.broker):
            return Refusal(
                "unknown-route",
                f"there is no broker {parts[2]!r} in namespace {parts[1]!r}; this broker is"
                f" /{self.namespace}/{self.broker}",
            )
        return None

    def stored(self, events: list[CloudEvent], request: Request) -> list[CloudEvent] | Refusal:
        out = []
        for event in events:
            ttl = whole_number(attributes_of(event).get("knativebrokerttl"))
            ttl = MAX_TTL if ttl is None else max(ttl - 1, 0)
            if ttl <= 0:
                return Refusal(
                    "ttl-exhausted",
                    "the event's knativebrokerttl ran out (it went round the broker too often"
                    " through replies); the broker drops it",
                )
            out.append(
                with_attributes(
                    event,
                    {
                        "knativearrivaltime": format_time(datetime.now(timezone.utc)),
                        "knativebrokerttl": ttl,
                    },
                )
            )
        return out

    def answer(self, settled: Settled, violations: list[Violation]) -> Settled:
        if not self.own_answer(settled):
            return settled
        if settled.outcome == "accepted":
            return Settled("accepted", Answer(202, [_ALLOW]))
        status = _REFUSED.get(violations[0].code if violations else "", 400)
        if any(v.code == "body-too-large" for v in violations):
            status = 413
        return Settled("rejected", Answer(status, [_ALLOW]))

    # -- delivery: a Trigger to its subscriber -------------------------------------------

    def backoff(self, retry: int) -> float:
        """The wait before retry `retry` (1, 2, ...), as Knative executes it: the
        zero-based index k-1 goes to the backoff function, so exponential waits
        d*2^(k-1) (d, 2d, 4d, ...) and linear d*(k-1) (the first retry at once)."""
        delay = self.backoff_delay or 0.0
        if self.backoff_policy is None or not delay:
            return 0.0
        if self.backoff_policy == "exponential":
            return float(delay * 2 ** (retry - 1))
        return float(delay * (retry - 1))

    def read(self, response: Response) -> tuple[Reading, str]:
        """Knative's reading of one answer (`../shared/platforms.md` 1.3 and 1.4)."""
        status = response.status
        if status is None:
            return "retry", "no response (network error): retried"
        if 200 <= status <= 299:
            if self.kind == "trigger" and response.body:
                reply, problems, looks = reply_of(response)
                if not looks or problems or reply is None:
                    return "retry", (
                        "a 2xx with a body that is not a CloudEvent: the broker's filter"
                        " answers 502, which is retried"
                    )
            return "success", "2xx"
        if status in RETRIED:
            return "retry", f"{status} is retried"
        return "terminal", f"{status} is not retried"

    def plan(self, event: EventLike, target: str) -> Plan:
        """The delivery of `event` to the subscriber at `target`."""
        result = Delivered(self.name, target, "dropped")
        if self.filter is not None and not self.filter.matches(event):
            why = "; ".join(self.filter.explain(event)) or repr(self.filter)
            result.reason = f"the Trigger's filter does not pass the event ({why})"
            return result
        attributes = attributes_of(event)
        added: dict[str, object] = {}
        if "knativearrivaltime" not in attributes:
            added["knativearrivaltime"] = format_time(datetime.now(timezone.utc))
        sent = with_attributes(event, added, removed=("knativebrokerttl",))
        headers, body = encode(sent, "structured" if self.format == "json" else "binary")
        call = Call(
            "POST",
            None,
            [
                *headers.items(),
                ("Prefer", "reply"),
                ("Kn-Namespace", self.namespace),
            ],
            body,
            timeout=self.timeout,
        )
        clock = 0.0
        last: Response | None = None
        for number in range(1, self.retry + 2):
            if number > 1:
                wait = self.backoff(number - 1)
                wait = self._retry_after(wait, last)
                yield Wait(wait)
                clock += wait
            response = yield call
            assert response is not None
            last = response
            reading, reason = self.read(response)
            result.attempts.append(Attempt.of(number, clock, response, reading, reason))
            if reading == "success":
                reply, _, _ = reply_of(response)
                result.reply = reply
                result.verdict = "replied" if reply is not None else "delivered"
                return result
            if reading == "terminal":
                break
        assert last is not None
        result.reason = (
            "retries exhausted" if result.attempts[-1].reading == "retry" else "not retried"
        )
        if self.dead_letter:
            result.dead_letter = self.dead_lettered(sent, target, last)
            result.verdict = "dead-lettered"
            if isinstance(self.dead_letter, str):
                headers, body = encode(result.dead_letter, "binary")
                yield Call(
                    "POST", None, list(headers.items()), body, "dead-letter", to=self.dead_letter
                )
        return result

    def dead_lettered(self, event: CloudEvent, target: str, last: Response) -> CloudEvent:
        """The original event with `knativeerrordest`, `knativeerrorcode` and
        `knativeerrordata` (the body in padded base64, cut to 1,024 characters)."""
        if last.status is None:
            data = b64(f"dispatch error: {last.error}".encode())
        else:
            data = b64(last.body)
        added: dict[str, object] = {
            "knativeerrordest": target,
            "knativeerrorcode": 500 if last.status is None else last.status,
        }
        if data:
            added["knativeerrordata"] = data[:ERROR_DATA_LIMIT]
        return with_attributes(event, added)

    def _retry_after(self, wait: float, last: Response | None) -> float:
        """With `retry_after_max` set, a 429 or 503's Retry-After lengthens the wait:
        max(backoff, min(Retry-After, retry_after_max))."""
        if not self.retry_after_max or last is None or last.status not in (429, 503):
            return wait
        asked = last.retry_after
        if asked is None:
            return wait
        return max(wait, min(asked, self.retry_after_max))

    def __repr__(self) -> str:
        return f"platforms.knative(namespace={self.namespace!r}, broker={self.broker!r})"


_REFUSED: Final[dict[str, int]] = {
    "unknown-route": 404,
    "malformed-route": 400,
    "method-not-allowed": 405,
    "unauthorized": 401,
}


#: `platforms.knative(...)`: Knative with its defaults (broker `default/default`; without
#: `retry`, one attempt, as without a `delivery` spec; the broker's own default is
#: `retry=10, backoff_policy="exponential", backoff_delay="PT0.2S"`).
knative = Knative
