"""The pytest plugin: hooks, options, ini keys, markers and fixtures. Thin; delegates."""

from __future__ import annotations
