"""The conformance kit behind `pytest-cloudevents check`: send a consumer valid events in
every mode and every case of `invalid_messages()`, and score each answer; with a platform,
deliver as that platform does and score the consumer against its contract too.

A valid event must be acknowledged (2xx); a malformed message must be refused (any other
status; 4xx is what a consumer should send, and a 5xx is noted). The consumer fails the
check when it acknowledges a malformed message or refuses a valid one. Batches are sent
only when asked (`batch=True`): the HTTP binding forbids sending a batch to a consumer that
did not ask for one. A consumer that cannot be reached ends the check at the first message.

Platform rows (`platform=`): Knative retries a 5xx, so a malformed event answered 5xx makes
a retry storm (a failure there); Dapr's `/dapr/subscribe` must be well formed and each
subscription's route must answer a valid event SUCCESS (a `{"status":"success"}` is read as
RETRY: statuses are case-sensitive); Event Grid and webhooks need the OPTIONS handshake
answered; every platform's valid delivery must end "delivered".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pytest_cloudevents.config import default
from pytest_cloudevents.platforms import Dapr, Knative, Platform, resolve
from pytest_cloudevents.platforms.contract import Delivered, body_head
from pytest_cloudevents.send.client import Client
from pytest_cloudevents.send.result import Result
from pytest_cloudevents.testing.catalogue import invalid_messages
from pytest_cloudevents.testing.factories import EventFactory

__all__ = ["Check", "Row", "run_check"]

Verdict = Literal["pass", "fail", "unreachable"]


@dataclass
class Row:
    """One message sent and what the consumer made of it."""

    case: str
    rule: str  # the violation code a malformed message breaks; "valid" for valid events
    description: str
    expected: Literal["ack", "refuse"]
    status: int | None
    verdict: Verdict
    note: str = ""


@dataclass
class Check:
    """The scorecard of one consumer."""

    target: str
    rows: list[Row] = field(default_factory=list)
    platform: str | None = None
    #: why the consumer could not be reached (the check stops there)
    unreachable_error: str | None = None

    @property
    def failures(self) -> list[Row]:
        """Malformed messages acknowledged and valid events refused."""
        return [r for r in self.rows if r.verdict == "fail"]

    @property
    def unreachable(self) -> bool:
        """True when some message got no answer at all."""
        return self.unreachable_error is not None or any(
            r.verdict == "unreachable" for r in self.rows
        )

    @property
    def passed(self) -> bool:
        """True when every message got the answer it should."""
        return not self.failures and not self.unreachable

    def to_json(self) -> dict[str, Any]:
        """The scorecard for machines (`check --json`)."""
        return {
            "target": self.target,
            "platform": self.platform,
            "unreachable": self.unreachable_error,
            "passed": self.passed,
            "failures": len(self.failures),
            "rows": [asdict(r) for r in self.rows],
        }

    def render(self) -> str:
        """The scorecard for people: one line per message, grouped valid first, then by
        rule, and a summary."""
        if self.unreachable_error is not None:
            return f"cannot reach {self.target}: {self.unreachable_error}"
        width = max(len(r.case) for r in self.rows) if self.rows else 10
        against = f" against {self.platform}'s contract and the spec" if self.platform else ""
        lines = [f"conformance check of {self.target}{against}", ""]
        for row in self.rows:
            mark = {"pass": "ok  ", "fail": "FAIL", "unreachable": "----"}[row.verdict]
            want = "acknowledge" if row.expected == "ack" else "refuse"
            got = "no answer" if row.status is None else str(row.status)
            note = f"  ({row.note})" if row.note else ""
            head = f"{mark} {row.case:<{width}}  should {want:<11} got {got:<9}"
            lines.append(f"{head} {row.description}{note}")
        refused_ok = sum(r.verdict == "pass" and r.expected == "refuse" for r in self.rows)
        malformed = sum(r.expected == "refuse" for r in self.rows)
        valid_ok = sum(r.verdict == "pass" and r.expected == "ack" for r in self.rows)
        valid = sum(r.expected == "ack" for r in self.rows)
        lines += [
            "",
            f"valid events acknowledged: {valid_ok}/{valid}",
            f"malformed messages refused: {refused_ok}/{malformed}",
        ]
        if self.failures:
            rules = sorted({r.rule for r in self.failures if r.expected == "refuse"})
            if rules:
                lines.append("rules the consumer lets through: " + ", ".join(rules))
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


def run_check(
    target: str | object,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = default("send_timeout"),
    max_body: int = default("max_body"),
    platform: str | Platform | None = None,
    batch: bool = False,
) -> Check:
    """Score the consumer at `target` (a URL, or a WSGI/ASGI app in-process), against
    `platform`'s contract too when one is given; `batch=True` adds a batch."""
    chosen = None if platform is None else resolve(platform)
    check = Check(target if isinstance(target, str) else repr(target))
    check.platform = None if chosen is None else chosen.name
    factory = EventFactory(seed=0)
    with Client(target, timeout=timeout, headers=headers) as client:
        first = client.send(factory.make("com.example.check", data={"mode": "binary"}))
        if first.is_undelivered:
            check.unreachable_error = _error(first)
            return check
        if isinstance(chosen, Dapr):
            _dapr_rows(check, client, chosen, factory)
            return check
        check.rows.append(_valid("valid-binary", "a valid event, binary mode", first))
        event = factory.make("com.example.check", data={"mode": "structured"})
        check.rows.append(
            _valid(
                "valid-structured",
                "a valid event, structured mode",
                client.send(event, mode="structured"),
            )
        )
        if batch:
            events = [factory.make("com.example.check", data={"n": n}) for n in range(2)]
            check.rows.append(
                _valid("valid-batch", "a batch of two valid events", client.send_batch(events))
            )
        if chosen is not None:
            event = factory.make("com.example.check", data={"platform": chosen.name})
            check.rows.append(_platform_row(chosen, client.deliver(event, platform=chosen)))
        for case in invalid_messages(max_body=max_body):
            if case.code.startswith("batch") and not batch:
                continue
            result = client.send_raw(case.headers, case.body)
            row = _malformed(case.id, case.code, case.description, result)
            if isinstance(chosen, Knative) and row.verdict == "pass" and (row.status or 0) >= 500:
                row.verdict = "fail"
                row.note = "Knative retries a 5xx: a malformed event is retried until dead-lettered"
            check.rows.append(row)
    return check


def _platform_row(platform: Platform, delivered: Delivered) -> Row:
    """The row of a valid event delivered as the platform delivers it."""
    last = delivered.attempts[-1] if delivered.attempts else None
    status = None if last is None else last.status
    note = delivered.reason
    if last is not None and last.body:
        note = f"{note}; body {body_head(last.body)}" if note else f"body {body_head(last.body)}"
    verdict: Verdict = "pass" if delivered.is_success else "fail"
    if delivered.attempts and all(a.status is None for a in delivered.attempts):
        verdict = "unreachable"
    return Row(
        f"{platform.name}-delivery",
        platform.name,
        f"a valid event delivered as {platform.name} delivers ({delivered.verdict})",
        "ack",
        status,
        verdict,
        note,
    )


def _dapr_rows(check: Check, client: Client, dapr: Dapr, factory: EventFactory) -> None:
    """Dapr's contract: `/dapr/subscribe` well formed, then a valid event to each
    subscription, read as the sidecar reads the answer."""
    try:
        subscriptions = dapr.subscriptions(client.target, client=client)
    except ValueError as exc:
        check.rows.append(
            Row("dapr-subscribe", "dapr", "GET /dapr/subscribe", "ack", None, "fail", str(exc))
        )
        return
    note = "" if subscriptions else "the app declares no subscriptions (404 or [])"
    check.rows.append(
        Row("dapr-subscribe", "dapr", "GET /dapr/subscribe, well formed", "ack", 200, "pass", note)
    )
    for subscription in subscriptions:
        event = factory.make("com.example.check", data={"topic": subscription.topic})
        platform = Dapr(
            app_id=dapr.app_id,
            pubsub=subscription.pubsubname,
            subscriptions=None,
            app_token=dapr.app_token,
        )
        delivered = client.deliver(event, platform=platform, topic=subscription.topic)
        row = _platform_row(platform, delivered)
        row.case = f"dapr-{subscription.pubsubname}-{subscription.topic}"
        check.rows.append(row)


def _valid(case: str, description: str, result: Result) -> Row:
    if result.is_undelivered:
        return Row(case, "valid", description, "ack", None, "unreachable", _error(result))
    verdict: Verdict = "pass" if result.is_ack else "fail"
    note = "" if result.is_ack else "a valid event was refused"
    if result.body:  # a 2xx body can say more than its status ("200 DROP")
        note = (
            f"{note}; body {body_head(result.body)}" if note else f"body {body_head(result.body)}"
        )
    return Row(case, "valid", description, "ack", result.status_code, verdict, note)


def _malformed(case: str, rule: str, description: str, result: Result) -> Row:
    if result.is_undelivered:
        return Row(case, rule, description, "refuse", None, "unreachable", _error(result))
    if result.is_ack:
        return Row(case, rule, description, "refuse", result.status_code, "fail", "let through")
    status = result.status_code or 0
    note = "refused with a server error; 4xx says the message is at fault" if status >= 500 else ""
    return Row(case, rule, description, "refuse", status, "pass", note)


def _error(result: Result) -> str:
    return f"{type(result.error).__name__}: {result.error}" if result.error else "no answer"
