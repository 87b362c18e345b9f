"""Parsing JSON text strictly and within bounds, for every JSON the receiver reads.

JSON (RFC 8259) has no `NaN`, `Infinity` or `-Infinity`, which Python's parser accepts.

What a parsed document will cost is bounded *before* it is built: the text is scanned (with
counts that allocate nothing in proportion to it) for its containers and members, and a
document whose parsed form would take more than `2 × max_body` minus the text itself is
refused as too large. So a request costs at most about twice `max_body` however its body is
shaped: 10 MiB of `[[],[],...]` (which Python would build into some 500 MiB) is refused
before any of it is parsed. The model (`CONTAINER_COST`, `MEMBER_COST`, and one byte per
byte of text) errs high: ordinary JSON costs about ten times its size in Python objects.
Nesting deeper than `MAX_DEPTH` levels is refused too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "CONTAINER_COST",
    "MAX_DEPTH",
    "MEMBER_COST",
    "JSONTextError",
    "estimate",
    "parse",
    "parse_body",
]

#: Nesting deeper than this is refused (Python's own parser gives up near 1,000).
MAX_DEPTH: Final[int] = 512
#: Bytes a parsed object or array is counted as (a small dict is 184 bytes).
CONTAINER_COST: Final[int] = 160
#: Bytes each member or element is counted as beyond its text (a slot and its value).
MEMBER_COST: Final[int] = 24

#: A JSON string, its escapes included.
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_B: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class JSONTextError(ValueError):
    """The text is not JSON the receiver takes; `too_large` when it is the size bound."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


#: One decoder for every parse (building one per call cost a tenth of a delivery).
_DECODER = json.JSONDecoder(parse_constant=_constant)
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _counts(text: str | bytes) -> tuple[int, int]:
    """Containers and separators (`,` `:`) in the text, strings' contents included (an
    upper bound, from counts alone)."""
    if isinstance(text, bytes):
        opens = text.count(b"[") + text.count(b"{")
        return opens, text.count(b",") + text.count(b":")
    return text.count("[") + text.count("{"), text.count(",") + text.count(":")


def estimate(text: str | bytes, budget: int) -> int:
    """The bytes the parsed document of `text` is counted as (see the module doc). What
    strings hold is left out of the counts only when the quick upper bound is over
    `budget` (the strings are then found, not the structure walked)."""
    return _estimate(text, budget)[0]


def _estimate(text: str | bytes, budget: int) -> tuple[int, int]:
    """`estimate`, and the containers counted (an upper bound)."""
    opens, separators = _counts(text)
    cost = len(text) + CONTAINER_COST * opens + MEMBER_COST * separators
    if cost <= budget:
        return cost, opens
    pattern = _STRING_B if isinstance(text, bytes) else _STRING
    for match in pattern.finditer(text):  # type: ignore[arg-type]
        inner_opens, inner_separators = _counts(match.group())
        opens, separators = opens - inner_opens, separators - inner_separators
    return len(text) + CONTAINER_COST * opens + MEMBER_COST * separators, opens


def _bound(text: str | bytes, max_body: int) -> int:
    """JSONTextError (too large) when the document of `text` would cost more than the
    bound (see the module doc); else how many containers it can hold at most."""
    budget = 2 * max_body - len(text)
    cost, containers = _estimate(text, budget)
    if cost > budget:
        raise JSONTextError(
            f"parsed, it would take about {cost:,} bytes: over twice max_body"
            f" ({max_body:,}) with the text; raise max_body to accept it",
            too_large=True,
        )
    return containers


def parse(text: str, max_body: int | None = None) -> Any:
    """The JSON value of `text`; JSONTextError saying why it is not acceptable. With
    `max_body`, its size is bounded before it is parsed."""
    containers = None if max_body is None else _bound(text, max_body)
    return _parse(text, containers)


def parse_body(body: bytes, text_of: Callable[[bytes], str], max_body: int | None) -> Any:
    """The JSON value of a body: its size bounded on the bytes, before `text_of` makes a
    text of them (so a refused body never costs a copy), then parsed. JSONTextError
    saying why it is not acceptable; what `text_of` raises passes through."""
    if max_body is None:
        containers = None
    elif _MOST_PER_BYTE * len(body) <= 2 * max_body:
        # within the bound however it is shaped: no estimate; and a body no longer than
        # MAX_DEPTH cannot nest deeper, so it is not counted either
        containers = len(body) if len(body) <= MAX_DEPTH else _counts(body)[0]
    else:
        containers = _bound(body, max_body)
    return _parse(text_of(body), containers)


#: The most a byte of text can cost parsed (a container, and itself as text), plus the
#: byte the budget takes for it: a body this many times smaller than twice `max_body` is
#: within the bound whatever it holds.
_MOST_PER_BYTE: Final[int] = CONTAINER_COST + 2


def _parse(text: str, containers: int | None) -> Any:
    try:
        try:  # the scanner alone: a document with no space around it (the common case)
            document, end = _SCAN(text, 0)
        except (StopIteration, ValueError):
            end = -1
        if end != len(text):  # space around it, or an error: the full decoder says which
            document = _DECODER.decode(text)
    except RecursionError:
        raise JSONTextError(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise JSONTextError(str(exc)) from None
    if containers is None:
        containers = _counts(text)[0]
    if containers > MAX_DEPTH:  # else it cannot nest that deep
        _check_depth(document)
    return document


def _check_depth(document: Any) -> None:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise JSONTextError(f"it is nested deeper than {MAX_DEPTH} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend(
                (child, depth + 1) for child in children if isinstance(child, (dict, list))
            )
