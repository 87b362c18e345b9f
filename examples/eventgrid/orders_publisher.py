"""A producer that publishes order events to an Azure Event Grid topic with Azure's own
client library (azure-eventgrid), and a webhook that Event Grid delivers them to."""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient
from flask import Flask, Response, request


def publish_orders(endpoint: str, key: str, orders: list[dict[str, Any]]) -> None:
    """Publish one `com.example.order.placed` event per order, in one request."""
    client = EventGridPublisherClient(endpoint, AzureKeyCredential(key))
    client.send(
        [CloudEvent(source="/shop/orders", type="com.example.order.placed", data=o) for o in orders]
    )


#: What the webhook stored: order ids.
STORED: list[str] = []


def create_webhook() -> Flask:
    """An Event Grid webhook: it consents to the handshake, stores each order, and answers
    503 while its store is "down" (so Event Grid retries)."""
    app = Flask("orders_webhook")
    app.config["down"] = False

    @app.route("/events", methods=["OPTIONS"])
    def handshake() -> Response:
        origin = request.headers.get("WebHook-Request-Origin", "")
        return Response(status=200, headers={"WebHook-Allowed-Origin": origin})

    @app.post("/events")
    def events() -> tuple[str, int]:
        if app.config["down"]:
            return "store unavailable", 503
        event = request.get_json(force=True)
        STORED.append(event["data"]["order_id"])
        return "", 200

    return app
