"""A Knative service (cloudevents 2.x SDK): a Trigger delivers `com.example.order.placed`
to it, and it answers with a `com.example.order.packed` reply event, which the broker routes
on. It also publishes to the broker on its own (at $K_SINK, as a SinkBinding injects it)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import requests
from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent
from flask import Flask, Response, request


def create_app() -> Flask:
    app = Flask("packing")

    @app.post("/")
    def on_event() -> Response:
        try:
            event = from_http_event(HTTPMessage(dict(request.headers), request.get_data()))
        except Exception:  # the SDK's parse errors: a malformed event is not retried
            return Response("malformed event", status=400)
        if event.get_type() != "com.example.order.placed":
            return Response(status=202)
        data: Any = event.get_data()
        reply = CloudEvent(
            {
                "id": str(uuid.uuid4()),
                "type": "com.example.order.packed",
                "source": "/packing",
                "datacontenttype": "application/json",
            },
            {"order_id": data["order_id"]},
        )
        message = to_binary_event(reply)
        return Response(message.body, status=200, headers=message.headers)

    return app


def announce_restock(sku: str) -> int:
    """Publish `com.example.stock.restocked` to the broker at $K_SINK; its status."""
    event = CloudEvent(
        {
            "id": str(uuid.uuid4()),
            "type": "com.example.stock.restocked",
            "source": "/packing",
            "datacontenttype": "application/json",
        },
        {"sku": sku},
    )
    message = to_binary_event(event)
    answer = requests.post(
        os.environ["K_SINK"], headers=message.headers, data=message.body, timeout=5
    )
    return answer.status_code
