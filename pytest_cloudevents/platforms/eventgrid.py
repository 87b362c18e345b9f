"""Azure Event Grid with the CloudEvents schema: a topic's publish endpoint (ingress:
`/api/events?api-version=...` and namespace topics' `/topics/{topic}:publish`, key, SAS and
Bearer credentials, 200, JSON `error` bodies, its size limits) and the push delivery to a
webhook (sender: the OPTIONS handshake, structured POSTs with the `aeg-*` headers, 200-204,
the retry schedule within the TTL, dead-lettering), from `../shared/platforms.md` section 3
(Azure's docs and the azure-eventgrid SDK)."""

from __future__ import annotations

from datetime import datetime, timezone
from http import HTTPStatus
from typing import Final, final
from urllib.parse import parse_qsl

from pytest_cloudevents.delivery.access import presented_token, sas_problem, token_matches
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
    handshake,
    json_answer,
    with_attributes,
)
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.validate import check_whole
from pytest_cloudevents.wire import encode

__all__ = ["SCHEDULE", "EventGrid", "eventgrid"]

#: The retry schedule, in seconds before each retry; after the last, every 12 hours.
SCHEDULE: Final[tuple[float, ...]] = (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600)
TWELVE_HOURS: Final[float] = 43200.0
#: Statuses never retried for a webhook (dead-lettered or dropped).
TERMINAL: Final[frozenset[int]] = frozenset({400, 401, 403, 413})
#: The least wait after these answers (Azure's "delivery and retry").
LEAST_WAIT: Final[dict[int, float]] = {408: 120.0, 503: 30.0, 404: 300.0}
ORIGIN: Final[str] = "eventgrid.azure.net"
STRUCTURED: Final[str] = "application/cloudevents+json; charset=utf-8"
#: Publish limits: 1 MB a request, events per request (basic topics, namespaces).
MAX_REQUEST: Final[int] = 1024 * 1024
MAX_EVENTS: Final[int] = 5000
MAX_EVENTS_NAMESPACE: Final[int] = 1000
_STATUS_CODES: Final[dict[str, str]] = {
    "unauthorized": "Unauthorized",
    "unknown-route": "NotFound",
    "method-not-allowed": "MethodNotAllowed",
    "body-too-large": "RequestEntityTooLarge",
    "too-many-events": "RequestEntityTooLarge",
}


def _outcome_word(status: int | None) -> str:
    """`lastdeliveryoutcome` for an answer: the status's name (`NotFound`, `BadRequest`),
    `TimedOut` for a 408 or no answer (as dead-letter messages quoted on Stack Overflow
    show them)."""
    if status is None or status == 408:
        return "TimedOut"
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "GenericError"


@final
class EventGrid(IngressBase):
    """Event Grid's topic (ingress) and its push delivery to a webhook (sender).

    - `key`: the topic's access key: `aeg-sas-key` (header or query), SAS tokens signed
      with it (`aeg-sas-token`, `Authorization: SharedAccessSignature ...`) and
      `Authorization: SharedAccessKey <key>` (namespaces) are admitted; `token`: an Entra
      bearer token admitted as `Authorization: Bearer <token>`. With neither, every
      request is admitted (a topic always demands one; say which your producer sends);
    - `max_attempts` (1-30, 30) and `ttl_minutes` (1-1,440, 1,440): the retry policy; the
      first limit reached ends the retries; `dead_letter`: dead-letter when they end;
    - `subscription`: the event subscription's name (`aeg-subscription-name`).
    """

    name = "eventgrid"
    success = 200

    def __init__(
        self,
        *,
        key: str | None = None,
        token: str | None = None,
        max_attempts: int = 30,
        ttl_minutes: int = 1440,
        dead_letter: bool = False,
        subscription: str = "PYTEST-SUBSCRIPTION",
        origin: str = ORIGIN,
        timeout: float = 30.0,
    ) -> None:
        for what, value in (("key", key), ("token", token)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{what} must be a non-empty string, not {value!r}")
        self.key, self.token = key, token
        self.max_attempts = check_whole("max_attempts (1-30)", max_attempts, minimum=1, maximum=30)
        self.ttl_minutes = check_whole("ttl_minutes (1-1440)", ttl_minutes, minimum=1, maximum=1440)
        self.dead_letter = bool(dead_letter)
        self.subscription = subscription
        self.origin = origin
        self.timeout = float(timeout)

    # -- ingress: the topic ----------------------------------------------------------------

    def publish_url(self, base: str, **parts: str) -> str:
        """The topic endpoint (`/api/events?api-version=2018-01-01`), or a namespace
        topic's (`topic=NAME`: `/topics/NAME:publish?api-version=2024-06-01`)."""
        if "topic" in parts:
            return f"{base.rstrip('/')}/topics/{parts['topic']}:publish?api-version=2024-06-01"
        return f"{base.rstrip('/')}/api/events?api-version=2018-01-01"

    @staticmethod
    def _namespace(request: Request) -> bool:
        return request.path.startswith("/topics/") and request.path.endswith(":publish")

    def admit(self, request: Request) -> Refusal | None:
        if request.path.rstrip("/") != "/api/events" and not self._namespace(request):
            return Refusal(
                "unknown-route",
                f"Event Grid has no endpoint {request.path!r}; publish to /api/events (a"
                " topic) or /topics/<name>:publish (a namespace)",
            )
        if request.method != "POST":
            return Refusal("method-not-allowed", f"Event Grid takes POST, not {request.method}")
        query = dict(parse_qsl(request.query))
        size = max(len(request.body), request.declared_length or 0)
        if size > MAX_REQUEST:
            return Refusal(
                "body-too-large",
                f"the request is {size:,} bytes; Event Grid takes at most {MAX_REQUEST:,}"
                " (1 MB) a request",
            )
        if "api-version" not in query:
            return Refusal(
                "malformed-route",
                "the api-version query parameter is required (the SDKs send"
                " api-version=2018-01-01, or 2024-06-01 for namespaces)",
            )
        return self._credentials(request, query)

    def _credentials(self, request: Request, query: dict[str, str]) -> Refusal | None:
        if self.key is None and self.token is None:
            return None
        headers = request.headers
        expected_key = None if self.key is None else self.key.encode()
        if expected_key is not None:
            for given in (headers.get("aeg-sas-key"), query.get("aeg-sas-key")):
                if given is not None:
                    if token_matches(given, expected_key):
                        return None
                    return Refusal("unauthorized", "the aeg-sas-key is not the topic's key")
            authorization = headers.get("authorization") or ""
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() == "sharedaccesskey":
                if token_matches(credentials.strip(), expected_key):
                    return None
                return Refusal("unauthorized", "the SharedAccessKey is not the topic's key")
            sas = headers.get("aeg-sas-token")
            if sas is None and scheme.lower() == "sharedaccesssignature":
                sas = credentials.strip()
            if sas is not None:
                problem = sas_problem(sas, self.key or "")
                return None if problem is None else Refusal("unauthorized", problem)
        if self.token is not None:
            presented = presented_token(headers)
            if presented is not None:
                if token_matches(presented, self.token.encode()):
                    return None
                return Refusal("unauthorized", "the bearer token is not the topic's")
        wanted = []
        if self.key is not None:
            wanted.append("aeg-sas-key: <key>, an aeg-sas-token or SharedAccessKey")
        if self.token is not None:
            wanted.append("Authorization: Bearer <token>")
        return Refusal(
            "unauthorized", "the request has no credentials; send " + " or ".join(wanted)
        )

    def stored(self, events: list[CloudEvent], request: Request) -> list[CloudEvent] | Refusal:
        limit = MAX_EVENTS_NAMESPACE if self._namespace(request) else MAX_EVENTS
        if len(events) > limit:
            return Refusal(
                "too-many-events",
                f"{len(events):,} events in one request; Event Grid takes at most {limit:,}",
            )
        return events

    def answer(self, settled: Settled, violations: list[Violation]) -> Settled:
        if not self.own_answer(settled):
            return settled
        if settled.outcome == "accepted":
            # the namespace SDK parses the answer as JSON; the topic SDK reads no body
            return Settled("accepted", json_answer(200, {}))
        codes = {v.code for v in violations}
        first = violations[0] if violations else Violation("invalid-json", None, "rejected")
        if "unauthorized" in codes:
            status = 401
        elif codes & {"body-too-large", "too-many-events"}:
            status = 413
        elif "unknown-route" in codes:
            status = 404
        elif "method-not-allowed" in codes:
            status = 405
        else:
            status = 400
        error = {
            "code": _STATUS_CODES.get(first.code, "BadRequest"),
            "message": first.message,
            "details": [{"code": v.code, "message": str(v)} for v in violations],
        }
        return Settled("rejected", json_answer(status, {"error": error}))

    # -- delivery: push to a webhook -------------------------------------------------------

    def read(self, response: Response) -> tuple[Reading, str]:
        """Event Grid's reading of a webhook's answer."""
        status = response.status
        if status is None:
            return "retry", "no answer within 30 s, or none at all: retried"
        if 200 <= status <= 204:
            return "success", f"{status}"
        if status in TERMINAL:
            return "terminal", f"{status} is not retried (dead-lettered or dropped)"
        return "retry", f"{status} is retried"

    def gap(self, retry: int, status: int | None) -> float:
        """The wait before retry `retry` (1, 2, ...), at least what the last answer asks
        (408: 2 min, 503: 30 s, 404: 5 min). The platform adds jitter and may skip retries
        of an unhealthy endpoint; this schedule has neither."""
        base = SCHEDULE[retry - 1] if retry <= len(SCHEDULE) else TWELVE_HOURS
        return max(base, LEAST_WAIT.get(status or 0, 0.0))

    def plan(self, event: EventLike, target: str) -> Plan:
        """The handshake, then the delivery of `event` on the schedule."""
        result = Delivered(self.name, target, "dropped")
        if not (yield from handshake(result, self.origin, "Event Grid does not subscribe it")):
            return result
        _, body = encode(event, "structured")
        attributes = attributes_of(event)
        ttl = self.ttl_minutes * 60.0
        clock = 0.0
        last: Response | None = None
        for number in range(1, self.max_attempts + 1):
            if number > 1:
                wait = self.gap(number - 1, last.status if last else None)
                if clock + wait > ttl:
                    result.reason = "the time to live ran out"
                    return self._dead_letter(result, event, last, "TimeToLiveExceeded")
                yield Wait(wait)
                clock += wait
            headers = [
                ("Content-Type", STRUCTURED),
                ("WebHook-Request-Origin", self.origin),
                ("aeg-subscription-name", self.subscription.upper()),
                ("aeg-delivery-count", str(number - 1)),
                ("aeg-event-type", "Notification"),
                ("aeg-metadata-version", str(attributes.get("specversion", "1.0"))),
                ("aeg-output-event-id", str(attributes.get("id", ""))),
            ]
            if attributes.get("dataschema"):
                headers.append(("aeg-data-version", str(attributes["dataschema"])))
            response = yield Call("POST", None, headers, body, timeout=self.timeout)
            assert response is not None
            last = response
            reading, reason = self.read(response)
            result.attempts.append(Attempt.of(number, clock, response, reading, reason))
            if reading == "success":
                result.verdict = "delivered"
                return result
            if reading == "terminal":
                result.reason = reason
                outcome = _outcome_word(response.status)
                return self._dead_letter(result, event, last, f"UndeliverableDueToHttp{outcome}")
        result.reason = f"{self.max_attempts} attempts made"
        return self._dead_letter(result, event, last, "MaxDeliveryAttemptsExceeded")

    def _dead_letter(
        self, result: Delivered, event: EventLike, last: Response | None, reason: str
    ) -> Delivered:
        if not self.dead_letter:
            result.verdict = "dropped"
            return result
        result.verdict = "dead-lettered"
        result.dead_letter = with_attributes(
            event,
            {
                "deadletterreason": reason,
                "deliveryattempts": len(result.attempts),
                "lastdeliveryoutcome": _outcome_word(last.status if last else None),
                "publishtime": format_time(datetime.now(timezone.utc)),
            },
        )
        return result

    def __repr__(self) -> str:
        return "platforms.eventgrid(" + ("key=<key>" if self.key else "") + ")"


#: `platforms.eventgrid(...)`: Event Grid with its defaults (see `EventGrid`).
eventgrid = EventGrid
