"""The aiohttp producer against a mock sink: `ce_mock` catches aiohttp calls (through
aioresponses) with the receiver's own checks and faults; no socket, no network. Each test
runs its coroutine with asyncio.run, no async test plugin needed."""

import asyncio

import pytest

aiohttp = pytest.importorskip("aiohttp", reason="mock mode for aiohttp needs the aiohttp extra")

from notifier import notify  # noqa: E402

from pytest_cloudevents import faults, match  # noqa: E402

SINK = "https://events.example.com/shipping"


def publish(shipment):
    async def go():
        async with aiohttp.ClientSession() as session:
            return await notify(session, SINK, shipment)

    return asyncio.run(go())


def test_a_notification_is_a_valid_binary_event(ce_mock):
    sink = ce_mock.sink(SINK)
    assert publish({"id": 7, "carrier": "DHL"})
    [delivery] = sink.deliveries
    assert delivery.mode == "binary"
    assert delivery.event == match(type="com.example.shipment.sent", subject="7")


@pytest.mark.parametrize(
    "fault",
    [faults.status(503), faults.disconnect(), faults.delay(2)],
    ids=["503", "disconnect", "read-timeout"],
)
def test_a_failure_is_retried(ce_mock, fault):
    sink = ce_mock.sink(SINK)
    sink.inject(fault, times=1)
    assert publish({"id": 8})
    [event] = sink.assert_received(count=1)
    assert sink.attempts(event.get_attributes()["id"]).count == 2


def test_the_producer_gives_up_after_three_attempts(ce_mock):
    sink = ce_mock.sink(SINK)
    sink.inject(faults.status(503))
    assert not publish({"id": 9})
    assert [d.status for d in sink.deliveries] == [503, 503, 503]


def test_a_client_error_is_not_retried(ce_mock):
    sink = ce_mock.sink(SINK)
    sink.inject(faults.status(400))
    assert not publish({"id": 10})
    assert len(sink.deliveries) == 1
