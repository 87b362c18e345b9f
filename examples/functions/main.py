"""A CloudEvent function written with Google's functions-framework (cloudevents 1.x SDK):
it stores each order's total and refuses an order without one."""

from __future__ import annotations

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

#: Every event functions-framework handed to the function, in order.
RECEIVED: list[CloudEvent] = []
#: What the function stored: (order id, total). A real function would write a database.
STORED: list[tuple[str, Any]] = []


@functions_framework.cloud_event
def on_order(cloud_event: CloudEvent) -> None:
    """Store an order; an order without a total is an error (functions-framework answers
    500, so the event source retries it)."""
    RECEIVED.append(cloud_event)
    data = cloud_event.get_data()
    if not isinstance(data, dict) or "total" not in data:
        raise ValueError("an order needs a total")
    STORED.append((cloud_event["id"], data["total"]))
