"""Event factories on Faker, deterministic per seed (the same seed makes the same events,
byte for byte)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, final

from pytest_cloudevents.events import CloudEvent, build, format_time
from pytest_cloudevents.spec.rules import check_attributes
from pytest_cloudevents.validate import check_whole

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["DEFAULT_SOURCE", "EventFactory", "SeededClock"]

#: The source `make` uses when neither a template nor the call gives one.
DEFAULT_SOURCE: Final[str] = "/pytest-cloudevents"
Value = Any  # an attribute value, or a function of the seeded Faker giving one


class SeededClock:
    """Reproducible event times: a fixed instant derived from the seed (within 2020-2029),
    then one second later for every event."""

    EPOCH: Final[datetime] = datetime(2020, 1, 1, tzinfo=timezone.utc)

    def __init__(self, seed: int) -> None:
        self._next = self.EPOCH + timedelta(seconds=seed % (10 * 365 * 86400))

    def __call__(self) -> datetime:
        now, self._next = self._next, self._next + timedelta(seconds=1)
        return now


@dataclass(frozen=True)
class _Template:
    attributes: dict[str, Value]
    data: Value


@final
class EventFactory:
    """Valid CloudEvents in one line, reproducible from a seed.

    `make(type, data=..., **attributes)` fills `id` (from the seeded generator),
    `source`, `time` (from the seeded clock: a fixed instant derived from the seed,
    advancing one second per event; `time="now"` for the real time, `clock=` for your
    own), `specversion` and, for dict or list data, `datacontenttype: application/json`.
    Templates from `define` give per-type defaults; keyword arguments override them. Any
    value may be a function of the seeded Faker (`data=lambda fake: {"name": fake.name()}`).
    What `make` returns breaks no MUST or
    SHOULD rule: anything else raises ValueError naming the rule.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        locale: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        check_whole("seed", seed)
        if clock is not None and not callable(clock):
            raise TypeError(f"clock takes a function returning a datetime, not {clock!r}")
        self._clock = clock if clock is not None else SeededClock(seed)
        from faker import Faker  # imported on first use: it takes half a second

        self.seed = seed
        self.fake: Faker = Faker(locale)
        self.fake.seed_instance(seed)
        self._rng = random.Random(seed)
        self._templates: dict[str, _Template] = {}
        self._sequence = 0

    def define(self, type: str, *, data: Value = None, **attributes: Value) -> None:
        """Set the defaults for events of `type`: `source`, `data`, any attribute."""
        if not isinstance(type, str) or not type:
            raise TypeError(f"define takes an event type such as 'com.example.x', not {type!r}")
        self._templates[type] = _Template(dict(attributes), data)

    def make(self, type: str, *, data: Value = None, **attributes: Value) -> CloudEvent:
        """One valid event of `type`; keywords override the template of that type."""
        if not isinstance(type, str):
            raise TypeError(
                f"make takes the event type first, e.g. make('com.example.x'), not {type!r}"
            )
        template = self._templates.get(type, _Template({}, None))
        merged = {**template.attributes, **attributes}
        chosen = data if data is not None else template.data
        payload = self._resolve(chosen)
        raw: dict[str, Any] = {
            "specversion": "1.0",
            "id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "source": DEFAULT_SOURCE,
            "type": type,
            "time": self._clock(),
        }
        raw.update({name: self._resolve(value) for name, value in merged.items()})
        if raw.get("time") == "now":
            raw["time"] = datetime.now(timezone.utc)
        if isinstance(payload, (dict, list)) and "datacontenttype" not in raw:
            raw["datacontenttype"] = "application/json"
        raw = {k: v for k, v in raw.items() if v is not None}
        for name, value in raw.items():
            if isinstance(value, datetime):
                raw[name] = format_time(value)
        try:  # JSON has no NaN or Infinity: such data could never be sent
            json.dumps(payload, allow_nan=False, default=lambda value: None)
        except ValueError as exc:
            raise ValueError(
                f"make({type!r}): the data cannot be sent as JSON ({exc}): NaN and Infinity"
                " have no JSON form; use a finite number or None"
            ) from None
        problems = check_attributes(raw)
        if problems:
            rules = "; ".join(f"{p} ({p.level.value})" for p in problems)
            raise ValueError(
                f"make({type!r}) would build an event that breaks the CloudEvents spec: {rules}."
                " For deliberately broken messages use invalid_messages() and client.send_raw"
            )
        return build(raw, payload)

    def make_many(self, count: int, type: str, **attributes: Value) -> list[CloudEvent]:
        """`count` events of `type`, each with its own id (and fresh fake data)."""
        check_whole("count", count, minimum=0)
        return [self.make(type, **attributes) for _ in range(count)]

    def traceparent(self) -> str:
        """A valid W3C `traceparent` value (the distributed-tracing extension), seeded."""
        trace = self._rng.getrandbits(128) or 1
        span = self._rng.getrandbits(64) or 1
        return f"00-{trace:032x}-{span:016x}-01"

    def sequence(self) -> str:
        """The next value of the `sequence` extension: increasing, lexicographically
        orderable (zero-padded) strings, per factory."""
        self._sequence += 1
        return f"{self._sequence:010d}"

    def partitionkey(self) -> str:
        """A `partitionkey` extension value, from the seeded Faker."""
        return f"{self.fake.word()}-{self._rng.randrange(1000):03d}"

    def _resolve(self, value: Value) -> Any:
        return value(self.fake) if callable(value) else value

    def __repr__(self) -> str:
        return f"<EventFactory seed={self.seed} templates={sorted(self._templates)}>"
