"""A producer with a published contract: the data of its `com.example.order.placed` events
follows `order.schema.json`, shipped beside it (as an AsyncAPI document or a `dataschema`
URI would point to)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

SCHEMA_URI = "https://schemas.example.com/order-placed/1.json"


def place(sink_url: str, order_id: str, lines: list[dict[str, Any]], customer: str) -> None:
    total = sum(line["quantity"] * line.get("price", 0) for line in lines)
    data = {
        "order_id": order_id,
        "customer": customer,
        "lines": [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines],
        "total": total,
    }
    requests.post(
        sink_url,
        headers={
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-source": "/orders",
            "ce-type": "com.example.order.placed",
            "ce-dataschema": SCHEMA_URI,
            "content-type": "application/json",
        },
        data=json.dumps(data),
        timeout=5,
    )
