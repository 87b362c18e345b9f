"""A CloudEvent function behind an Eventarc Pub/Sub trigger (functions-framework,
cloudevents 1.x SDK): it decodes the Pub/Sub message in the event's data and stores the
reading; while its store is down it raises, which functions-framework answers with 500 and
`X-Google-Status: crash`, and Pub/Sub retries."""

from __future__ import annotations

import base64
import json
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

#: Readings stored, as decoded from the messages.
READINGS: list[dict[str, Any]] = []
#: Whether the store answers.
STORE = {"up": True}


@functions_framework.cloud_event
def on_reading(cloud_event: CloudEvent) -> None:
    """Store the reading a `messagePublished` event carries."""
    message = cloud_event.get_data()["message"]
    if not STORE["up"]:
        raise ConnectionError("the store is down")
    READINGS.append(json.loads(base64.b64decode(message["data"])))
