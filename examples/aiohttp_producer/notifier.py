"""Shipment notifications published with aiohttp in binary mode. A notification is
retried on 5xx, on a dropped connection and on a read timeout, three attempts in all."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp

READ_TIMEOUT = aiohttp.ClientTimeout(total=5, sock_read=0.5)


async def notify(session: aiohttp.ClientSession, sink_url: str, shipment: dict[str, Any]) -> bool:
    """Publish `com.example.shipment.sent`; True once a sink acknowledged it."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": "/shipping",
        "ce-type": "com.example.shipment.sent",
        "ce-subject": str(shipment["id"]),
        "content-type": "application/json",
    }
    for attempt in range(3):
        try:
            async with session.post(
                sink_url, headers=headers, data=json.dumps(shipment), timeout=READ_TIMEOUT
            ) as response:
                if response.status < 500:
                    return response.status < 300
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError):
            pass  # dropped or timed out: try again
        await asyncio.sleep(0.02 * 2**attempt)
    return False
