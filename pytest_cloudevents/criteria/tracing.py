"""`same_trace(...)`: a criterion value for W3C Trace Context propagation (the CloudEvents
distributed-tracing extension): a `traceparent` in the same trace as a given event's."""

from __future__ import annotations

from typing import Any

from pytest_cloudevents.criteria.match import Criterion
from pytest_cloudevents.events import attribute_of, is_event
from pytest_cloudevents.spec.syntax import parse_traceparent

__all__ = ["parse_traceparent", "same_trace"]


class _SameTrace(Criterion):
    def __init__(self, trace: str, shown: str) -> None:
        self.trace = trace
        self.shown = shown

    def check(self, value: Any) -> str | None:
        parsed = parse_traceparent(value)
        if parsed is None:
            return f"expected a valid traceparent in trace {self.trace}, got {value!r}"
        if parsed[0] != self.trace:
            return (
                f"in trace {parsed[0]}, not in {self.shown}'s trace {self.trace}: the trace was"
                " not propagated (a new one was started)"
            )
        return None

    def __repr__(self) -> str:
        return f"same_trace({self.trace})"


def same_trace(event_or_traceparent: Any) -> Criterion:
    """Matches a `traceparent` in the same trace (same trace id) as the given event's or
    `traceparent` value: `assert_received(type="x", traceparent=same_trace(order))`."""
    if is_event(event_or_traceparent):
        value = attribute_of(event_or_traceparent, "traceparent")
        shown = "the event"
        if value is None:
            raise ValueError(
                "same_trace takes an event that carries a traceparent (the distributed-tracing"
                " extension), or a traceparent value; this event has none"
            )
    else:
        value, shown = event_or_traceparent, "the given traceparent"
    parsed = parse_traceparent(value)
    if parsed is None:
        raise ValueError(
            "same_trace takes a valid W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>),"
            f" not {value!r}"
        )
    return _SameTrace(parsed[0], shown)
