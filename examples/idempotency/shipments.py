"""Two versions of a producer of shipment events. `announce_reusing_ids` uses the order id
as every event's id, so `order.packed` and `order.shipped` for one order share source + id
(which the spec forbids: consumers deduplicating on it drop the second event);
`announce` gives each event its own id."""

from __future__ import annotations

import json
import uuid

import requests


def _post(sink_url: str, event_id: str, type_: str, order_id: str) -> None:
    requests.post(
        sink_url,
        headers={
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": "/warehouse",
            "ce-type": type_,
            "ce-subject": order_id,
            "content-type": "application/json",
        },
        data=json.dumps({"order": order_id}),
        timeout=5,
    )


def announce_reusing_ids(sink_url: str, order_id: str) -> None:
    for type_ in ("com.example.order.packed", "com.example.order.shipped"):
        _post(sink_url, order_id, type_, order_id)


def announce(sink_url: str, order_id: str) -> None:
    for type_ in ("com.example.order.packed", "com.example.order.shipped"):
        _post(sink_url, str(uuid.uuid4()), type_, order_id)
