"""What every test module of the suite shares."""

from __future__ import annotations

import pytest

# pytester's in-process runs drop every module first imported inside them, while the
# package object keeps its submodules as attributes: a second run would then mix two copies
# of a module (a `faults.Status` of one that the rules of the other do not know). The
# package imports its names on first use, so the suite imports them all here, once, as a
# plugin's own suite that runs ours in-process should.
import pytest_cloudevents
from pytest_cloudevents.hosts import mock as _mock  # noqa: F401
from pytest_cloudevents.hosts.standalone import api as _api  # noqa: F401
from pytest_cloudevents.testing import scorecard as _scorecard  # noqa: F401

for _name in pytest_cloudevents.__all__:
    getattr(pytest_cloudevents, _name)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, with the loop scope of async fixtures set in every run it starts (the
    files it writes have no ini of ours, and pytest-asyncio warns when it is unset)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-o asyncio_default_fixture_loop_scope=function")
    return pytester
