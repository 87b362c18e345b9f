"""ce_snapshot through pytest as users run it: written by --snapshot-update, stable on a
rerun, under pytest-randomly and xdist, and failing with an attribute diff on a change."""

from __future__ import annotations

import pytest

pytest.importorskip("syrupy", reason="snapshots need the snapshot extra")

PRODUCER = """
import json, uuid
from datetime import datetime, timezone
import requests

STATUS = "paid"

def emit(url, n):
    for i in range(n):
        requests.post(url, headers={
            "ce-specversion": "1.0", "ce-id": str(uuid.uuid4()), "ce-source": "/shop",
            "ce-type": "com.example.order.updated",
            "ce-time": datetime.now(timezone.utc).isoformat(),
            "content-type": "application/json"},
            data=json.dumps({"order": i, "status": STATUS}))
"""

TESTS = """
from producer import emit

def test_one(ce_receiver, ce_snapshot):
    emit(ce_receiver.url, 2)
    ce_receiver.wait_for(count=2)
    assert ce_receiver.events == ce_snapshot

def test_two(ce_receiver, ce_snapshot):
    emit(ce_receiver.url, 1)
    ce_receiver.wait_for(count=1)
    assert ce_receiver.events == ce_snapshot
"""


def test_snapshots_are_written_stable_and_explain_a_change(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(producer=PRODUCER, test_orders=TESTS)
    pytester.runpytest_subprocess("--snapshot-update", "-p", "no:randomly").assert_outcomes(
        passed=2
    )
    [stored] = list(pytester.path.glob("__snapshots__/test_orders/test_one.json"))
    text = stored.read_text()
    assert '"id": "<id>"' in text and '"time": "<time>"' in text and '"status": "paid"' in text
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)
    pytester.runpytest_subprocess("-p", "randomly", "-n", "2").assert_outcomes(passed=2)
    pytester.makepyfile(producer=PRODUCER.replace('"paid"', '"shipped"'))
    changed = pytester.runpytest_subprocess("-p", "no:randomly")
    changed.assert_outcomes(failed=2)
    changed.stdout.fnmatch_lines(['*-*"status": "paid"*', '*+*"status": "shipped"*'])


def test_masking_is_configurable() -> None:
    from pytest_cloudevents import EventFactory
    from pytest_cloudevents.snapshot import CloudEventsExtension

    event = EventFactory(1).make("com.example.t", subject="s-1")
    plain = CloudEventsExtension()._plain([event])
    assert plain[0]["id"] == "<id>" and plain[0]["subject"] == "s-1"
    custom = CloudEventsExtension.masking("subject")()._plain(event)
    assert custom["subject"] == "<subject>" and custom["id"] != "<id>"
    with pytest.raises(TypeError, match="attribute names"):
        CloudEventsExtension.masking("")
