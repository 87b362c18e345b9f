"""`Limits`: the bounds the server keeps, passed to it when it is made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from pytest_cloudevents.validate import check_seconds, check_whole

__all__ = ["Limits"]


@final
@dataclass(frozen=True)
class Limits:
    """The server's bounds.

    - `idle_timeout`: seconds an idle keep-alive connection stays open (also the bound of a
      TLS handshake);
    - `request_timeout`: seconds a request (head and body) may take to arrive once begun;
    - `max_connections`: open connections past which new ones are answered 503 and closed;
    - `max_head`: bytes of a request's head (request line and headers) past which it is
      refused 431, however it is split across reads (16 KiB, as Node.js's llhttp server);
    - `max_stream_buffer`: bytes of a streamed answer (server-sent events) a client may
      leave unread before it is dropped.
    """

    idle_timeout: float = 5.0
    request_timeout: float = 30.0
    max_connections: int = 1000
    max_head: int = 16 * 1024
    max_stream_buffer: int = 1024 * 1024

    def __post_init__(self) -> None:
        check_seconds("idle_timeout", self.idle_timeout, positive=True)
        check_seconds("request_timeout", self.request_timeout, positive=True)
        check_whole("max_connections", self.max_connections, minimum=1)
        check_whole("max_head", self.max_head, minimum=1024)
        check_whole("max_stream_buffer", self.max_stream_buffer, minimum=1024)
