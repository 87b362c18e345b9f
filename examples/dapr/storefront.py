"""A Dapr app (FastAPI with dapr's DaprApp): it subscribes to `orders`, and answers Dapr's
way: SUCCESS, RETRY while the warehouse is down, DROP for an order it can never take, and
404 for an order of a shop it does not serve. It publishes through its sidecar's HTTP API."""

from __future__ import annotations

import os
from typing import Annotated, Any

import requests
from dapr.ext.fastapi import DaprApp
from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()
dapr_app = DaprApp(app)
#: Orders taken, by id.
TAKEN: list[str] = []
#: Whether the warehouse answers (while it is down, orders are retried).
WAREHOUSE = {"up": True}


@dapr_app.subscribe(pubsub="pubsub", topic="orders", dead_letter_topic="orders-dead")
def on_order(event: Annotated[dict[str, Any], Body()]) -> Any:
    order = event.get("data") or {}
    if order.get("shop") not in (None, "main"):
        return JSONResponse({"error": "unknown shop"}, status_code=404)
    if not order.get("items"):
        return {"status": "DROP"}  # never takeable: retrying cannot help
    if not WAREHOUSE["up"]:
        return {"status": "RETRY"}
    TAKEN.append(order["id"])
    return {"status": "SUCCESS"}


def publish_order(order: dict[str, Any]) -> int:
    """Publish an order through the sidecar ($DAPR_HTTP_ENDPOINT) as a CloudEvent."""
    endpoint = os.environ.get("DAPR_HTTP_ENDPOINT", "http://localhost:3500")
    event = {
        "specversion": "1.0",
        "id": order["id"],
        "source": "/checkout",
        "type": "com.example.order.placed",
        "datacontenttype": "application/json",
        "data": order,
    }
    answer = requests.post(
        f"{endpoint}/v1.0/publish/pubsub/orders",
        json=event,
        headers={"Content-Type": "application/cloudevents+json"},
        timeout=5,
    )
    return answer.status_code
