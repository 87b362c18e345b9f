"""Mock mode: the delivery application behind the HTTP libraries' mocks, no socket opened.

`MockSink` is a `Sink` for a URL prefix; each library's adapter module (`requests`
through `responses`, `httpx` through `respx`, `aiohttp` through `aioresponses`) turns an
intercepted request into the app's `Request` (`intercept`) and its `Answer` back into that
library's response or exception.
"""

from __future__ import annotations

from pytest_cloudevents.hosts.mock.sink import LOOPBACK, CeMock, Mocks, MockSink

__all__ = ["LOOPBACK", "CeMock", "MockSink", "Mocks"]
