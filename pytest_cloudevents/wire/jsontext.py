"""Parsing JSON text strictly and within bounds, for every JSON the receiver reads.

JSON (RFC 8259) has no `NaN`, `Infinity` or `-Infinity`, which Python's parser accepts. And a
parsed document is walked once, iteratively, to bound what a delivery can cost: nesting
deeper than `MAX_DEPTH` levels, or more than one value per `BYTES_PER_VALUE` bytes of the
receiver's `max_body`, is refused — so a recorded delivery holds at most about ten times
`max_body` in memory, however its body is shaped (a body of `[{},{},...]` would otherwise
hold some 25 times its size).
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["BYTES_PER_VALUE", "MAX_DEPTH", "JSONTextError", "parse"]

#: Nesting deeper than this is refused (Python's own parser gives up near 1,000).
MAX_DEPTH: Final[int] = 512
#: A document may hold one JSON value per this many bytes of `max_body`.
BYTES_PER_VALUE: Final[int] = 8


class JSONTextError(ValueError):
    """The text is not JSON the receiver takes; `too_large` when it is the value bound."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


#: One decoder for every parse (building one per call cost a tenth of a delivery).
_DECODER = json.JSONDecoder(parse_constant=_constant)


def parse(text: str, max_body: int | None = None) -> Any:
    """The JSON value of `text`; JSONTextError saying why it is not acceptable."""
    try:
        document = _DECODER.decode(text)
    except RecursionError:
        raise JSONTextError(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise JSONTextError(str(exc)) from None
    most = None if max_body is None else max(1024, max_body // BYTES_PER_VALUE)
    count = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if most is not None and count > most:
            raise JSONTextError(
                f"it holds more than {most:,} JSON values, one per {BYTES_PER_VALUE} bytes of"
                f" max_body ({max_body:,}); raise max_body to accept it",
                too_large=True,
            )
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise JSONTextError(f"it is nested deeper than {MAX_DEPTH} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return document
