"""Ordering of received events: `sequence_of(source)` and `assert_ordered(by=, per=)`.

`by="sequence"` compares the sequence extension's values as strings, as the extension
requires them to be lexicographically orderable (a producer pads integers with zeros);
`by="time"` compares the RFC 3339 times. Events are grouped by `per` (`source`, or
`partitionkey` for a partitioned stream) and must not go backwards within a group, in
arrival order; an equal value (a retry, at-least-once delivery) is in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from pytest_cloudevents.events import CloudEvent, attribute_of, format_time
from pytest_cloudevents.spec.syntax import parse_time

__all__ = ["ORDER_BY", "ORDER_PER", "disorder"]

ORDER_BY: Final[tuple[str, ...]] = ("sequence", "time")
ORDER_PER: Final[tuple[str, ...]] = ("source", "partitionkey")


def _key(event: CloudEvent, by: str) -> Any:
    value = attribute_of(event, by)
    if value is None:
        return None
    if by == "time":
        if isinstance(value, datetime):
            return value
        return parse_time(str(value))
    return str(value)


def _shown(value: Any) -> str:
    return format_time(value) if isinstance(value, datetime) else repr(value)


def disorder(events: Iterable[CloudEvent], *, by: str, per: str) -> list[str]:
    """One line per event that goes backwards within its group (or lacks `by`)."""
    last: dict[str, tuple[Any, str]] = {}
    lines = []
    for index, event in enumerate(events, 1):
        group = str(attribute_of(event, per, "(none)"))
        ident = str(attribute_of(event, "id"))
        key = _key(event, by)
        if key is None:
            lines.append(f"event #{index} (id {ident!r}, {per} {group!r}) has no usable {by}")
            continue
        previous = last.get(group)
        if previous is not None and key < previous[0]:
            lines.append(
                f"event #{index} (id {ident!r}) has {by} {_shown(key)}, after {_shown(previous[0])}"
                f" (id {previous[1]!r}) from the same {per} {group!r}"
            )
            continue
        last[group] = (key, ident)
    return lines
