"""What every test module of the suite shares."""

from __future__ import annotations

import pytest


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, with the loop scope of async fixtures set in every run it starts (the
    files it writes have no ini of ours, and pytest-asyncio warns when it is unset)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-o asyncio_default_fixture_loop_scope=function")
    return pytester
