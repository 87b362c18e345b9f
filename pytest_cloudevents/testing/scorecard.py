"""The conformance kit behind `pytest-cloudevents check`: send a consumer valid events in
every mode and every case of `invalid_messages()`, and score each answer.

A valid event must be acknowledged (2xx); a malformed message must be refused (any other
status; 4xx is what a consumer should send, and a 5xx is noted). The consumer fails the
check when it acknowledges a malformed message or refuses a valid one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pytest_cloudevents.config import default
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

    @property
    def failures(self) -> list[Row]:
        """Malformed messages acknowledged and valid events refused."""
        return [r for r in self.rows if r.verdict == "fail"]

    @property
    def unreachable(self) -> bool:
        """True when some message got no answer at all."""
        return any(r.verdict == "unreachable" for r in self.rows)

    @property
    def passed(self) -> bool:
        """True when every message got the answer it should."""
        return not self.failures and not self.unreachable

    def to_json(self) -> dict[str, Any]:
        """The scorecard for machines (`check --json`)."""
        return {
            "target": self.target,
            "passed": self.passed,
            "failures": len(self.failures),
            "rows": [asdict(r) for r in self.rows],
        }

    def render(self) -> str:
        """The scorecard for people: one line per message, grouped valid first, then by
        rule, and a summary."""
        width = max(len(r.case) for r in self.rows) if self.rows else 10
        lines = [f"conformance check of {self.target}", ""]
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
) -> Check:
    """Score the consumer at `target` (a URL, or a WSGI/ASGI app in-process)."""
    check = Check(target if isinstance(target, str) else repr(target))
    factory = EventFactory(seed=0)
    with Client(target, timeout=timeout, headers=headers) as client:
        for mode in ("binary", "structured"):
            event = factory.make("com.example.check", data={"mode": mode})
            check.rows.append(
                _valid(
                    f"valid-{mode}", f"a valid event, {mode} mode", client.send(event, mode=mode)
                )
            )
        batch = [factory.make("com.example.check", data={"n": n}) for n in range(2)]
        check.rows.append(
            _valid("valid-batch", "a batch of two valid events", client.send_batch(batch))
        )
        for case in invalid_messages(max_body=max_body):
            result = client.send_raw(case.headers, case.body)
            check.rows.append(_malformed(case.id, case.code, case.description, result))
    return check


def _valid(case: str, description: str, result: Result) -> Row:
    if result.is_undelivered:
        return Row(case, "valid", description, "ack", None, "unreachable", _error(result))
    verdict: Verdict = "pass" if result.is_ack else "fail"
    note = "" if result.is_ack else "a valid event was refused"
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
