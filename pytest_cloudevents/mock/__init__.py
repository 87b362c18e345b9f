"""Mock mode: the delivery application behind the HTTP libraries' mocks, no socket opened.

`MockSink` is a `Sink` for a URL prefix; each library's adapter module (`requests` through
`responses`) turns an intercepted request into the app's `Request` and its `Answer` back
into that library's response or exception.
"""

from __future__ import annotations

from .sink import CeMock, MockSink

__all__ = ["CeMock", "MockSink"]
