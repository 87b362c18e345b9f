"""`source` + `id` uniqueness (core spec: producers MUST make the pair unique per distinct
event): the groups of accepted events sharing one pair, and what tells a retry (the same
event sent again) from a reused id (a different event)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.wire import event_to_json

__all__ = ["Reuse", "duplicate_groups", "reuses"]


@dataclass(frozen=True)
class _Seen:
    number: int  # the delivery's number in the log, from 1
    event: CloudEvent
    doc: dict[str, Any]


def _groups(deliveries: list[Delivery]) -> list[list[_Seen]]:
    by_key: dict[tuple[str, str], list[_Seen]] = {}
    for number, delivery in enumerate(deliveries, 1):
        if delivery.outcome != "accepted":
            continue
        for event in delivery.events:
            doc = event_to_json(event)
            key = (str(doc.get("source")), str(doc.get("id")))
            by_key.setdefault(key, []).append(_Seen(number, event, doc))
    return [group for group in by_key.values() if len(group) > 1]


def duplicate_groups(deliveries: list[Delivery]) -> list[list[CloudEvent]]:
    """Accepted events that share `source` + `id`, grouped, in arrival order."""
    return [[seen.event for seen in group] for group in _groups(deliveries)]


@dataclass(frozen=True)
class Reuse:
    """Two deliveries whose events share `source` + `id`; `differences` lists the
    attributes (and `data`) that differ, empty for an identical re-send."""

    source: str
    id: str
    first: int
    second: int
    differences: tuple[str, ...]

    def __str__(self) -> str:
        pair = f"source {self.source!r} + id {self.id!r}"
        if not self.differences:
            return f"{pair}: delivery #{self.second} re-sends delivery #{self.first}'s event"
        return (
            f"{pair} names two different events: delivery #{self.first} and delivery"
            f" #{self.second} differ in " + "; ".join(self.differences)
        )


def reuses(deliveries: list[Delivery], *, retries: bool) -> list[Reuse]:
    """Each later event that shares its pair with the first of its group and differs
    from it (with `retries=False`, identical re-sends count too)."""
    found = []
    for group in _groups(deliveries):
        first = group[0]
        for later in group[1:]:
            differences = _differences(first.doc, later.doc)
            if differences or not retries:
                found.append(
                    Reuse(
                        str(first.doc.get("source")),
                        str(first.doc.get("id")),
                        first.number,
                        later.number,
                        tuple(differences),
                    )
                )
    return found


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            out.append(f"{name} ({a.get(name, '(unset)')!r} != {b.get(name, '(unset)')!r})")
    return out
