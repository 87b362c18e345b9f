"""The plugin's exceptions: one base, and a subclass for each kind of trouble a user meets.

Each also derives from the builtin exception 0.2 raised in its place, so code that caught
`ConnectionError`, `PermissionError`, `ValueError`, `TypeError` or `ImportError` still does.
Wrong arguments raise plain `TypeError`/`ValueError` (see `validate.py`).
"""

from __future__ import annotations

__all__ = [
    "CloudEventsError",
    "ControlAPIError",
    "DeadlineExceeded",
    "MissingExtra",
    "NotOnRemote",
    "RemoteError",
    "RemoteUnreachable",
    "ResponseTooLarge",
    "RetryAfterTooLong",
    "TokenRefused",
]


class CloudEventsError(Exception):
    """Every exception the plugin raises of its own (not argument checks)."""


class MissingExtra(CloudEventsError, ImportError):
    """A feature needs an optional dependency; the message names the extra to install."""


class NotOnRemote(CloudEventsError, TypeError):
    """A `RemoteReceiver` was asked for what a standalone receiver cannot do from here (run
    Python code, change settings fixed by `serve`)."""


class RemoteUnreachable(CloudEventsError, ConnectionError):
    """The standalone receiver's control API could not be reached."""


class TokenRefused(CloudEventsError, PermissionError):
    """The standalone receiver refused the control API token."""


class ControlAPIError(CloudEventsError, ValueError):
    """The standalone receiver refused a control API call; the message is its own."""


class RemoteError(CloudEventsError):
    """An exception user code raised in a standalone receiver, as its text."""


class RetryAfterTooLong(CloudEventsError):
    """A server asked for a wait (`Retry-After`) longer than the client's `max_retry_after`:
    the retries ended there, with the last answer (a NACK) as the result."""


class ResponseTooLarge(CloudEventsError):
    """A response body was longer than the client's `max_response`: the result keeps its
    status and the first `max_response` bytes, with this as its error."""


class DeadlineExceeded(CloudEventsError, TimeoutError):
    """An attempt of a send got no complete answer within the client's `timeout`, which
    bounds each attempt in all (a server that drips its answer, or sends `100 Continue`
    forever, cannot hold a send longer): the result is UNDELIVERED with this as its error."""
