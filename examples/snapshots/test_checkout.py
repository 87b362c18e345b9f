"""Snapshots of a producer's events (extra `snapshot`): stable run to run, under
pytest-randomly and xdist, because the attributes that change every run (`id`, `time`)
are masked; a changed field fails with a diff of that attribute. Refresh with
`pytest --snapshot-update`."""

import pytest

pytest.importorskip("syrupy", reason="snapshots need the snapshot extra")

from checkout import checkout


def test_a_checkout_emits_an_order_and_a_payment_request(ce_receiver, ce_snapshot):
    checkout(ce_receiver.url, "o-17", 42)
    ce_receiver.wait_for(count=2)
    assert ce_receiver.events == ce_snapshot
