"""Optional dependencies: import one, or say which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

from pytest_cloudevents.errors import MissingExtra

__all__ = ["EXTRAS", "available", "require"]

#: The extra that brings each optional module.
EXTRAS: Final[dict[str, str]] = {
    "httpx": "httpx",
    "respx": "httpx",
    "anyio": "httpx",
    "aiohttp": "aiohttp",
    "aioresponses": "aiohttp",
    "trustme": "tls",
    "jsonschema": "schema",
    "syrupy": "snapshot",
    "celpy": "dapr",
}


def available(module: str) -> bool:
    """Whether `module` can be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(module: str, needed_for: str) -> ModuleType:
    """Import `module`, or raise `MissingExtra` (an ImportError) naming the extra that
    installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(module, module)
        raise MissingExtra(
            f"{needed_for} needs {module!r}, which is not installed: install the extra with"
            f" pip install 'pytest-cloudevents[{extra}]'"
        ) from exc
