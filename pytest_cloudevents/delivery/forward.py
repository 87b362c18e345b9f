"""`Forward`: the consumer behind a proxying receiver (`Receiver(forward=URL)`).

A receiver made with `forward=` stands between a real producer and a real consumer: every
delivery is decoded, checked and recorded as always, fault rules apply first (a test puts a
503 or a delay between two real services), a handler may still answer, and otherwise the
request goes on to the consumer as it was received and the consumer's answer comes back to
the producer, recorded with the delivery (`Delivery.forwarded`).

The app knows only this protocol; the host gives it the client that makes the call. What
travels each way is decided here, once: the hop-by-hop headers of RFC 9110 §7.6.1 and the
framing stay behind, a body the receiver inflated goes on inflated (without its
`Content-Encoding`), and the path of the request is put under the consumer's URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from pytest_cloudevents.delivery.answers import TEXT, Settled
from pytest_cloudevents.recording.delivery import Delivery, Forwarded
from pytest_cloudevents.wire.headers import HOP_BY_HOP
from pytest_cloudevents.wire.message import check_answer

__all__ = ["HOP_BY_HOP", "Forward", "forwarded_answer", "passed_headers", "target_url"]


class Forward(Protocol):
    """Sends a delivery on to the consumer and says what it answered; never raises (a
    consumer that cannot be reached is a `Forwarded` with `error`)."""

    url: str

    def __call__(self, delivery: Delivery) -> Forwarded: ...


def passed_headers(
    pairs: Iterable[tuple[str, str]], *, inflated: bool = False
) -> list[tuple[str, str]]:
    """The headers that go on: all but the hop-by-hop and framing ones (and
    `Content-Encoding` where the body went on inflated)."""
    return [
        (name, value)
        for name, value in pairs
        if name.lower() not in HOP_BY_HOP and not (inflated and name.lower() == "content-encoding")
    ]


def target_url(base: str, path: str, query: str) -> str:
    """Where a request for `path?query` goes: `path` under the consumer URL's own path (a
    request for `/` goes to the URL as given), with the request's query."""
    parts = urlsplit(base)
    where = parts.path if path in ("", "/") else parts.path.rstrip("/") + path
    joined = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit(parts._replace(path=where or "/", query=joined))


def forwarded_answer(forwarded: Forwarded) -> Settled:
    """The producer's answer: the consumer's own (accepted when 2xx, else faulted with the
    fault `forward`), or 502 when the consumer gave none or one the wire cannot carry."""
    if forwarded.status is None:
        text = f"the consumer at {forwarded.url} did not answer: {forwarded.error}\n"
        return Settled(
            "faulted", check_answer(502, [TEXT], text.encode()), "forward", None, forwarded
        )
    try:
        answer = check_answer(forwarded.status, forwarded.headers.pairs(), forwarded.body)
    except (TypeError, ValueError) as exc:
        text = f"the consumer at {forwarded.url} answered what cannot be passed on: {exc}\n"
        return Settled(
            "faulted", check_answer(502, [TEXT], text.encode()), "forward", None, forwarded
        )
    if 200 <= forwarded.status < 300:
        return Settled("accepted", answer, forwarded=forwarded)
    return Settled("faulted", answer, "forward", forwarded=forwarded)
