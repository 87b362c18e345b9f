"""`probe`: a paced stream of numbered events through a receiver or a whole pipeline, and
what became of them (`pytest-cloudevents probe URL --rate R --duration S`).

It sends `rate` events a second for `duration` seconds to URL, each numbered in its
`sequence` extension and its id, from a source of its own (`/probe/<run>`), one after
another (`senders=N` sends from N at once, to keep the pace where answers are slow; their
sends then overlap, and the order they arrive in is no longer the order they were numbered
in); then it reads what arrived from a
standalone receiver's control API (the one at URL, or `--receiver` at the pipeline's end),
and reports the events missing, duplicated and out of order, the latency of the sends and
end to end (send to record, on the receiver's clock), and the answers by status.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, final

from pytest_cloudevents.events import attributes_of, build
from pytest_cloudevents.remote import RemoteReceiver
from pytest_cloudevents.send.client import Client
from pytest_cloudevents.spec.syntax import parse_time
from pytest_cloudevents.validate import check_seconds, check_whole

__all__ = ["ProbeReport", "probe"]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max of `values` in milliseconds (None without values)."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(
            ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)] * 1000, 3
        )

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1] * 1000, 3)}


@final
@dataclass
class ProbeReport:
    """What a probe found: events sent and their answers by status ("none": no answer),
    events received, missing, duplicated and out of order, and latencies (ms)."""

    target: str
    rate: float
    duration: float
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    received: int = 0
    missing: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    out_of_order: int = 0
    send_latency: dict[str, float | None] = field(default_factory=dict)
    end_to_end: dict[str, float | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    achieved_rate: float = 0.0

    @property
    def lossless(self) -> bool:
        """Every event arrived once, in order."""
        return not self.missing and not self.duplicated and not self.out_of_order

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON document."""
        return {
            "target": self.target,
            "rate": self.rate,
            "achieved_rate": round(self.achieved_rate, 2),
            "duration": self.duration,
            "sent": self.sent,
            "statuses": dict(sorted(self.statuses.items())),
            "received": self.received,
            "missing": len(self.missing),
            "missing_sequence": self.missing[:100],
            "duplicated": len(self.duplicated),
            "duplicated_sequence": self.duplicated[:100],
            "out_of_order": self.out_of_order,
            "send_latency_ms": self.send_latency,
            "end_to_end_ms": self.end_to_end,
            "errors": self.errors[:10],
            "lossless": self.lossless,
        }

    def render(self) -> str:
        """The report for a person, a few lines."""

        def shown(values: dict[str, float | None]) -> str:
            return " ".join(f"{k} {'-' if v is None else f'{v:g}'}" for k, v in values.items())

        answers = ", ".join(
            f"{'no response' if k == 'none' else k} {n}" for k, n in sorted(self.statuses.items())
        )
        lines = [
            f"probe {self.target}: {self.sent} events at {self.rate:g}/s for {self.duration:g} s"
            f" (achieved {self.achieved_rate:.1f}/s)",
            f"answers: {answers or 'none'}",
            f"received {self.received} of {self.sent}: missing {len(self.missing)},"
            f" duplicated {len(self.duplicated)}, out of order {self.out_of_order}",
            f"send latency ms: {shown(self.send_latency)}",
            f"end to end ms: {shown(self.end_to_end)}",
        ]
        if self.missing:
            lines.append(f"missing sequence numbers: {_ranges(self.missing)}")
        if self.errors:
            lines.append(f"errors (first): {self.errors[0]}")
        return "\n".join(lines)


def _ranges(numbers: list[int]) -> str:
    """1-3, 7, 9-10 (the first 20 ranges)."""
    parts: list[str] = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if n is not None:
            start = previous = n
    shown = ", ".join(parts[:20])
    return shown + (" ..." if len(parts) > 20 else "")


def probe(
    url: str,
    *,
    rate: float = 50.0,
    duration: float = 5.0,
    receiver: str | None = None,
    token: str | None = None,
    senders: int = 1,
    settle: float = 5.0,
    timeout: float = 5.0,
) -> ProbeReport:
    """Send `rate` numbered events a second for `duration` seconds to `url`, then read
    what the standalone receiver at `receiver` (default: `url`) recorded of them, waiting
    up to `settle` seconds for the stragglers; see the module doc."""
    check_seconds("rate", rate)
    if rate <= 0:
        raise ValueError(f"rate is events per second, more than 0, not {rate!r}")
    check_seconds("duration", duration)
    check_whole("senders", senders, minimum=1, maximum=64)
    check_seconds("settle", settle)
    count = max(1, round(rate * duration))
    run = uuid.uuid4().hex[:12]
    source = f"/probe/{run}"
    report = ProbeReport(url, rate, duration)
    # the reader first: a receiver that cannot be read is said before anything is sent
    with RemoteReceiver(receiver or url, token=token) as remote:
        sent_at: dict[int, float] = {}
        latencies: list[float] = []
        lock = threading.Lock()
        numbers = iter(range(1, count + 1))
        start = time.monotonic() + 0.05

        def send() -> None:
            with Client(url, timeout=timeout) as client:
                while True:
                    with lock:
                        number = next(numbers, None)
                    if number is None:
                        return
                    due = start + (number - 1) / rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)  # the pace: a probe is paced, by design
                    event = build(
                        {
                            "specversion": "1.0",
                            "id": f"probe-{run}-{number}",
                            "source": source,
                            "type": "io.pytest-cloudevents.probe",
                            "time": datetime.now(timezone.utc),
                            "sequence": str(number),
                        },
                        {"n": number},
                    )
                    began = time.monotonic()
                    result = client.send(event)
                    took = time.monotonic() - began
                    with lock:
                        sent_at[number] = began
                        report.sent += 1
                        report.statuses[str(result.status) if result.status else "none"] += 1
                        if result.status is not None:
                            latencies.append(took)
                        elif result.error is not None and len(report.errors) < 10:
                            report.errors.append(f"#{number}: {result.error}")

        workers = [threading.Thread(target=send, daemon=True) for _ in range(senders)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = max(1e-9, time.monotonic() - start)
        report.achieved_rate = report.sent / elapsed
        acknowledged = sum(n for k, n in report.statuses.items() if k.startswith("2"))
        if acknowledged:  # the stragglers of a pipeline, for up to `settle` seconds
            with contextlib.suppress(AssertionError):  # fewer arrived: the report says which
                remote.wait_for(source=source, count=acknowledged, timeout=settle)
        arrived: list[tuple[int, int, datetime, datetime | None]] = []
        for delivery in remote.deliveries:
            if delivery.outcome != "accepted":
                continue
            for event in delivery.events:
                attributes = attributes_of(event)
                if attributes.get("source") != source:
                    continue
                written = attributes.get("time")
                sent_time = parse_time(written) if isinstance(written, str) else None
                arrived.append(
                    (delivery.seq, int(attributes["sequence"]), delivery.timestamp, sent_time)
                )
    arrived.sort()
    seen = Counter(number for _, number, _, _ in arrived)
    report.received = len(arrived)
    report.missing = [n for n in range(1, count + 1) if n not in seen]
    report.duplicated = sorted(n for n, times in seen.items() if times > 1)
    highest = 0
    for _, number, _, _ in arrived:
        if number < highest:
            report.out_of_order += 1
        highest = max(highest, number)
    report.send_latency = _percentiles(latencies)
    report.end_to_end = _percentiles(
        [(got - sent).total_seconds() for _, _, got, sent in arrived if sent is not None]
    )
    return report
