"""AsyncClient: the same results, retries and attempt counts as Client, without blocking
the event loop. Plain `asyncio.run` in most tests; the async plugins are tested through
pytester at the end."""

from __future__ import annotations

import asyncio
import sys
import time

import httpx
import pytest
from helpers import Ticker, attr, binary

from pytest_cloudevents import (
    AsyncClient,
    Client,
    EventFactory,
    Receiver,
    assert_ack,
    assert_nack,
    assert_undelivered,
    faults,
    retry,
)
from pytest_cloudevents.events import CloudEvent, new_event

ORDER = "com.example.order.created"


@pytest.fixture
def event(ce_events: EventFactory) -> CloudEvent:
    return ce_events.make(ORDER, data={"total": 3})


def test_ack_nack_and_undelivered_match_the_sync_client(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    async def scenario() -> list[tuple[str, int | None, int]]:
        async with AsyncClient(ce_receiver.url) as client:
            ok = await client.send(event)
            ce_receiver.inject(faults.status(409), times=1)
            refused = await client.send(event)
            ce_receiver.inject(faults.disconnect(), times=1)
            dropped = await client.send(event)
        return [(r.outcome.value, r.status_code, r.attempts) for r in (ok, refused, dropped)]

    got = asyncio.run(scenario())
    ce_receiver.reset()
    with Client(ce_receiver.url) as client:
        want = [("ACK", 202, 1), ("NACK", 409, 1), ("UNDELIVERED", None, 1)]
        assert client.send(event).status_code == 202
    assert got == want


def test_retries_follow_the_retry_objects_status_set_and_backoff(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.status(503), times=2)

    async def scenario() -> int:
        async with AsyncClient(ce_receiver.url, retry=retry.knative(3, delay=0.05)) as client:
            result = await client.send(event)
        assert_ack(result)
        return result.attempts

    assert asyncio.run(scenario()) == 3
    gaps = ce_receiver.attempts(attr(event, "id")).gaps
    # knative exponential: delay*2 before retry 1, delay*4 before retry 2
    assert gaps[0] >= 0.1 * 0.9 and gaps[1] >= 0.2 * 0.9


def test_retry_after_is_honoured_with_a_non_blocking_sleep(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.throttle(retry_after=1), times=1)

    async def scenario() -> tuple[int, int]:
        async with (
            Ticker() as ticker,
            AsyncClient(ce_receiver.url, retry=retry.knative(1, delay=0.0)) as client,
        ):
            result = await client.send(event)
        return result.attempts, ticker.ticks

    attempts, ticks = asyncio.run(scenario())
    assert attempts == 2
    assert ticks >= 20, "the loop was blocked while the client waited for Retry-After"
    assert ce_receiver.attempts(attr(event, "id")).gaps[0] >= 0.9


def test_statuses_outside_the_set_and_exhausted_retries_are_nacks(
    ce_receiver: Receiver, event: CloudEvent
) -> None:
    ce_receiver.inject(faults.status(400))

    async def scenario() -> tuple[int, int]:
        async with AsyncClient(ce_receiver.url, retry=3) as client:
            first = await client.send(event)
            ce_receiver.reset()
            ce_receiver.inject(faults.status(503))
            client.retry = retry.knative(2, delay=0.0)
            second = await client.send(event)
        assert_nack(first, status=400)
        assert_nack(second, status=503)
        return first.attempts, second.attempts

    assert asyncio.run(scenario()) == (1, 3)


def test_connection_errors_are_retried_then_undelivered() -> None:
    async def scenario() -> None:
        async with AsyncClient("http://127.0.0.1:1/", retry=retry.knative(2, delay=0.0)) as c:
            result = await c.send_raw(binary(), b"{}")
        assert_undelivered(result, httpx.ConnectError)
        assert result.attempts == 3

    asyncio.run(scenario())


def test_validation_refuses_before_sending(ce_receiver: Receiver) -> None:
    broken = new_event({"id": "1", "source": "/a b", "type": ORDER}, None)

    async def scenario() -> None:
        async with AsyncClient(ce_receiver.url) as client:
            result = await client.send(broken)
        assert_undelivered(result, "source-not-uri-reference")
        assert result.attempts == 0

    asyncio.run(scenario())
    assert ce_receiver.deliveries == []


def test_batches_raw_messages_and_replies(ce_receiver: Receiver, ce_events: EventFactory) -> None:
    answer = ce_events.make("com.example.reply")
    ce_receiver.inject(faults.reply(answer), when=lambda d: d.mode == "structured")

    async def scenario() -> None:
        async with AsyncClient(ce_receiver.url, mode="structured") as client:
            reply, result = await client.request(ce_events.make(ORDER))
            assert_ack(result)
            assert reply is not None and attr(reply, "id") == attr(answer, "id")
            batch = await client.send_batch([ce_events.make(ORDER) for _ in range(3)])
            assert_ack(batch)
            raw = await client.send_raw({"content-type": "text/plain"}, "hi")
            assert_nack(raw, status=400)

    asyncio.run(scenario())
    assert [d.mode for d in ce_receiver.deliveries] == ["structured", "batch", "binary"]
    ce_receiver.assert_rejected(count=1)


def test_credentials_never_show_and_wrong_arguments_say_what_to_pass(event: CloudEvent) -> None:
    client = AsyncClient("http://user:secret@127.0.0.1:1/")
    assert "secret" not in repr(client)
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncClient(session=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be"):
        AsyncClient(timeout=float("nan"))
    with pytest.raises(ValueError, match="mode must be"):
        AsyncClient(mode="batch")

    async def scenario() -> None:
        with pytest.raises(ValueError, match="no target"):
            await AsyncClient().send(event)
        result = await client.send(event)
        assert_undelivered(result)
        assert "secret" not in result.describe()

    asyncio.run(scenario())


def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(ImportError, match=r"pytest-cloudevents\[httpx\]"):
        AsyncClient()


def test_the_fixture_needs_no_closing_on_the_loop(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio, gc, warnings

        def test_send(ce_async_client, ce_receiver, ce_events):
            async def go():
                for _ in range(3):
                    event = ce_events.make("com.example.t")
                    result = await ce_async_client.send(event, to=ce_receiver.url)
                    assert result.is_ack
            asyncio.run(go())
            ce_receiver.assert_received(type="com.example.t", count=3)
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-W", "error::ResourceWarning")
    result.assert_outcomes(passed=1)


def test_async_tests_under_pytest_asyncio_and_anyio_on_trio(pytester: pytest.Pytester) -> None:
    """The waits and the client run under pytest-asyncio and under anyio's plugin on both
    of its backends, trio included."""
    pytester.makepyfile(
        """
        import pytest

        async def emit(client, url, events):
            for event in events:
                await client.send(event, to=url)

        @pytest.mark.asyncio
        async def test_asyncio_plugin(ce_async_client, ce_receiver, ce_events):
            import asyncio
            events = [ce_events.make("com.example.a") for _ in range(2)]
            task = asyncio.create_task(emit(ce_async_client, ce_receiver.url, events))
            await ce_receiver.wait_for_async(type="com.example.a", count=2)
            await task

        @pytest.fixture(params=["asyncio", "trio"])
        def anyio_backend(request):
            return request.param

        @pytest.mark.anyio
        async def test_anyio_plugin(ce_async_client, ce_receiver, ce_events):
            import anyio
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    emit, ce_async_client, ce_receiver.url, [ce_events.make("com.example.b")])
                [event] = await ce_receiver.assert_received_async(type="com.example.b", count=1)
            await ce_receiver.assert_not_received_async(type="c", within=0.05)
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-o", "asyncio_mode=strict")
    result.assert_outcomes(passed=3)


def test_a_slow_send_does_not_block_other_tasks(ce_receiver: Receiver, event: CloudEvent) -> None:
    ce_receiver.inject(faults.delay(0.3), times=1)

    async def scenario() -> int:
        started = time.monotonic()
        async with Ticker() as ticker, AsyncClient(ce_receiver.url) as client:
            assert_ack(await client.send(event))
        assert time.monotonic() - started >= 0.3
        return ticker.ticks

    assert asyncio.run(scenario()) >= 10
