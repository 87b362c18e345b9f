"""A checkout that emits two events per order: `com.example.order.placed` and
`com.example.payment.requested`, with fresh ids and the current time, as producers do."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import requests


def _emit(sink_url: str, type_: str, subject: str, data: dict[str, object]) -> None:
    requests.post(
        sink_url,
        headers={
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-source": "/checkout",
            "ce-type": type_,
            "ce-subject": subject,
            "ce-time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "content-type": "application/json",
        },
        data=json.dumps(data),
        timeout=5,
    )


def checkout(sink_url: str, order_id: str, total: int, currency: str = "EUR") -> None:
    _emit(sink_url, "com.example.order.placed", order_id, {"order": order_id, "total": total})
    _emit(
        sink_url,
        "com.example.payment.requested",
        order_id,
        {"order": order_id, "amount": total, "currency": currency},
    )
