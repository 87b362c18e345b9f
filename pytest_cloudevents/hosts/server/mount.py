"""What the server can serve beside the delivery app: a `Mount` owns a path prefix (the
standalone receiver's control API and page) and answers there instead of the app; its
requests are never recorded. An answer is an `Answer`, or a `Stream` sent as produced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from pytest_cloudevents.delivery.exchange import Answer, Request

__all__ = ["Mount", "Stream"]


@dataclass
class Stream:
    """A 200 response whose body is sent chunk by chunk as `chunks` yields them (chunked
    transfer coding); the connection closes when the iterator ends."""

    chunks: AsyncIterator[bytes]
    headers: list[tuple[str, str]] = field(default_factory=list)


class Mount(Protocol):
    """Requests under a path prefix, answered on the server's loop."""

    def owns(self, path: str) -> bool:
        """Whether a request for `path` is this mount's."""

    async def handle(self, request: Request, left: asyncio.Event) -> Answer | Stream:
        """The answer; `left` is set when the client goes away (for streams)."""
