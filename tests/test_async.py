"""The `_async` waits: they await on the event loop (a producer task on the same loop runs
meanwhile), the log wakes them from the server's thread, and cancelling cancels the wait.
Plain `asyncio.run` in each test: no async test plugin is needed to use them."""

from __future__ import annotations

import asyncio

import pytest
from helpers import Ticker

from pytest_cloudevents import Receiver


async def post(receiver: Receiver, event_id: str, delay: float = 0.0) -> int:
    """An async producer on the test's own loop: a raw HTTP/1.1 POST over asyncio streams."""
    await asyncio.sleep(delay)
    reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
    writer.write(
        (
            f"POST / HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: {event_id}\r\n"
            "ce-source: /async\r\nce-type: com.example.async\r\nContent-Type: application/json"
            "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        ).encode()
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


def test_a_producer_task_on_the_same_loop_completes_while_the_test_awaits(
    ce_receiver: Receiver,
) -> None:
    """Before: every wait blocked the loop, and the task never ran ("0 arrived")."""

    async def scenario() -> None:
        task = asyncio.create_task(post(ce_receiver, "a-1", delay=0.05))
        [event] = await ce_receiver.wait_for_async(id="a-1", timeout=10)
        assert event.get_attributes()["source"] == "/async"
        assert await task == 202
        await ce_receiver.assert_received_async(type="com.example.async", count=1, timeout=1)

    asyncio.run(scenario())


def test_a_ticker_keeps_ticking_during_assert_not_received_async(ce_receiver: Receiver) -> None:
    """Before: a ticker counted 0 ticks during assert_not_received(within=0.5)."""

    async def scenario() -> int:
        async with Ticker() as ticker:
            await ce_receiver.assert_not_received_async(type="com.example.never", within=0.5)
        return ticker.ticks

    assert asyncio.run(scenario()) >= 10


def test_cancelling_the_await_cancels_the_wait(ce_receiver: Receiver) -> None:
    async def scenario() -> None:
        waiting = asyncio.create_task(ce_receiver.wait_for_async(id="never", timeout=30))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(scenario())
    assert ce_receiver._log._async_waiters == set()  # nothing left to wake


def test_an_async_wait_times_out_with_the_closest_event(ce_receiver: Receiver) -> None:
    async def scenario() -> None:
        assert await post(ce_receiver, "other") == 202
        with pytest.raises(AssertionError, match=r"timed out after 0\.2s") as info:
            await ce_receiver.wait_for_async(id="other", type="com.example.never", timeout=0.2)
        assert "type: expected 'com.example.never'" in str(info.value)
        with pytest.raises(ValueError, match="whole number >= 1"):
            await ce_receiver.wait_for_async(count=0)

    asyncio.run(scenario())


def test_a_module_scoped_service_gets_the_session_receivers_url(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_service="""
        import pytest, requests

        @pytest.fixture(scope="module")
        def service(ce_session_receiver):
            # a service started once per module, told where to send its events
            return {"sink": ce_session_receiver.url}

        HEADERS = {"ce-specversion": "1.0", "ce-source": "/svc", "ce-type": "com.example.s"}

        def test_first(service, ce_receiver):
            requests.post(service["sink"], headers={**HEADERS, "ce-id": "1"}, timeout=5)
            ce_receiver.assert_received(id="1", count=1)

        def test_second_starts_clean(service, ce_receiver):
            assert ce_receiver.deliveries == []
            requests.post(service["sink"], headers={**HEADERS, "ce-id": "2"}, timeout=5)
            ce_receiver.assert_received(id="2", count=1)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
