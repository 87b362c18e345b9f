"""Durations as the platforms write them: ISO 8601 (`PT0.2S`, `PT1M`, `P1D`), as Knative's
`delivery` spec takes them, or seconds as a number.

Years and months have no fixed length, so they are refused (Knative's schedules never use
them); weeks, days, hours, minutes and (fractional) seconds are read. Written here rather
than taken from a library: this is the one regular expression the plugin needs of ISO 8601.
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["seconds_of"]

_ISO: Final[re.Pattern[str]] = re.compile(
    r"P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_UNITS: Final[dict[str, float]] = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def seconds_of(what: str, value: str | float | None) -> float | None:
    """`value` in seconds: an ISO 8601 duration (`PT0.2S`) or a number of seconds; None
    stays None. Raises ValueError/TypeError naming `what` and what to pass."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(
            f"{what} takes an ISO 8601 duration such as 'PT0.2S' or seconds, not {value!r}"
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{what} must be a duration of 0 seconds or more, not {value!r}")
        return float(value)
    match = _ISO.fullmatch(value.strip().upper())
    if match is None or value.strip().upper() in ("P", "PT") or value.strip().endswith("T"):
        hint = " (years and months have no fixed length)" if re.search(r"P\d+[YM]", value) else ""
        raise ValueError(
            f"{what} takes an ISO 8601 duration such as 'PT0.2S', 'PT1M' or 'P1D', not"
            f" {value!r}{hint}"
        )
    return sum(float(n) * _UNITS[unit] for unit, n in match.groupdict().items() if n)
