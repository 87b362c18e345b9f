"""A producer that pushes alerts to a CloudEvents webhook the way the webhook spec says: it
asks for consent first (OPTIONS), then posts, and waits as a 429's Retry-After says."""

from __future__ import annotations

import time
import uuid

import requests
from flask import Flask, Response, request

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


#: Alerts the inbox took, as text.
INBOX: list[str] = []


def create_inbox(origins: tuple[str, ...] = (ORIGIN,)) -> Flask:
    """A webhook consumer: it consents to the handshake for `origins` only, and keeps the
    text of each alert (410 once retired, so senders stop)."""
    app = Flask("inbox")
    app.config["retired"] = False

    @app.route("/", methods=["OPTIONS"])
    def handshake() -> Response:
        origin = request.headers.get("WebHook-Request-Origin", "")
        if origin not in origins:
            return Response(status=403)
        return Response(status=200, headers={"WebHook-Allowed-Origin": origin, "Allow": "POST"})

    @app.post("/")
    def alert() -> tuple[str, int]:
        if app.config["retired"]:
            return "this inbox is retired", 410
        INBOX.append(request.get_data(as_text=True))
        return "", 204

    return app
