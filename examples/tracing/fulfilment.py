"""A Flask consumer of `com.example.order.created` that emits a follow-up
`com.example.payment.requested` to its sink. `create_app(propagate=True)` continues the
incoming event's trace (same trace id, a new span id), as the distributed-tracing extension
asks; `propagate=False` is the bug of starting a new trace for every follow-up."""

from __future__ import annotations

import json
import secrets
import uuid

import requests
from flask import Flask, request


def child_of(traceparent: str | None) -> str:
    """A traceparent continuing `traceparent`'s trace, or starting a new one."""
    trace = traceparent.split("-")[1] if traceparent else secrets.token_hex(16)
    return f"00-{trace}-{secrets.token_hex(8)}-01"


def create_app(sink_url: str, *, propagate: bool = True) -> Flask:
    app = Flask(__name__)

    @app.post("/")
    def receive() -> tuple[str, int]:
        incoming = request.headers.get("ce-traceparent") if propagate else None
        order = request.headers.get("ce-subject", "")
        requests.post(
            sink_url,
            headers={
                "ce-specversion": "1.0",
                "ce-id": str(uuid.uuid4()),
                "ce-source": "/fulfilment",
                "ce-type": "com.example.payment.requested",
                "ce-subject": order,
                "ce-traceparent": child_of(incoming),
                "content-type": "application/json",
            },
            data=json.dumps({"order": order}),
            timeout=5,
        )
        return "", 204

    return app
