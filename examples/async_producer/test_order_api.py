"""The async producer, tested two ways on the test's own event loop (pytest-asyncio):
against the real receiver with `wait_for_async`, and against a mock broker with `ce_mock`
(respx catches the service's httpx calls; no socket). The API itself is called in-process
through httpx's ASGITransport."""

import pytest

pytest.importorskip("fastapi", reason="install fastapi to run this example")
pytest.importorskip("pytest_asyncio", reason="install pytest-asyncio to run this example")

import asyncio

import httpx
from order_api import create_app

from pytest_cloudevents import faults, match


async def place(app, order):
    """POST an order to the API in-process; returns the order id."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        response = await api.post("/orders", json=order)
    assert response.status_code == 202
    return response.json()["id"]


@pytest.mark.asyncio
async def test_an_order_is_announced(ce_receiver):
    order_id = await place(create_app(ce_receiver.url), {"sku": "AB-1", "quantity": 2})
    # the announcement task runs on this loop while the test awaits
    [event] = await ce_receiver.wait_for_async(type="com.example.order.placed", count=1)
    assert event == match(subject=order_id, data={"sku": "AB-1", "quantity": 2})


@pytest.mark.asyncio
async def test_nothing_is_announced_for_a_refused_order(ce_receiver):
    transport = httpx.ASGITransport(app=create_app(ce_receiver.url))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        assert (await api.post("/orders", content=b"not json")).status_code == 422
    await ce_receiver.assert_not_received_async(within=0.2)


@pytest.mark.asyncio
async def test_a_failing_broker_is_retried(ce_mock):
    broker = ce_mock.sink("https://broker.example.com/")
    broker.inject(faults.status(503), times=1)
    broker.inject(faults.disconnect(), times=1)
    await place(create_app(broker.url), {"sku": "AB-2", "quantity": 1})
    [event] = await broker.wait_for_async(type="com.example.order.placed", count=1)
    attempts = broker.attempts(event.get_attributes()["id"])
    assert attempts.statuses == [503, None, 202]


@pytest.mark.asyncio
async def test_a_broker_that_stays_down_gets_three_attempts(ce_mock):
    broker = ce_mock.sink("https://broker.example.com/")
    broker.inject(faults.status(503))
    app = create_app(broker.url)
    await place(app, {"sku": "AB-3", "quantity": 1})
    await asyncio.gather(*app.state.running)  # the service gives up by itself
    assert [d.status for d in broker.deliveries] == [503, 503, 503]
    broker.assert_not_received()
