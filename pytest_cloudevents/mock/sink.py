"""`MockSink` and the `ce_mock` fixture's object."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..options import Options
from ..sink import Sink

if TYPE_CHECKING:
    import responses
    from typing_extensions import Unpack

    from ..options import OptionKeywords

__all__ = ["CeMock", "MockSink"]


class MockSink(Sink):
    """A recording endpoint for mock mode, with the `Receiver` interface but for `stop`.

    Built by `ce_mock.sink(url, **options)`; the options are the receiver's (see
    `Options`). Every request to the URL prefix runs the delivery application in-process.
    """

    def __init__(
        self,
        url: str,
        mock: responses.RequestsMock,
        *,
        options: Options | None = None,
        **settings: Unpack[OptionKeywords],
    ) -> None:
        super().__init__((options or Options()).merged(settings))
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "sink takes an http(s) URL prefix such as 'https://events.example.com/',"
                f" not {url!r}"
            )
        self._url = url if parts.path else url + "/"
        boundary = "" if self._url.endswith("/") else r"(?:[/?#]|$)"
        self._pattern = re.compile("^" + re.escape(self._url) + boundary)
        from .requests import register

        register(mock, self._pattern, self._app)

    @property
    def url(self) -> str:
        """The URL prefix this sink catches."""
        return self._url

    def url_for(self, path: str = "/") -> str:
        """A URL under this sink's prefix."""
        return self._url.rstrip("/") + "/" + path.lstrip("/")

    def __repr__(self) -> str:
        return f"<MockSink {self._url}>"


class CeMock:
    """What the `ce_mock` fixture gives: `sink(url, **options)` and the underlying
    `responses` mock (`ce_mock.responses`) for the test's other mocks. Requests to URLs
    that nothing is registered for fail with `requests.ConnectionError`, as in
    `responses`."""

    def __init__(
        self,
        mock: responses.RequestsMock,
        options: Options | None = None,
        *,
        on_sink: Callable[[MockSink], None] | None = None,
    ) -> None:
        self.responses = mock
        self._options = options or Options()
        self._on_sink = on_sink
        self.sinks: list[MockSink] = []

    def sink(self, url: str, **settings: Any) -> MockSink:
        """Catch every request to the `url` prefix in a new `MockSink`."""
        sink = MockSink(url, self.responses, options=self._options.merged(settings))
        self.sinks.append(sink)
        if self._on_sink is not None:  # the plugin's after-test check and report
            self._on_sink(sink)
        return sink
