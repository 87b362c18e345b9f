"""A producer that pushes alerts to a CloudEvents webhook the way the webhook spec says: it
asks for consent first (OPTIONS), then posts, and waits as a 429's Retry-After says."""

from __future__ import annotations

import time
import uuid

import requests

ORIGIN = "alerts.example.com"


def push_alert(url: str, text: str, *, token: str, tries: int = 3) -> int:
    """Send one `com.example.alert.raised` event; the final status."""
    consent = requests.options(url, headers={"WebHook-Request-Origin": ORIGIN}, timeout=5)
    if consent.headers.get("WebHook-Allowed-Origin") not in (ORIGIN, "*"):
        raise PermissionError(f"{url} did not consent to deliveries from {ORIGIN}")
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": "/alerts",
        "ce-type": "com.example.alert.raised",
        "Content-Type": "text/plain",
        "WebHook-Request-Origin": ORIGIN,
        "Authorization": f"Bearer {token}",
    }
    for _ in range(tries):
        answer = requests.post(url, headers=headers, data=text.encode(), timeout=5)
        if answer.status_code != 429:
            return answer.status_code
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    return answer.status_code
