"""Google Eventarc (Cloud Run, functions-framework) over a Pub/Sub push subscription: the
delivery to a service (binary mode to `/`, the event of a Pub/Sub trigger with its message
in `data`, the push endpoint's success codes, the exponential retry for the message's
retention or the dead-letter topic after `max_delivery_attempts`), from
`../shared/platforms.md` section 4 (Google's Eventarc and Pub/Sub docs, google-cloudevents,
functions-framework). Eventarc has no ingress a producer posts CloudEvents to."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Final, Literal, final

from pytest_cloudevents.events import EventLike, attributes_of, build, data_of, format_time
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
    with_attributes,
)
from pytest_cloudevents.validate import check_whole
from pytest_cloudevents.wire import encode
from pytest_cloudevents.wire.binding import data_bytes

__all__ = ["PUBLISHED", "Eventarc", "eventarc", "pubsub_message"]

#: The type of a Pub/Sub trigger's events.
PUBLISHED: Final[str] = "google.cloud.pubsub.topic.v1.messagePublished"
#: Statuses a push endpoint acknowledges with.
ACKS: Final[frozenset[int]] = frozenset({102, 200, 201, 202, 204})
#: What Eventarc Advanced retries.
ADVANCED_RETRIED: Final[frozenset[int]] = frozenset({408, 409, 429, 500, 502, 503, 504})
RETENTION: Final[float] = 24 * 3600.0


def pubsub_message(
    data: bytes | str | Mapping[str, Any] | None,
    *,
    attributes: Mapping[str, str] | None = None,
    message_id: str | None = None,
    ordering_key: str | None = None,
    subscription: str = "projects/my-project/subscriptions/eventarc-sub",
    delivery_attempt: int | None = None,
) -> dict[str, Any]:
    """The `data` of a `messagePublished` event: `{message: {data (base64), attributes,
    messageId, publishTime, orderingKey}, subscription}` (google-cloudevents'
    `MessagePublishedData`)."""
    if isinstance(data, Mapping):
        raw = json.dumps(data).encode()
    elif isinstance(data, str):
        raw = data.encode()
    else:
        raw = data or b""
    message: dict[str, Any] = {
        "data": b64(raw),
        "attributes": dict(attributes or {}),
        "messageId": message_id or str(uuid.uuid4().int)[:16],
        "publishTime": format_time(datetime.now(timezone.utc)),
    }
    if ordering_key:
        message["orderingKey"] = ordering_key
    out: dict[str, Any] = {"message": message, "subscription": subscription}
    if delivery_attempt is not None:
        out["deliveryAttempt"] = delivery_attempt
    return out


@final
class Eventarc(IngressBase):
    """Eventarc's delivery to a Cloud Run service or a function (sender).

    - `project`, `topic`: the Pub/Sub topic of the trigger (the event's `source`);
    - `retry`: "standard" (Pub/Sub's exponential backoff, 10 s doubling to 600 s, for
      `retention` seconds, 24 h) or "advanced" (Eventarc Advanced: 408, 409, 429 and 5xx
      only, 1 s doubling to 60 s, 5 attempts);
    - `max_delivery_attempts` (5-100): with a dead-letter topic (`dead_letter=True`), the
      attempts before the message goes there;
    - `timeout`: the push deadline (the subscription's ack deadline, 10 s by default).

    An event whose type is Google's (`google.cloud.*`) is delivered as it is; any other is
    published to the trigger's topic and delivered as a `messagePublished` event with it
    in the message (its data as the message's data, its attributes as the message's).
    """

    name = "eventarc"

    def __init__(
        self,
        *,
        project: str = "my-project",
        topic: str = "events",
        retry: Literal["standard", "advanced"] = "standard",
        max_delivery_attempts: int = 5,
        dead_letter: bool = False,
        retention: float = RETENTION,
        timeout: float = 10.0,
    ) -> None:
        if retry not in ("standard", "advanced"):
            raise ValueError(f"retry is 'standard' or 'advanced', not {retry!r}")
        self.project, self.topic, self.retry = project, topic, retry
        self.max_delivery_attempts = check_whole(
            "max_delivery_attempts (5-100)", max_delivery_attempts, minimum=5, maximum=100
        )
        self.dead_letter = bool(dead_letter)
        self.retention = float(retention)
        self.timeout = float(timeout)

    def wrapped(self, event: EventLike, attempt: int) -> Any:
        """The event as Eventarc delivers it (see the class doc), `time` always set."""
        attributes = attributes_of(event)
        attributes.setdefault("time", format_time(datetime.now(timezone.utc)))
        if str(attributes.get("type", "")).startswith("google.cloud."):
            return build(attributes, data_of(event))
        data = data_of(event)
        content_type = attributes.get("datacontenttype")
        raw = data_bytes(data, content_type) if data is not None else b""
        message_attributes = {
            k: str(v)
            for k, v in attributes.items()
            if k not in ("id", "source", "specversion", "time", "datacontenttype", "data")
        }
        message = pubsub_message(
            raw,
            attributes=message_attributes,
            message_id=str(attributes.get("id")),
            subscription=f"projects/{self.project}/subscriptions/eventarc-{self.topic}-sub",
            delivery_attempt=attempt if self.dead_letter else None,
        )
        return build(
            {
                "id": str(attributes.get("id")),
                "source": f"//pubsub.googleapis.com/projects/{self.project}/topics/{self.topic}",
                "type": PUBLISHED,
                "specversion": "1.0",
                "time": attributes["time"],
                "datacontenttype": "application/json",
            },
            message,
        )

    def read(self, response: Response) -> tuple[Reading, str]:
        """A push endpoint's answer: 102, 200, 201, 202 and 204 acknowledge; the rest
        (Advanced: 408, 409, 429 and 5xx) are retried."""
        status = response.status
        if status is None:
            return "retry", "no answer within the push deadline: retried"
        if status in ACKS:
            return "success", f"{status} acknowledges"
        if self.retry == "advanced" and status not in ADVANCED_RETRIED:
            return "terminal", f"{status} is not retried by Eventarc Advanced"
        crash = response.headers.get("x-google-status")
        why = f"{status} is a negative acknowledgement: retried"
        return "retry", why + (f" (X-Google-Status: {crash})" if crash else "")

    def gap(self, retry: int) -> float:
        """The wait before retry `retry` (1, 2, ...)."""
        if self.retry == "advanced":
            return float(min(2 ** (retry - 1), 60))
        return float(min(10 * 2 ** (retry - 1), 600))

    def plan(self, event: EventLike, target: str) -> Plan:
        """Binary-mode POSTs on the schedule until acknowledged, out of retention, or
        dead-lettered."""
        result = Delivered(self.name, target, "dropped")
        limit = 5 if self.retry == "advanced" else None
        if self.dead_letter:
            limit = (
                self.max_delivery_attempts
                if limit is None
                else min(limit, self.max_delivery_attempts)
            )
        clock = 0.0
        number = 0
        sent = None
        while True:
            number += 1
            if number > 1:
                wait = self.gap(number - 1)
                if clock + wait > self.retention:
                    result.reason = "the message's retention ran out"
                    break
                yield Wait(wait)
                clock += wait
            sent = self.wrapped(event, number)
            headers, body = encode(sent, "binary")
            response = yield Call("POST", None, list(headers.items()), body, timeout=self.timeout)
            assert response is not None
            reading, reason = self.read(response)
            result.attempts.append(Attempt.of(number, clock, response, reading, reason))
            if reading == "success":
                result.verdict = "delivered"
                return result
            if reading == "terminal":
                result.reason = reason
                break
            if limit is not None and number >= limit:
                result.reason = f"{number} delivery attempts made"
                break
        if self.dead_letter and sent is not None:
            result.verdict = "dead-lettered"
            result.dead_letter = self._dead_lettered(sent, len(result.attempts))
        return result

    def _dead_lettered(self, sent: Any, attempts: int) -> Any:
        """The message as the dead-letter topic gets it: Pub/Sub adds the
        `CloudPubSubDeadLetterSource*` attributes to the message (names from Google's
        dead-letter docs; `../shared/platforms.md` marks them unconfirmed)."""
        data = data_of(sent)
        if not (isinstance(data, dict) and isinstance(data.get("message"), dict)):
            return with_attributes(sent, {})
        message = dict(data["message"])
        message["attributes"] = {
            **message.get("attributes", {}),
            "CloudPubSubDeadLetterSourceDeliveryCount": str(attempts),
            "CloudPubSubDeadLetterSourceSubscription": f"eventarc-{self.topic}-sub",
            "CloudPubSubDeadLetterSourceSubscriptionProject": self.project,
            "CloudPubSubDeadLetterSourceTopicPublishTime": message.get("publishTime", ""),
        }
        return build(attributes_of(sent), {**data, "message": message})

    def __repr__(self) -> str:
        return f"platforms.eventarc(project={self.project!r}, topic={self.topic!r})"


#: `platforms.eventarc(...)`: Eventarc with its defaults (see `Eventarc`).
eventarc = Eventarc
