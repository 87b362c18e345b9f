"""A publisher that fans one event out to every subscriber, in structured mode, and
reports which subscribers did not take it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import requests


def publish(event: dict[str, object], subscribers: list[str], *, timeout: float = 1.0) -> list[str]:
    """Send `event` to every subscriber at once; return the URLs that failed."""
    body = json.dumps(event)
    headers = {"content-type": "application/cloudevents+json"}

    def deliver(url: str) -> bool:
        try:
            return requests.post(url, data=body, headers=headers, timeout=timeout).ok
        except requests.RequestException:
            return False

    with ThreadPoolExecutor(max_workers=len(subscribers) or 1) as pool:
        results = list(pool.map(deliver, subscribers))
    return [url for url, ok in zip(subscribers, results, strict=False) if not ok]
