"""The receiver's own HTTP/1.1 server: httptools (llhttp) on an asyncio loop in one thread.

One loop thread does all the I/O: keep-alive and pipelining, chunked bodies, raw header
names exactly as sent. A delivery held by a `delay` is a timer on the loop, not a thread;
user code (rules' predicates and handlers) runs in a small thread pool, so a slow handler
never stalls other deliveries, while a delivery with no user code is answered on the loop
directly. Idle connections are closed after `Limits.idle_timeout` seconds, a request must
arrive whole within `request_timeout`, and past `max_connections` new connections are answered 503
and closed at once. `stop()` closes every connection and joins every thread.
"""

from __future__ import annotations

from pytest_cloudevents.hosts.server.limits import Limits
from pytest_cloudevents.hosts.server.listener import Server

__all__ = ["Limits", "Server"]
