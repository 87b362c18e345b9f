"""Idempotency: consumers deduplicate on source + id, so a producer must not reuse them.
`assert_unique()` tells a retry (the same event again: fine) from a reused id."""

import pytest
from shipments import announce, announce_reusing_ids


def test_a_producer_that_reuses_ids_is_caught(ce_receiver):
    announce_reusing_ids(ce_receiver.url, "o-7")
    ce_receiver.wait_for(count=2)
    with pytest.raises(AssertionError, match="names two different events") as info:
        ce_receiver.assert_unique()
    assert "type ('com.example.order.packed' != 'com.example.order.shipped')" in str(info.value)


def test_the_fixed_producer_keeps_ids_unique(ce_receiver):
    announce(ce_receiver.url, "o-8")
    ce_receiver.wait_for(count=2)
    ce_receiver.assert_unique()


def test_a_retried_event_is_not_a_duplicate(ce_receiver, ce_client, ce_events):
    event = ce_events.make("com.example.order.packed", subject="o-9")
    ce_client.send(event, to=ce_receiver.url)
    ce_client.send(event, to=ce_receiver.url)  # at-least-once delivery sends it again
    [group] = ce_receiver.duplicates()
    assert len(group) == 2
    ce_receiver.assert_unique()
