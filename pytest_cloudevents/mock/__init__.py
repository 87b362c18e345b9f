"""Mock mode: the delivery application behind the HTTP libraries' mocks, no socket opened.

`MockSink` is a `Sink` for a URL prefix; each library's adapter module (`requests` through
`responses`) turns an intercepted request into the app's `Request` and its `Answer` back
into that library's response or exception.
"""

from __future__ import annotations

import re
from typing import Final

from .sink import CeMock, MockSink

__all__ = ["LOOPBACK", "CeMock", "MockSink"]

#: URLs mock mode never intercepts: loopback, where the plugin's own receivers listen (a
#: sink for a loopback prefix still catches its own prefix: sinks are matched first).
LOOPBACK: Final[re.Pattern[str]] = re.compile(
    r"^https?://(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:[/?#]|$)"
)
