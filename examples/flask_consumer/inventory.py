"""A Flask consumer: it reserves stock for each `com.example.order.created` event and
refuses what it cannot use. It parses messages with the CloudEvents SDK's `from_http`,
the way most consumers do (1.x's API; cloudevents 2.x keeps it in `cloudevents.v1`)."""

from __future__ import annotations

from flask import Flask, request

try:
    from cloudevents.http import from_http  # cloudevents 1.x
except ImportError:
    from cloudevents.v1.http import from_http  # cloudevents 2.x


def create_app() -> Flask:
    """The consumer; `app.extensions["reserved"]` maps each order id to its quantity."""
    app = Flask(__name__)
    reserved: dict[str, int] = {}
    app.extensions["reserved"] = reserved

    @app.post("/events")
    def receive() -> tuple[str, int]:
        try:
            event = from_http(dict(request.headers), request.get_data())
        except Exception as exc:  # the SDK raises several types for malformed messages
            return f"not a CloudEvent: {exc}\n", 400
        if event["type"] != "com.example.order.created":
            return "", 202  # not ours: acknowledge and ignore
        data = event.data
        if not isinstance(data, dict) or not isinstance(data.get("quantity"), int):
            return "an order needs a whole quantity\n", 422
        reserved[event["id"]] = data["quantity"]
        return "", 204

    return app
