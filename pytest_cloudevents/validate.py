"""The argument checkers every public call uses: whole numbers, seconds, booleans, modes.

Each returns the value it checked, or raises `TypeError` (a value of the wrong type) or
`ValueError` (a value out of range) with a message saying what to pass instead.
"""

from __future__ import annotations

import math
from typing import Final, Literal

__all__ = [
    "MAX_SECONDS",
    "MODES",
    "Mode",
    "check_bool",
    "check_mode",
    "check_path",
    "check_seconds",
    "check_whole",
]

#: How a single event goes on the wire (a batch has its own call).
Mode = Literal["binary", "structured"]
MODES: Final[tuple[Mode, ...]] = ("binary", "structured")
#: Longer than any test should wait; also keeps `threading` timeouts in range.
MAX_SECONDS: Final[float] = 24 * 3600.0


def check_whole(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """`value` as an int (never a bool) within the bounds; TypeError/ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            bounds = f">= {minimum}"
        elif minimum is None:
            bounds = f"<= {maximum}"
        else:
            bounds = f"from {minimum} to {maximum}"
        raise ValueError(f"{name} must be a whole number {bounds}, not {value!r}")
    return value


def check_seconds(
    name: str, value: object, *, positive: bool = False, maximum: float = MAX_SECONDS
) -> float:
    """`value` as finite seconds: >= 0 (or > 0 when `positive`) and at most `maximum`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    number = float(value)
    low_ok = number > 0 if positive else number >= 0
    if math.isnan(number) or not low_ok or number > maximum:
        low = "> 0" if positive else ">= 0"
        raise ValueError(
            f"{name} must be a finite number of seconds {low} and at most {maximum:g},"
            f" not {value!r}"
        )
    return number


def check_bool(name: str, value: object) -> bool:
    """`value` when it is True or False; TypeError otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return value


def check_mode(value: object) -> Mode:
    """`value` when it is "binary" or "structured"; ValueError otherwise."""
    if value == "binary" or value == "structured":
        return value
    raise ValueError(f"mode must be 'binary' or 'structured', not {value!r} (batches: send_batch)")


def check_path(value: object) -> str:
    """`value` when it is a URL path (a string); TypeError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"the path is a string such as '/hooks/orders', not {value!r}")
    return value
