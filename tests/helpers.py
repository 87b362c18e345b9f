"""Messages shared by the test modules."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from pytest_cloudevents.spec.syntax import parse_time

HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "evt-1",
    "ce-source": "/tests",
    "ce-type": "com.example.test",
    "content-type": "application/json",
}


def binary(**changes: str | None) -> dict[str, str]:
    """Binary-mode headers for a valid event; a value of None removes that header."""
    headers = dict(HEADERS)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


def structured(**members: Any) -> tuple[dict[str, str], bytes]:
    """A structured-mode message for a valid event with `members` added or replaced."""
    doc = {"specversion": "1.0", "id": "evt-1", "source": "/tests", "type": "com.example.test"}
    doc.update(members)
    return {"content-type": "application/cloudevents+json"}, json.dumps(doc).encode()


def attr(event: Any, name: str) -> Any:
    """An attribute of an event of either SDK generation (None when it is unset)."""
    return event.get_attributes().get(name)


def when(event: Any) -> datetime | None:
    """An event's `time` as a datetime, whichever SDK generation built it (2.x keeps a
    datetime, 1.x the RFC 3339 string)."""
    value = attr(event, "time")
    return parse_time(value) if isinstance(value, str) else value


class Ticker:
    """Counts the turns an event loop gets while the awaited work runs: a blocked loop
    counts none. `async with Ticker() as ticker: ...; ticker.ticks`."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
