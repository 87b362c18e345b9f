"""The pytest plugin (entry point `cloudevents`): options, ini keys and the marker
(`options`), fixtures (`fixtures`) and reporting hooks (`hooks`).

Thin by design: every behaviour lives in the modules it delegates to.
"""

from __future__ import annotations

import pytest

from pytest_cloudevents.plugin.fixtures import (
    ce_async_client,
    ce_client,
    ce_events,
    ce_mock,
    ce_receiver,
    ce_session_receiver,
    ce_snapshot,
    make_ce_receiver,
)
from pytest_cloudevents.plugin.hooks import (
    pytest_assertrepr_compare,
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_runtest_teardown,
)
from pytest_cloudevents.plugin.options import add_options, marker_line

__all__ = [
    "ce_async_client",
    "ce_client",
    "ce_events",
    "ce_mock",
    "ce_receiver",
    "ce_session_receiver",
    "ce_snapshot",
    "make_ce_receiver",
    "pytest_addoption",
    "pytest_assertrepr_compare",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", marker_line())
