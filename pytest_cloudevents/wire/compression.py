"""Content-Encoding: decode a request body compressed with gzip or deflate, bounded by the
receiver's `max_body` (a zip bomb costs at most that much memory), and compress a body to
send. `identity` (or no header) leaves the body as it is; any other coding is refused."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from pytest_cloudevents.wire.headers import Headers

__all__ = [
    "CODINGS",
    "Decompressed",
    "Inflater",
    "compress",
    "decompress",
]

Coding = Literal["gzip", "deflate"]
CODINGS: Final[tuple[Coding, ...]] = ("gzip", "deflate")
_CHUNK: Final[int] = 64 * 1024


@dataclass(frozen=True)
class Decompressed:
    """The body to decode, what was on the wire, and what went wrong: `problem` is
    "unsupported", "corrupt" or "too-large" (the decoded body would pass `limit`)."""

    body: bytes
    encoding: str | None
    problem: str | None = None
    detail: str = ""


def _codings(headers: Mapping[str, str]) -> list[str]:
    value = headers.get("content-encoding") or ""
    return [c.strip().lower() for c in value.split(",") if c.strip()]


def decompress(headers: Mapping[str, str], body: bytes, limit: int) -> Decompressed:
    """Undo the request's Content-Encoding (codings applied in order, undone in reverse);
    never holds more than `limit` decoded bytes."""
    codings = _codings(headers)
    shown = ", ".join(codings) or None
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            return Decompressed(
                body,
                shown,
                "unsupported",
                f"Content-Encoding {coding!r} is not one this receiver decodes; send gzip,"
                " deflate or identity",
            )
        try:
            body = _inflate(coding, body, limit)
        except _TooLarge:
            return Decompressed(
                b"",
                shown,
                "too-large",
                f"the {coding} body inflates past max_body ({limit:,} bytes); raise max_body"
                " or send less",
            )
        except zlib.error as exc:
            return Decompressed(body, shown, "corrupt", f"the {coding} body does not decode: {exc}")
    return Decompressed(body, shown)


class _TooLarge(Exception):
    pass


_GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"


def _decoder(coding: str, first: bytes) -> tuple[zlib._Decompress, int]:
    """A decoder (and its wbits) for one gzip member or deflate stream beginning with
    `first`."""
    if coding == "deflate":
        # RFC 9110 deflate is zlib-wrapped; some senders send raw deflate
        raw = len(first) > 0 and (first[0] & 0x0F) != 8
        wbits = -zlib.MAX_WBITS if raw else zlib.MAX_WBITS
    else:
        wbits = 16 + zlib.MAX_WBITS
    return zlib.decompressobj(wbits), wbits


def _inflate(coding: str, data: bytes, limit: int) -> bytes:
    """Every gzip member of `data` decoded (RFC 1952: a gzip body may hold several), or
    the one deflate stream; bytes after the last stream are refused, never ignored.

    Two passes, so that the peak is the decoded body once: the first inflates in chunks it
    throws away, to learn each stream's size (a bomb is refused there, past `limit`); the
    second decodes each stream into one buffer of exactly that size."""
    view = memoryview(data)
    streams: list[tuple[memoryview, int, int]] = []  # (bytes, wbits, decoded size)
    size = 0
    offset = 0
    while True:
        pending: bytes | memoryview = view[offset:]
        decoder, wbits = _decoder(coding, bytes(view[offset : offset + 1]))
        length = 0
        while pending:
            chunk = decoder.decompress(pending, min(_CHUNK, limit + 1 - size))
            size += len(chunk)
            length += len(chunk)
            if size > limit:
                raise _TooLarge
            pending = decoder.unconsumed_tail
            if not chunk and not pending:
                break
        tail = len(decoder.flush(limit + 1 - size)) if size <= limit else 0
        size += tail
        length += tail
        if size > limit:
            raise _TooLarge
        if not decoder.eof:
            raise zlib.error("the compressed stream ends early")
        rest = len(decoder.unused_data)
        streams.append((view[offset : len(data) - rest], wbits, length))
        offset = len(data) - rest
        if not rest:
            break
        if coding == "deflate" or not decoder.unused_data.startswith(_GZIP_MAGIC):
            raise zlib.error(
                f"{rest} byte(s) follow the end of the compressed stream; send only"
                " the compressed body"
            )
    decoded = [zlib.decompress(part, wbits, max(1, length)) for part, wbits, length in streams]
    return decoded[0] if len(decoded) == 1 else b"".join(decoded)


class Inflater:
    """A response body decoded as it is read, never more than `limit` decoded bytes: feed
    it the raw chunks; `feed` says when to stop reading (the limit passed: `cut`). A
    Content-Encoding it does not decode (or several) passes the raw bytes through; a body
    that stops decoding keeps what decoded."""

    def __init__(self, headers: Mapping[str, str], limit: int) -> None:
        codings = [c for c in _codings(Headers(headers.items())) if c != "identity"]
        self.limit = limit
        self.cut = False
        self._out: list[bytes] = []
        self._size = 0
        self._coding = codings[0] if len(codings) == 1 else None
        self._decoder: zlib._Decompress | None = None
        self._broken = False
        if self._coding in ("gzip", "x-gzip"):
            self._decoder = _decoder("gzip", b"")[0]

    def feed(self, data: bytes) -> bool:
        """Take the next raw chunk; True when reading should stop (the limit passed)."""
        if self.cut or self._broken or not data:
            return self.cut
        if self._decoder is None and self._coding == "deflate":
            self._decoder = _decoder("deflate", data)[0]
        if self._decoder is None:
            self._take(data)
            return self.cut
        pending = data
        try:
            while pending and not self.cut:
                self._take(self._decoder.decompress(pending, self.limit + 1 - self._size))
                pending = self._decoder.unconsumed_tail
                if self._decoder.eof and self._decoder.unused_data.startswith(_GZIP_MAGIC):
                    pending = self._decoder.unused_data  # the next gzip member
                    self._decoder = _decoder("gzip", pending)[0]
        except zlib.error:
            self._broken = True  # keep what decoded
        return self.cut

    def _take(self, chunk: bytes) -> None:
        self._out.append(chunk)
        self._size += len(chunk)
        if self._size > self.limit:
            self.cut = True

    @property
    def body(self) -> bytes:
        """The decoded body, at most `limit` bytes of it."""
        return b"".join(self._out)[: self.limit]


def compress(body: bytes, coding: str) -> bytes:
    """`body` compressed with `coding` ("gzip" or "deflate", zlib-wrapped)."""
    if coding == "gzip":
        return gzip.compress(body, mtime=0)
    if coding == "deflate":
        return zlib.compress(body)
    raise ValueError(f"compress takes 'gzip' or 'deflate', not {coding!r}")
