"""`Retry-After` read once for every sender: as seconds, and as the reason a retry is not
made when it asks for too long a wait."""

from __future__ import annotations

from typing import Final

from urllib3 import exceptions as urllib3_errors
from urllib3.util import Retry

__all__ = ["retry_after_seconds", "retry_after_stop"]


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` (delta-seconds or an HTTP date) as seconds; None when it is absent or
    does not parse (an unparsable Retry-After is read as absent)."""
    if not value:
        return None
    try:
        return max(0.0, float(_PARSER.parse_retry_after(value)))
    except (urllib3_errors.InvalidHeader, ValueError, TypeError, OverflowError):
        return None


_PARSER: Final[Retry] = Retry(0)


def retry_after_stop(value: str | None, limit: float) -> str | None:
    """Why a retry asked for with `Retry-After: value` is not made (the wait is longer than
    `limit` seconds), or None."""
    seconds = retry_after_seconds(value)
    if seconds is None or seconds <= limit:
        return None
    return (
        f"the server asked to retry after {seconds:g} s (Retry-After: {value}), longer than the"
        f" client's max_retry_after={limit:g} s: not retried (raise max_retry_after to wait)"
    )
