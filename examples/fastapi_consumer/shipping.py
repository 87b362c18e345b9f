"""A FastAPI consumer: it answers each `com.example.order.paid` event with a
`com.example.shipment.scheduled` event in the response (request/reply, as Knative
brokers deliver replies). It parses messages with the CloudEvents SDK's `from_http`
(1.x's API; cloudevents 2.x keeps it in `cloudevents.v1`)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from fastapi import FastAPI, Request, Response

try:
    from cloudevents.http import from_http  # cloudevents 1.x
except ImportError:
    from cloudevents.v1.http import from_http  # cloudevents 2.x


def create_app() -> FastAPI:
    """The consumer; it keeps nothing between requests."""
    app = FastAPI()

    @app.post("/")
    async def receive(request: Request) -> Response:
        try:
            event = from_http(dict(request.headers), await request.body())
        except Exception as exc:  # the SDK raises several types for malformed messages
            return Response(f"not a CloudEvent: {exc}\n", status_code=400)
        if event["type"] != "com.example.order.paid":
            return Response(status_code=202)  # not ours: acknowledge and ignore
        data = event.data
        if not isinstance(data, dict) or not data.get("address"):
            return Response("a paid order needs an address\n", status_code=422)
        reply = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/shipping",
            "type": "com.example.shipment.scheduled",
            "subject": event["id"],
            "time": datetime.now(timezone.utc).isoformat(),
            "datacontenttype": "application/json",
            "data": {"order": event["id"], "address": data["address"]},
        }
        return Response(
            json.dumps(reply), status_code=200, media_type="application/cloudevents+json"
        )

    return app
