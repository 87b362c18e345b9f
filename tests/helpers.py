"""Messages shared by the test modules."""

from __future__ import annotations

import json
from typing import Any

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
