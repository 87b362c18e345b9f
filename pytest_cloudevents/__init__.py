"""pytest-cloudevents: test services that send or receive CloudEvents over HTTP."""

from __future__ import annotations

from .conformance import Violation

__all__ = ["Violation"]
