"""A producer configured the way services are: the sink's URL, its bearer token and the CA
bundle to trust come from the environment (`SINK_URL`, `SINK_TOKEN`, `SINK_CA_BUNDLE`),
and, for mutual TLS, a client certificate (`SINK_CLIENT_CERT`, `SINK_CLIENT_KEY`)."""

from __future__ import annotations

import json
import os
import uuid

import requests


class PublishError(RuntimeError):
    """The sink refused the event."""


def publish_invoice(invoice_id: str, amount: int) -> None:
    """POST `com.example.invoice.issued` in binary mode; raise when it is not accepted."""
    cert = None
    if os.environ.get("SINK_CLIENT_CERT"):
        cert = (os.environ["SINK_CLIENT_CERT"], os.environ["SINK_CLIENT_KEY"])
    response = requests.post(
        os.environ["SINK_URL"],
        headers={
            "Authorization": f"Bearer {os.environ['SINK_TOKEN']}",
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-source": "/billing",
            "ce-type": "com.example.invoice.issued",
            "ce-subject": invoice_id,
            "content-type": "application/json",
        },
        data=json.dumps({"invoice": invoice_id, "amount": amount}),
        verify=os.environ.get("SINK_CA_BUNDLE", True),
        cert=cert,
        timeout=5,
    )
    if not 200 <= response.status_code < 300:
        raise PublishError(f"the sink answered {response.status_code}: {response.text.strip()}")
