"""The server's limits, read at each use (tests may change them)."""

from __future__ import annotations

__all__ = ["IDLE_TIMEOUT", "MAX_CONNECTIONS", "REQUEST_TIMEOUT"]

#: Seconds an idle keep-alive connection stays open.
IDLE_TIMEOUT: float = 5.0
#: Seconds a request (head and body) may take to arrive once it has begun.
REQUEST_TIMEOUT: float = 30.0
#: Open connections past which new ones are answered 503 and closed.
MAX_CONNECTIONS: int = 1000
