"""`ce_snapshot`: syrupy snapshots of CloudEvents (extra `snapshot`).

`assert ce_receiver.events == ce_snapshot` stores the events as their JSON-format dicts,
keys sorted, one attribute per line, with the attributes that change from run to run
masked (`id`, `time`, `traceparent`, `tracestate` by default), so a snapshot is stable and a
change shows as a diff of the attributes that changed. `--snapshot-update` writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from syrupy.extensions.json import JSONSnapshotExtension

from pytest_cloudevents.events import is_event
from pytest_cloudevents.wire import event_to_json

__all__ = ["VOLATILE", "CloudEventsExtension"]

#: Attributes masked by default: they differ on every run of a producer.
VOLATILE: tuple[str, ...] = ("id", "time", "traceparent", "tracestate")


class CloudEventsExtension(JSONSnapshotExtension):
    """syrupy's JSON extension, with CloudEvents stored as masked JSON-format dicts.
    `CloudEventsExtension.masking("id", "sequence")` makes one masking other attributes."""

    masked: ClassVar[tuple[str, ...]] = VOLATILE

    @classmethod
    def masking(cls, *names: str) -> type[CloudEventsExtension]:
        """An extension masking exactly `names` (none: store every attribute as it is)."""
        if not all(isinstance(n, str) and n for n in names):
            raise TypeError(f"masking takes attribute names, not {names!r}")
        return type("CloudEventsExtension", (cls,), {"masked": tuple(names)})

    def serialize(self, data: Any, **kwargs: Any) -> Any:
        return super().serialize(self._plain(data), **kwargs)

    def _plain(self, data: Any) -> Any:
        if is_event(data):
            doc = event_to_json(data)
            return {k: (f"<{k}>" if k in self.masked else v) for k, v in sorted(doc.items())}
        if isinstance(data, dict):
            return {k: self._plain(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)) or (
            isinstance(data, Iterable) and not isinstance(data, (str, bytes))
        ):
            return [self._plain(item) for item in data]
        return data
