"""`Forwarder`: the client side of a proxying receiver (`Receiver(forward=URL)`,
`serve --forward URL`), the one `delivery.forward.Forward` the hosts give the app.

It sends each delivery on with the plugin's own client (`Client.exchange`: one attempt, no
retries of its own — the producer retries — the response read within `max_response`), and
never raises: a consumer that cannot be reached is a `Forwarded` with its error.
"""

from __future__ import annotations

from typing import final
from urllib.parse import urlsplit

from pytest_cloudevents.config import default
from pytest_cloudevents.delivery.forward import passed_headers, target_url
from pytest_cloudevents.platforms.contract import Call
from pytest_cloudevents.recording.delivery import Delivery, Forwarded
from pytest_cloudevents.send.client import Client
from pytest_cloudevents.validate import check_seconds
from pytest_cloudevents.wire import Headers

__all__ = ["Forwarder", "check_forward"]


def check_forward(url: object) -> str:
    """`url` when it is an http:// or https:// URL with a host; TypeError/ValueError
    saying what to pass otherwise."""
    if not isinstance(url, str):
        raise TypeError(
            f"forward takes the consumer's URL, such as 'http://127.0.0.1:8080/', not {url!r}"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"forward takes the consumer's http:// or https:// URL, such as"
            f" 'http://127.0.0.1:8080/', not {url!r}"
        )
    return url


@final
class Forwarder:
    """Sends deliveries on to the consumer at `url`, `timeout` seconds each; `verify` is
    what the client trusts for an https:// consumer (True, False or a CA bundle path)."""

    def __init__(
        self, url: str, *, timeout: float = default("send_timeout"), verify: bool | str = True
    ) -> None:
        self.url = check_forward(url)
        self.timeout = check_seconds("forward_timeout", timeout)
        self._client = Client(timeout=self.timeout, verify=verify, validate=False)

    def __call__(self, delivery: Delivery) -> Forwarded:
        inflated = delivery.content_encoding is not None
        url = target_url(self.url, delivery.path, delivery.query)
        call = Call(
            delivery.method,
            None,
            passed_headers(delivery.headers.pairs(), inflated=inflated),
            delivery.body,
            to=url,
        )
        try:
            response = self._client.exchange(call)
        except ValueError as exc:  # a URL no request can go to
            return Forwarded(url, None, 0.0, error=f"{type(exc).__name__}: {exc}")
        if response.status is None:
            error = response.error
            shown = "no response" if error is None else f"{type(error).__name__}: {error}"
            return Forwarded(url, None, response.elapsed, error=shown)
        # the body was read decoded: it goes back without its Content-Encoding
        headers = Headers(passed_headers(response.headers.pairs(), inflated=True))
        return Forwarded(url, response.status, response.elapsed, headers, response.body)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def __repr__(self) -> str:
        return f"<Forwarder to {self.url}>"
