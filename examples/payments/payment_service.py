"""A WSGI consumer: it answers `com.example.order.created` with
`com.example.payment.requested` (request/reply), and refuses what it cannot use.

It parses messages with the CloudEvents SDK, the way most consumers do.
"""

from __future__ import annotations

import uuid
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent
from werkzeug.wrappers import Request, Response


def _refuse(status: int, reason: str) -> Response:
    return Response(reason + "\n", status=status, content_type="text/plain")


@Request.application  # type: ignore[arg-type]
def app(request: Request) -> Response:
    if request.method != "POST":
        return _refuse(405, "POST CloudEvents here")
    try:
        event = from_http_event(HTTPMessage(dict(request.headers), request.get_data()))
    except Exception as exc:  # the SDK raises several types for malformed messages
        return _refuse(400, f"not a CloudEvent: {exc}")
    if event.get_type() != "com.example.order.created":
        return Response(status=202)  # not ours: acknowledge and ignore
    data: Any = event.get_data()
    if not isinstance(data, dict) or not isinstance(data.get("total"), (int, float)):
        return _refuse(422, "an order needs a numeric total")
    reply = CloudEvent(
        {
            "id": str(uuid.uuid4()),
            "source": "/payments",
            "type": "com.example.payment.requested",
            "subject": event.get_id(),
            "datacontenttype": "application/json",
        },
        {"order": event.get_id(), "amount": data["total"]},
    )
    message = to_binary_event(reply)
    return Response(message.body, status=200, headers=message.headers)
