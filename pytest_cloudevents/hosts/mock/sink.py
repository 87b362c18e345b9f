"""`MockSink`, the libraries' mocks it registers with, and the `ce_mock` fixture's object."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, final
from urllib.parse import urlsplit

from pytest_cloudevents.config import Options
from pytest_cloudevents.criteria.schema import Schema
from pytest_cloudevents.delivery.access import AuthArg
from pytest_cloudevents.delivery.app import DeliveryApp, local_app
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.extras import available, require
from pytest_cloudevents.validate import check_path

if TYPE_CHECKING:
    import responses
    from typing_extensions import Unpack

    from pytest_cloudevents.config import OptionKeywords
    from pytest_cloudevents.hosts.mock.aiohttp import Mock as AioMock
    from pytest_cloudevents.hosts.mock.httpx import Router

__all__ = ["CeMock", "MockSink", "Mocks"]

#: URLs mock mode never intercepts: loopback, where the plugin's own receivers listen (a
#: sink for a loopback prefix still catches its own prefix in requests and httpx: sinks are
#: matched first).
LOOPBACK: re.Pattern[str] = re.compile(
    r"^https?://(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:[/?#]|$)"
)


class Mocks:
    """The started mocks of every installed HTTP library: `responses` always, `respx`
    (extra `httpx`) and `aioresponses` (extra `aiohttp`) where installed. Loopback passes
    through each; any other URL nothing is registered for fails as that mock fails it."""

    def __init__(self) -> None:
        import responses

        self.responses = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.responses.add_passthru(LOOPBACK)
        self.responses.start()
        self._respx: Router | None = None
        self._aioresponses: AioMock | None = None
        if available("respx"):
            from pytest_cloudevents.hosts.mock.httpx import start

            self._respx = start(LOOPBACK)
        if available("aioresponses"):
            from pytest_cloudevents.hosts.mock.aiohttp import start as start_aio

            self._aioresponses = start_aio(LOOPBACK)

    @property
    def respx(self) -> Router:
        """The respx router (extra `httpx`)."""
        if self._respx is None:
            require("respx", "mock mode for httpx")
        assert self._respx is not None
        return self._respx

    @property
    def aioresponses(self) -> AioMock:
        """The aioresponses mock (extra `aiohttp`)."""
        if self._aioresponses is None:
            require("aioresponses", "mock mode for aiohttp")
        assert self._aioresponses is not None
        return self._aioresponses

    def register(self, pattern: re.Pattern[str], app: DeliveryApp) -> None:
        """Answer requests to URLs matching `pattern` with `app`, in every library."""
        from pytest_cloudevents.hosts.mock.requests import register

        register(self.responses, pattern, app)
        if self._respx is not None:
            from pytest_cloudevents.hosts.mock.httpx import register as register_httpx

            register_httpx(self._respx, pattern, app)
        if self._aioresponses is not None:
            from pytest_cloudevents.hosts.mock.aiohttp import register as register_aiohttp

            register_aiohttp(self._aioresponses, pattern, app)

    def stop(self) -> None:
        """Stop every mock (the libraries send for real again)."""
        self.responses.stop()
        self.responses.reset()
        if self._respx is not None:
            self._respx.stop()
        if self._aioresponses is not None:
            self._aioresponses.stop()


@final
class MockSink(Sink):
    """A recording endpoint for mock mode, with the `Receiver` interface but for `stop`.

    Built by `ce_mock.sink(url, **options)`; the options are the receiver's (see
    `Options`). Every request to the URL prefix, from requests, httpx or aiohttp, runs the
    delivery application in-process.
    """

    def __init__(
        self,
        url: str,
        mocks: Mocks,
        *,
        options: Options | None = None,
        auth: AuthArg = None,
        schemas: Mapping[str, Schema] | None = None,
        **settings: Unpack[OptionKeywords],
    ) -> None:
        app = local_app(options, settings, auth=auth, schemas=schemas)
        super().__init__(app.recording)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "sink takes an http(s) URL prefix such as 'https://events.example.com/',"
                f" not {url!r}"
            )
        self._url = url if parts.path else url + "/"
        boundary = "" if self._url.endswith("/") else r"(?:[/?#]|$)"
        self._pattern = re.compile("^" + re.escape(self._url) + boundary)
        mocks.register(self._pattern, app)

    @property
    def url(self) -> str:
        """The URL prefix this sink catches."""
        return self._url

    def url_for(self, path: str = "/") -> str:
        """A URL under this sink's prefix."""
        check_path(path)
        return self._url.rstrip("/") + "/" + path.lstrip("/")

    def __repr__(self) -> str:
        return f"<MockSink {self._url}>"


@final
class CeMock:
    """What the `ce_mock` fixture gives: `sink(url, **options)`, and the underlying mocks
    for the test's other mocks: `ce_mock.responses` (requests), `ce_mock.respx` (httpx,
    extra `httpx`) and `ce_mock.aioresponses` (aiohttp, extra `aiohttp`). Requests to URLs
    that nothing is registered for fail as each mock fails them (`requests.ConnectionError`,
    respx's `AllMockedAssertionError`, `aiohttp.ClientConnectionError`)."""

    def __init__(
        self,
        mocks: Mocks,
        options: Options | None = None,
        *,
        on_sink: Callable[[MockSink], None] | None = None,
    ) -> None:
        self.mocks = mocks
        self._options = options or Options()
        self._on_sink = on_sink
        self.sinks: list[MockSink] = []

    @property
    def responses(self) -> responses.RequestsMock:
        """The `responses` mock, for the test's own requests mocks."""
        return self.mocks.responses

    @property
    def respx(self) -> Router:
        """The respx router, for the test's own httpx mocks (extra `httpx`)."""
        return self.mocks.respx

    @property
    def aioresponses(self) -> AioMock:
        """The aioresponses mock, for the test's own aiohttp mocks (extra `aiohttp`)."""
        return self.mocks.aioresponses

    def sink(self, url: str, **settings: Any) -> MockSink:
        """Catch every request to the `url` prefix in a new `MockSink`."""
        auth, schemas = settings.pop("auth", None), settings.pop("schemas", None)
        if settings.pop("tls", False):
            raise ValueError(
                "a mock sink has no socket and so no TLS: test TLS against"
                " make_ce_receiver(tls=True)"
            )
        sink = MockSink(
            url, self.mocks, options=self._options.merged(settings), auth=auth, schemas=schemas
        )
        self.sinks.append(sink)
        if self._on_sink is not None:  # the plugin's after-test check and report
            self._on_sink(sink)
        return sink
