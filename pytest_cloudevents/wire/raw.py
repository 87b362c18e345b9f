"""One event as a message carried it, before any SDK validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["RawEvent", "WireMode"]

#: The content mode of a message (the HTTP binding, section 3).
WireMode = Literal["binary", "structured", "batch"]


@dataclass
class RawEvent:
    """One event as the message carried it: attributes (JSON values or header strings)
    and data already turned into a Python value, before any SDK validation."""

    attributes: dict[str, Any]
    data: Any = None
    size: int = 0
    #: Attributes present in the message whose value could not be decoded (already
    #: reported as such, so not reported again as missing).
    undecodable: frozenset[str] = frozenset()
