"""A FastAPI service that takes orders and announces each one as a CloudEvent with
`httpx.AsyncClient`, without making the caller wait (fire and forget): the announcement
runs in a task on the service's event loop and retries a broker that answers 5xx."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from typing import Any

import httpx
from fastapi import FastAPI


def create_app(sink_url: str, *, attempts: int = 3) -> FastAPI:
    """The service; it announces orders to `sink_url` (a Knative broker, say)."""
    app = FastAPI()
    running: set[asyncio.Task[None]] = set()
    app.state.running = running  # the announcements still in flight

    @app.post("/orders", status_code=202)
    async def place(order: dict[str, Any]) -> dict[str, str]:
        order_id = str(uuid.uuid4())
        task = asyncio.create_task(announce(sink_url, order_id, order, attempts))
        running.add(task)
        task.add_done_callback(running.discard)
        return {"id": order_id}

    return app


async def announce(sink_url: str, order_id: str, order: dict[str, Any], attempts: int) -> None:
    """POST `com.example.order.placed` in structured mode; retry 5xx and dropped
    connections with a short backoff."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/orders",
        "type": "com.example.order.placed",
        "subject": order_id,
        "time": datetime.now(timezone.utc).isoformat(),
        "datacontenttype": "application/json",
        "data": order,
    }
    headers = {"content-type": "application/cloudevents+json"}
    async with httpx.AsyncClient(timeout=2.0) as client:
        for attempt in range(attempts):
            try:
                response = await client.post(sink_url, content=json.dumps(event), headers=headers)
            except httpx.TransportError:
                pass
            else:
                if response.status_code < 500:
                    return
            await asyncio.sleep(0.05 * 2**attempt)
