"""`MockSink`, the libraries' mocks it registers with, and the `ce_mock` fixture's object."""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final
from urllib.parse import urlsplit

from pytest_cloudevents.config import Options
from pytest_cloudevents.criteria.schema import Schema
from pytest_cloudevents.delivery.access import AuthArg
from pytest_cloudevents.delivery.app import DeliveryApp, local_app
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.extras import require
from pytest_cloudevents.validate import check_path

if TYPE_CHECKING:
    import responses
    from typing_extensions import Unpack

    from pytest_cloudevents.config import OptionKeywords
    from pytest_cloudevents.hosts.mock.aiohttp import Mock as AioMock
    from pytest_cloudevents.hosts.mock.httpx import Router

__all__ = ["CeMock", "MockSink", "Mocks", "release_held"]

#: URLs mock mode never intercepts: loopback, where the plugin's own receivers listen (a
#: sink for a loopback prefix still catches its own prefix in requests and httpx: sinks are
#: matched first).
LOOPBACK: re.Pattern[str] = re.compile(
    r"^https?://(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:[/?#]|$)"
)


class Mocks:
    """The mocks of the installed HTTP libraries: `responses` (requests), `respx` (extra
    `httpx`) and `aioresponses` (extra `aiohttp`). Each starts only when it is needed, so a
    test pays only for the libraries it can reach: when the first sink is registered, for
    the libraries already imported (one imported later is mocked as its import ends), or
    when the test asks for that mock (`ce_mock.respx`). Loopback passes through each; any
    other URL nothing is registered for fails as that mock fails it."""

    def __init__(self) -> None:
        self._responses: responses.RequestsMock | None = None
        self._respx: Router | None = None
        self._aioresponses: AioMock | None = None
        self._apps: list[tuple[re.Pattern[str], DeliveryApp]] = []
        self._waiting: list[tuple[str, Callable[[], None]]] = []  # after_import callbacks
        self._stopped = False

    @property
    def responses(self) -> responses.RequestsMock:
        """The `responses` mock (started on first use)."""
        if self._responses is None:
            import responses

            from pytest_cloudevents.hosts.mock.requests import register

            mock = responses.RequestsMock(assert_all_requests_are_fired=False)
            mock.add_passthru(LOOPBACK)
            mock.start()
            self._responses = mock
            for pattern, app in self._apps:
                register(mock, pattern, app)
        return self._responses

    @property
    def respx(self) -> Router:
        """The respx router (extra `httpx`; started on first use)."""
        if self._respx is None:
            require("respx", "mock mode for httpx")
            from pytest_cloudevents.hosts.mock.httpx import register, start

            self._respx = start(LOOPBACK)
            for pattern, app in self._apps:
                register(self._respx, pattern, app)
        return self._respx

    @property
    def aioresponses(self) -> AioMock:
        """The aioresponses mock (extra `aiohttp`; started on first use)."""
        if self._aioresponses is None:
            require("aioresponses", "mock mode for aiohttp")
            from pytest_cloudevents.hosts.mock.aiohttp import register, start

            self._aioresponses = start(LOOPBACK)
            for pattern, app in self._apps:
                register(self._aioresponses, pattern, app)
        return self._aioresponses

    def register(self, pattern: re.Pattern[str], app: DeliveryApp) -> None:
        """Answer requests to URLs matching `pattern` with `app`, in every library."""
        self._apps.append((pattern, app))
        for module, mock, started in (
            ("requests", "responses", self._responses),
            ("httpx", "respx", self._respx),
            ("aiohttp", "aioresponses", self._aioresponses),
        ):
            if started is not None:
                _REGISTER[mock]()(started, pattern, app)
            elif module in sys.modules:
                getattr(self, mock)  # starts it, with every sink registered
            elif _installed(mock):  # installed, not imported yet
                callback = functools.partial(self._late, mock)
                self._waiting.append((module, callback))
                after_import(module, callback)

    def _late(self, mock: str) -> None:
        """A library was imported after the sinks were made: mock it now."""
        if not self._stopped:
            getattr(self, mock)

    def stop(self, *, hold: bool = False) -> None:
        """Stop every mock (the libraries send for real again). With `hold`, the httpx
        mock stays started but passes everything through, for the next test to take
        (`release_held` stops it: the plugin does when the next test has no `ce_mock`)."""
        self._stopped = True
        for module, callback in self._waiting:
            forget_import(module, callback)
        self._waiting.clear()
        if self._responses is not None:
            self._responses.stop()
            self._responses.reset()
        if self._respx is not None:
            from pytest_cloudevents.hosts.mock.httpx import stop

            stop(self._respx, LOOPBACK, hold=hold)
        if self._aioresponses is not None:
            self._aioresponses.stop()


def release_held() -> None:
    """Stop the mocks `Mocks.stop(hold=True)` left started (none when httpx's mock was
    never loaded)."""
    held = sys.modules.get("pytest_cloudevents.hosts.mock.httpx")
    if held is not None:
        held.release()


def _register_requests() -> Callable[[Any, re.Pattern[str], DeliveryApp], None]:
    from pytest_cloudevents.hosts.mock.requests import register

    return register


def _register_httpx() -> Callable[[Any, re.Pattern[str], DeliveryApp], None]:
    from pytest_cloudevents.hosts.mock.httpx import register

    return register


def _register_aiohttp() -> Callable[[Any, re.Pattern[str], DeliveryApp], None]:
    from pytest_cloudevents.hosts.mock.aiohttp import register

    return register


_REGISTER: dict[str, Callable[[], Callable[[Any, re.Pattern[str], DeliveryApp], None]]] = {
    "responses": _register_requests,
    "respx": _register_httpx,
    "aioresponses": _register_aiohttp,
}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls back once a module's import has finished (mock mode for a library the test
    imports after making its sinks)."""

    def __init__(self) -> None:
        self.waiting: dict[str, list[Callable[[], None]]] = {}

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        callbacks = self.waiting.pop(name, None)
        if callbacks is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _ThenCall(spec.loader, callbacks)
        return spec


class _ThenCall(importlib.abc.Loader):
    def __init__(self, loader: Any, callbacks: list[Callable[[], None]]) -> None:
        self.loader, self.callbacks = loader, callbacks

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        self.loader.exec_module(module)
        for callback in self.callbacks:
            callback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


_HOOK = _AfterImport()


@functools.cache
def _installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (asked once per process: a
    lookup stats every directory of sys.path)."""
    return importlib.util.find_spec(module) is not None


def forget_import(module: str, callback: Callable[[], None]) -> None:
    """Undo `after_import(module, callback)` if the import has not happened."""
    callbacks = _HOOK.waiting.get(module)
    if callbacks is not None and callback in callbacks:
        callbacks.remove(callback)
        if not callbacks:
            del _HOOK.waiting[module]


def after_import(module: str, callback: Callable[[], None]) -> None:
    """Call `callback` once `module` is imported (now, when it already is)."""
    if module in sys.modules:
        callback()
        return
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
    _HOOK.waiting.setdefault(module, []).append(callback)


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
