"""An order service that announces new orders as CloudEvents.

It posts `com.example.order.created` in binary mode with urllib3 retries (exponential
backoff on 429 and 5xx, Retry-After honoured). When the broker still refuses after the
retries, the event goes to a dead-letter URL instead.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry


class OrderService:
    def __init__(
        self, broker_url: str, dead_letter_url: str, *, retries: int = 3, backoff: float = 0.1
    ) -> None:
        self.broker_url = broker_url
        self.dead_letter_url = dead_letter_url
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=backoff,
            status_forcelist=[429, 500, 502, 503, 504],
            allowed_methods=None,  # POST is retried too
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def create_order(self, customer: str, total: float) -> str:
        order_id = str(uuid.uuid4())
        headers = {
            "ce-specversion": "1.0",
            "ce-id": order_id,
            "ce-source": "/orders",
            "ce-type": "com.example.order.created",
            "ce-time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "ce-subject": f"customer/{customer}",
            "content-type": "application/json",
        }
        body = json.dumps({"order_id": order_id, "customer": customer, "total": total})
        try:
            response = self.session.post(self.broker_url, headers=headers, data=body, timeout=2)
            delivered = response.ok
        except requests.ConnectionError:
            delivered = False
        if not delivered:
            self.session.post(self.dead_letter_url, headers=headers, data=body, timeout=2)
        return order_id
