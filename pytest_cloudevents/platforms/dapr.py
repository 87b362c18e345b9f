"""Dapr pub/sub over the HTTP app channel: the sidecar's publish API (ingress:
`/v1.0/publish/{pubsub}/{topic}`, 204, the envelope around a payload that is not a
CloudEvent) and the delivery to an app (sender: `/dapr/subscribe` discovery, CEL route
rules, a structured POST of the envelope or a bulk one, the body statuses), from
`../shared/platforms.md` section 2 (dapr/dapr's postman and subscription code, dapr/docs,
components-contrib's envelope)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Literal, final
from urllib.parse import parse_qsl

from pytest_cloudevents.config import default
from pytest_cloudevents.delivery.answers import Settled
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.delivery.ingress import Inbound, Refusal
from pytest_cloudevents.events import EventLike, coerce, format_time
from pytest_cloudevents.extras import require
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
    json_answer,
)
from pytest_cloudevents.platforms.durations import seconds_of
from pytest_cloudevents.spec.codes import Level
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.validate import check_whole
from pytest_cloudevents.wire import Headers, decode, event_to_json, media_type
from pytest_cloudevents.wire.binding import STRUCTURED_JSON as STRUCTURED
from pytest_cloudevents.wire.jsontext import JSONTextError, parse_body
from pytest_cloudevents.wire.message import Answer

__all__ = [
    "Dapr",
    "Route",
    "Subscription",
    "dapr",
    "discovered",
    "envelope",
    "parse_subscriptions",
]

#: The type Dapr gives the envelope of a payload that is not a CloudEvent.
SENT_TYPE: Final[str] = "com.dapr.event.sent"
_BINARY_TYPES: Final[tuple[str, ...]] = ("application/octet-stream", "application/protobuf")


@dataclass(frozen=True)
class Route:
    """One routing rule: a CEL `match` over `event` and the path it sends to."""

    match: str
    path: str


@dataclass(frozen=True)
class Subscription:
    """One entry of an app's `/dapr/subscribe` answer."""

    pubsubname: str
    topic: str
    route: str | None = None
    rules: tuple[Route, ...] = ()
    default: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    dead_letter_topic: str | None = None
    bulk: bool = False
    max_messages: int = 100

    @property
    def raw_payload(self) -> bool:
        """Whether the subscription asks for raw payloads (`metadata.rawPayload`)."""
        return str(self.metadata.get("rawPayload", "")).lower() == "true"


#: What a JSON answer of an app may cost parsed (the client reads at most this much).
_ANSWER_BOUND: Final[int] = default("max_response")


def _json(body: bytes, max_body: int) -> Any:
    """The JSON value of a body, bounded before it is parsed as the decoder bounds it;
    ValueError when it is not acceptable JSON."""
    try:
        return parse_body(body, bytes.decode, max_body)
    except (JSONTextError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None


def discovered(response: Response) -> list[Subscription]:
    """The subscriptions an app's answer to `GET /dapr/subscribe` declares (404: none);
    ValueError for an answer Dapr cannot use."""
    if response.status == 404:
        return []
    if response.status != 200:
        raise ValueError(
            f"/dapr/subscribe answered {response.status}: Dapr retries, then starts with"
            " no subscriptions"
        )
    return parse_subscriptions(response.body)


def parse_subscriptions(document: object) -> list[Subscription]:
    """The subscriptions of a `/dapr/subscribe` answer (a JSON array, as text, bytes or
    parsed); ValueError naming the entry that is malformed."""
    if isinstance(document, (bytes, str)):
        raw = document.encode() if isinstance(document, str) else document
        try:
            document = _json(raw, _ANSWER_BOUND)
        except ValueError as exc:
            raise ValueError(f"/dapr/subscribe answered something that is not JSON: {exc}") from exc
    if not isinstance(document, list):
        raise ValueError(
            f"/dapr/subscribe must answer a JSON array of subscriptions, not {document!r:.80}"
        )
    out = []
    for index, entry in enumerate(document):
        where = f"/dapr/subscribe entry {index}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not an object: {entry!r:.80}")
        for key in ("pubsubname", "topic"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ValueError(f"{where} has no {key!r} (a non-empty string)")
        routes = entry.get("routes") or {}
        if not isinstance(routes, dict):
            raise ValueError(f"{where}: 'routes' must be an object with 'rules' and 'default'")
        rules = []
        for rule in routes.get("rules") or []:
            if not isinstance(rule, dict) or not isinstance(rule.get("path"), str):
                raise ValueError(f"{where}: each rule needs a 'match' and a 'path': {rule!r:.80}")
            rules.append(Route(str(rule.get("match", "")), rule["path"]))
        bulk = entry.get("bulkSubscribe") or {}
        metadata = entry.get("metadata") or {}
        out.append(
            Subscription(
                entry["pubsubname"],
                entry["topic"],
                entry.get("route") or None,
                tuple(rules),
                routes.get("default") or None,
                {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
                entry.get("deadLetterTopic") or None,
                bool(isinstance(bulk, dict) and bulk.get("enabled")),
                int(bulk.get("maxMessagesCount", 100)) if isinstance(bulk, dict) else 100,
            )
        )
    return out


def _traceparent() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


def envelope(
    payload: bytes,
    content_type: str | None,
    *,
    topic: str,
    pubsubname: str,
    source: str,
    overrides: Mapping[str, str] = {},
    ttl: int | None = None,
    max_body: int = _ANSWER_BOUND,
) -> dict[str, Any]:
    """The CloudEvent Dapr stores for a published payload that is not a CloudEvent
    (components-contrib `NewCloudEventsEnvelope`): JSON data parsed into `data` (kept as a
    string when it does not parse), binary data as `data_base64`, anything else a string."""
    kind = media_type(content_type) if content_type else "text/plain"
    trace = overrides.get("traceparent") or overrides.get("traceid") or _traceparent()
    now = datetime.now(timezone.utc)
    event: dict[str, Any] = {
        "id": overrides.get("id") or str(uuid.uuid4()),
        "source": overrides.get("source") or source,
        "type": overrides.get("type") or SENT_TYPE,
        "specversion": "1.0",
        "datacontenttype": content_type or "text/plain",
        "topic": topic,
        "pubsubname": pubsubname,
        "traceid": overrides.get("traceid") or trace,
        "traceparent": trace,
        "tracestate": overrides.get("tracestate", ""),
        "time": format_time(now),
    }
    if "subject" in overrides:
        event["subject"] = overrides["subject"]
    if ttl is not None:
        event["expiration"] = format_time(now + timedelta(seconds=ttl))
    if kind == "application/json" or kind.endswith("+json"):
        try:
            event["data"] = _json(payload, max_body)
        except ValueError:
            event["data"] = payload.decode("utf-8", "replace")
    elif kind in _BINARY_TYPES:
        event["data_base64"] = b64(payload)
    else:
        event["data"] = payload.decode("utf-8", "replace")
    if not event["tracestate"]:
        del event["tracestate"]
    return event


def _passed_through(
    event: Mapping[str, Any], *, topic: str, pubsubname: str, overrides: Mapping[str, str] = {}
) -> dict[str, Any]:
    """A published CloudEvent as Dapr stores it (`FromCloudEvent`): `topic` and
    `pubsubname` set, and what is missing filled in."""
    out = dict(event)
    trace = overrides.get("traceparent") or out.get("traceparent") or _traceparent()
    out.setdefault("time", format_time(datetime.now(timezone.utc)))
    out.setdefault("traceparent", trace)
    out.setdefault("traceid", trace)
    out.setdefault("source", "Dapr")
    out.setdefault("type", SENT_TYPE)
    out.setdefault("specversion", "1.0")
    for key in ("id", "source", "type", "subject", "traceid", "traceparent", "tracestate"):
        if key in overrides:
            out[key] = overrides[key]
    out["topic"], out["pubsubname"] = topic, pubsubname
    return out


def _error(status: int, code: str, message: str) -> Answer:
    return json_answer(status, {"errorCode": code, "message": message})


@final
class Dapr(IngressBase):
    """Dapr's sidecar (ingress: the publish API) and its delivery to an app (sender).

    - `app_id`: the app the sidecar belongs to (the envelope's `source` on publish);
    - `pubsubs`: the pub/sub components the sidecar knows (publish to another: 404);
    - `pubsub`: the component deliveries come from;
    - `subscriptions`: the app's subscriptions when they are declarative (a list of dicts
      in `/dapr/subscribe` form); without them, `deliver` asks the app's `/dapr/subscribe`;
    - `retry`, `policy` ("constant" or "exponential"), `duration`, `max_interval`: a
      resiliency policy on the component's inbound side (none by default: one attempt);
    - `app_token`: sent as `dapr-api-token` with every call to the app.
    """

    name = "dapr"
    success = 204
    methods = ("POST", "PUT")

    def __init__(
        self,
        *,
        app_id: str = "app",
        pubsubs: Sequence[str] = ("pubsub",),
        pubsub: str = "pubsub",
        subscriptions: Sequence[Mapping[str, Any]] | None = None,
        retry: int | None = None,
        policy: Literal["constant", "exponential"] = "constant",
        duration: str | float = 5.0,
        max_interval: str | float = 60.0,
        app_token: str | None = None,
    ) -> None:
        if not isinstance(app_id, str) or not app_id:
            raise ValueError(f"app_id must be the app's Dapr id such as 'orders', not {app_id!r}")
        if isinstance(pubsubs, str) or not all(isinstance(p, str) and p for p in pubsubs):
            raise TypeError(f"pubsubs must be a list of component names, not {pubsubs!r}")
        self.app_id = app_id
        self.pubsubs = tuple(pubsubs)
        self.pubsub = pubsub
        self.declared = None if subscriptions is None else parse_subscriptions(list(subscriptions))
        self.retry = 0 if retry is None else check_whole("retry", retry, minimum=0)
        if policy not in ("constant", "exponential"):
            raise ValueError(f"policy is 'constant' or 'exponential', not {policy!r}")
        self.policy = policy
        self.duration = seconds_of("duration", duration) or 0.0
        self.max_interval = seconds_of("max_interval", max_interval) or 0.0
        if app_token is not None and (not isinstance(app_token, str) or not app_token):
            raise ValueError(f"app_token must be a non-empty string, not {app_token!r}")
        self.app_token = app_token

    # -- ingress: the publish API ----------------------------------------------------------

    def publish_url(self, base: str, **parts: str) -> str:
        """`{base}/v1.0/publish/{pubsub}/{topic}` (`pubsub=`, `topic=`; topic required)."""
        pubsub = parts.get("pubsub", self.pubsubs[0] if self.pubsubs else "pubsub")
        topic = parts.get("topic")
        if not topic:
            raise TypeError("a Dapr publish URL names its topic: publish_url(topic='orders')")
        return f"{base.rstrip('/')}/v1.0/publish/{pubsub}/{topic}"

    def _target(self, request: Request) -> tuple[str, str] | Refusal:
        parts = request.path.split("/")
        if len(parts) < 4 or parts[1] != "v1.0" or parts[2] != "publish":
            return Refusal(
                "unknown-route",
                f"{request.path!r} is not the Dapr publish API; post to"
                " /v1.0/publish/{pubsubname}/{topic}",
            )
        pubsub = parts[3]
        topic = "/".join(parts[4:])
        if not pubsub or pubsub not in self.pubsubs:
            return Refusal(
                "unknown-route",
                f"ERR_PUBSUB_NOT_FOUND: pubsub {pubsub!r} is not found; the sidecar has"
                f" {list(self.pubsubs)}",
            )
        if not topic:
            return Refusal("unknown-route", "ERR_TOPIC_NAME_EMPTY: topic is empty")
        return pubsub, topic

    def admit(self, request: Request) -> Refusal | None:
        if request.method not in self.methods:
            return Refusal(
                "method-not-allowed", f"the Dapr publish API takes POST, not {request.method}"
            )
        target = self._target(request)
        return target if isinstance(target, Refusal) else None

    def inbound(self, request: Request, body: bytes, max_body: int) -> Inbound | Refusal | None:
        target = self._target(request)
        if isinstance(target, Refusal):
            return target
        pubsub, topic = target
        query = dict(parse_qsl(request.query))
        overrides = {
            k.removeprefix("metadata.cloudevent."): v
            for k, v in query.items()
            if k.startswith("metadata.cloudevent.")
        }
        ttl_text = query.get("metadata.ttlInSeconds")
        if ttl_text is not None and not ttl_text.isdigit():
            return Refusal(
                "platform-metadata",
                f"ERR_PUBSUB_REQUEST_METADATA: metadata.ttlInSeconds must be whole seconds,"
                f" not {ttl_text!r}",
            )
        ttl = int(ttl_text) if ttl_text else None
        content_type = request.headers.get("content-type")
        kind = media_type(content_type) if content_type else ""
        warnings: list[Violation] = []
        if query.get("metadata.rawPayload", "").lower() == "true":
            wrapped = envelope(
                body,
                "application/octet-stream",
                topic=topic,
                pubsubname=pubsub,
                source="Dapr",
                overrides=overrides,
                ttl=ttl,
                max_body=max_body,
            )
        elif kind == STRUCTURED:
            try:
                parsed = _json(body, max_body)
            except ValueError:
                return None  # the decoder names what is wrong with it
            if not isinstance(parsed, dict):
                return None
            wrapped = _passed_through(parsed, topic=topic, pubsubname=pubsub, overrides=overrides)
            if ttl is not None and "expiration" not in wrapped:
                expiry = datetime.now(timezone.utc) + timedelta(seconds=ttl)
                wrapped["expiration"] = format_time(expiry)
        else:
            if "ce-specversion" in request.headers.lowered:
                warnings.append(
                    Violation(
                        "platform-wrapped",
                        None,
                        "a binary-mode CloudEvent published to Dapr is not read as one: the"
                        " sidecar ignores ce- headers and wraps the body in its own envelope"
                        f" (type {SENT_TYPE}); publish with Content-Type {STRUCTURED} to keep"
                        " the event's attributes",
                        Level.SHOULD,
                    )
                )
            wrapped = envelope(
                body,
                content_type,
                topic=topic,
                pubsubname=pubsub,
                source=self.app_id,
                overrides=overrides,
                ttl=ttl,
                max_body=max_body,
            )
        return Inbound(
            Headers([("Content-Type", STRUCTURED)]), json.dumps(wrapped).encode(), warnings
        )

    def answer(self, settled: Settled, violations: list[Violation]) -> Settled:
        if not self.own_answer(settled):
            return settled
        if settled.outcome == "accepted":
            return Settled("accepted", Answer(204))
        first = violations[0] if violations else Violation("invalid-json", None, "rejected")
        if first.code == "unknown-route":
            code, _, message = first.message.partition(": ")
            if not code.startswith("ERR_"):
                code, message = "ERR_PUBSUB_NOT_FOUND", first.message
            return Settled("rejected", _error(404, code, message))
        if first.code == "platform-metadata":
            code, _, message = first.message.partition(": ")
            return Settled("rejected", _error(400, code, message))
        if first.code == "method-not-allowed":
            return Settled("rejected", _error(405, "ERR_METHOD_NOT_ALLOWED", first.message))
        if first.code == "unauthorized":
            return Settled("rejected", _error(401, "ERR_UNAUTHORIZED", first.message))
        status = 413 if first.code == "body-too-large" else 400
        text = "; ".join(str(v) for v in violations)
        return Settled("rejected", _error(status, "ERR_PUBSUB_CLOUD_EVENTS_SER", text))

    # -- delivery: the sidecar to the app --------------------------------------------------

    def subscriptions(self, app: object, *, client: Any) -> list[Subscription]:
        """The app's subscriptions, as the sidecar reads them: `GET /dapr/subscribe` sent
        by `client` (a `Client`: the `ce_client` fixture) to `app` (a URL or an app)."""
        response = client.exchange(
            Call("GET", "/dapr/subscribe", self._app_headers(), purpose="discovery"), to=app
        )
        return discovered(response)

    def _app_headers(self) -> list[tuple[str, str]]:
        headers = [("Content-Type", "application/json")]
        if self.app_token:
            headers.append(("dapr-api-token", self.app_token))
        return headers

    def stored_form(self, event: EventLike, topic: str) -> dict[str, Any]:
        """The event as the sidecar stores it after a structured publish."""
        return _passed_through(event_to_json(event), topic=topic, pubsubname=self.pubsub)

    def choose(
        self, subscription: Subscription, stored: Mapping[str, Any]
    ) -> tuple[str | None, str]:
        """The path a message takes (rules in order, then `routes.default`, then `route`),
        and why; CEL rules run with cel-python (extra `dapr`)."""
        for rule in subscription.rules:
            if not rule.match:
                return rule.path, "a rule without match"
            matched, problem = cel_match(rule.match, stored)
            if problem is not None:
                return None, f"the rule {rule.match!r} failed: {problem}"
            if matched:
                return rule.path, f"matched {rule.match!r}"
        if subscription.default:
            return subscription.default, "routes.default"
        if subscription.route:
            return subscription.route, "route"
        return None, "no rule matched and there is no default route"

    def read(self, response: Response) -> tuple[Reading, str]:
        """Dapr's reading of an app's answer to one message (`../shared/platforms.md` 2.3)."""
        status = response.status
        if status is None:
            return "retry", "no response: retriable"
        if status == 404:
            return "drop", "404: Dapr logs an error and drops the message"
        if not 200 <= status <= 299:
            return "retry", f"{status}: retriable"
        try:
            answer = _json(response.body, _ANSWER_BOUND) if response.body else None
        except ValueError:
            return "success", "2xx with a body that is not JSON: success"
        if not isinstance(answer, dict):
            return "success", "2xx without a status object: success"
        value = answer.get("status")
        if value in (None, "", "SUCCESS"):
            return "success", f"2xx status {value!r}: success"
        if value == "DROP":
            return "drop", "2xx status 'DROP': dropped"
        return "retry", f"2xx status {value!r}: retriable (statuses are case-sensitive)"

    def wait(self, retry: int) -> float:
        """The resiliency policy's wait before retry `retry` (1, 2, ...)."""
        if self.policy == "constant":
            return self.duration
        return float(min(self.duration * 2 ** (retry - 1), self.max_interval))

    def plan(
        self, event: EventLike | Sequence[EventLike], target: str, topic: str | None = None
    ) -> Plan:
        """The delivery of `event` (or, to a bulk subscription, several) on `topic`."""
        events: list[EventLike] = list(event) if isinstance(event, (list, tuple)) else [event]  # type: ignore[list-item]
        topic = topic or "events"
        result = Delivered(self.name, target, "dropped")
        subscriptions = self.declared
        if subscriptions is None:
            response = yield Call(
                "GET", "/dapr/subscribe", self._app_headers(), purpose="discovery"
            )
            assert response is not None
            try:
                subscriptions = discovered(response)
            except ValueError as exc:
                result.reason = str(exc)
                return result
        chosen = next(
            (s for s in subscriptions if s.topic == topic and s.pubsubname == self.pubsub), None
        )
        if chosen is None:
            result.reason = (
                f"the app subscribes to no topic {topic!r} on {self.pubsub!r}"
                f" (its subscriptions: {[(s.pubsubname, s.topic) for s in subscriptions]})"
            )
            return result
        stored = [self.stored_form(coerce(e, "deliver"), topic) for e in events]
        path, why = self.choose(chosen, stored[0])
        if path is None:
            result.reason = why
            return self._dead_letter(result, chosen, stored[0])
        result.route = path if path.startswith("/") else f"/{path}"
        if chosen.bulk:
            return (yield from self._bulk(result, chosen, stored, topic))
        headers = [
            ("Content-Type", STRUCTURED),
            ("traceparent", str(stored[0]["traceparent"])),
            ("pubsubname", self.pubsub),
            *self._app_headers()[1:],
        ]
        call = Call("POST", result.route, headers, json.dumps(stored[0]).encode())
        clock = 0.0
        for number in range(1, self.retry + 2):
            if number > 1:
                gap = self.wait(number - 1)
                yield Wait(gap)
                clock += gap
            response = yield call
            assert response is not None
            reading, reason = self.read(response)
            result.attempts.append(Attempt.of(number, clock, response, reading, reason))
            if reading == "success":
                result.verdict = "delivered"
                return result
            if reading == "drop":
                result.reason = reason
                return self._dead_letter(result, chosen, stored[0])
        result.reason = "retries exhausted" if self.retry else "failed, and no retry policy applies"
        return self._dead_letter(result, chosen, stored[0])

    def _bulk(
        self,
        result: Delivered,
        chosen: Subscription,
        stored: list[dict[str, Any]],
        topic: str,
    ) -> Plan:
        """A bulk delivery: one `application/json` message with an entry per event, and
        the app's `statuses` read per entry."""
        entries = [
            {
                "entryId": str(n),
                "event": e,
                "metadata": {},
                "contentType": STRUCTURED,
            }
            for n, e in enumerate(stored)
        ]
        document = {
            "id": str(uuid.uuid4()),
            "type": "com.dapr.event.sent.bulk",
            "topic": topic,
            "pubsubname": self.pubsub,
            "metadata": {},
            "entries": entries,
        }
        assert result.route is not None
        call = Call("POST", result.route, self._app_headers(), json.dumps(document).encode())
        response = yield call
        assert response is not None
        ids = [str(n) for n in range(len(stored))]
        verdicts = dict.fromkeys(ids, "RETRY")
        reading: Reading = "retry"
        reason = f"{response.status}: every entry retried"
        if response.status == 404:
            verdicts, reading, reason = dict.fromkeys(ids, "DROP"), "drop", "404: all dropped"
        elif response.status is not None and 200 <= response.status <= 299:
            try:
                answer = _json(response.body, _ANSWER_BOUND)
                statuses = {
                    str(s.get("entryId")): s.get("status") or "RETRY"
                    for s in answer.get("statuses", [])
                    if isinstance(s, dict)
                }
            except (ValueError, AttributeError):
                statuses = {}
                reason = "the body is not a statuses object: every entry retried"
            else:
                reason = "statuses read per entry (a missing entry or status is RETRY)"
            verdicts = {i: str(statuses.get(i, "RETRY")) for i in ids}
            reading = "success" if all(v == "SUCCESS" for v in verdicts.values()) else "retry"
        result.attempts.append(Attempt.of(1, 0.0, response, reading, reason))
        result.entries = verdicts
        result.verdict = "delivered" if reading == "success" else "dropped"
        result.reason = reason
        if reading != "success" and chosen.dead_letter_topic:
            result.verdict = "dead-lettered"
        return result

    def _dead_letter(
        self, result: Delivered, chosen: Subscription, stored: Mapping[str, Any]
    ) -> Delivered:
        """Dropped, or sent to the subscription's `deadLetterTopic` as stored (Dapr marks
        nothing on a dead letter)."""
        if chosen.dead_letter_topic:
            decoded = decode({"content-type": STRUCTURED}, json.dumps(dict(stored)).encode())
            result.dead_letter = decoded.events[0] if decoded.events else None
            result.verdict = "dead-lettered"
            result.reason += f"; sent to the dead-letter topic {chosen.dead_letter_topic!r}"
        else:
            result.verdict = "dropped"
        return result

    def __repr__(self) -> str:
        return f"platforms.dapr(app_id={self.app_id!r}, pubsub={self.pubsub!r})"


def cel_match(expression: str, event: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether a Dapr route rule's CEL `expression` holds for `event` (with cel-python,
    extra `dapr`); a failed evaluation is (False, why)."""
    celpy = require("celpy", "Dapr's route match rules (CEL)")
    program = _PROGRAMS.get(expression)
    if program is None:
        env = celpy.Environment()
        try:
            program = env.program(env.compile(expression))
        except Exception as exc:  # cel-python's parse errors have no common base
            return False, f"the CEL expression does not parse: {exc}"
        if len(_PROGRAMS) >= _MOST_PROGRAMS:  # rules come from the app: bounded
            _PROGRAMS.clear()
        _PROGRAMS[expression] = program
    try:
        value = program.evaluate({"event": celpy.json_to_cel(dict(event))})
    except Exception as exc:  # CELEvalError and what the evaluator lets through
        return False, f"{type(exc).__name__}: {exc}"
    if not isinstance(value, bool) and type(value).__name__ != "BoolType":
        return False, f"the rule gave {value!r}, not a boolean"
    return bool(value), None


_PROGRAMS: dict[str, Any] = {}
_MOST_PROGRAMS: Final[int] = 256


#: `platforms.dapr(...)`: Dapr with its defaults (see `Dapr`).
dapr = Dapr
