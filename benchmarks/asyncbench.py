"""The async and in-process targets: `wait_for_async` wake-up, mock mode through httpx,
and in-process WSGI delivery."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import requests
import respx
import werkzeug.test
from common import BODY, HEADERS, paired, report

from pytest_cloudevents import Client, Receiver
from pytest_cloudevents.hosts.mock import Mocks, MockSink


def async_wake_latency(n: int = 300) -> None:
    """Time from a delivery being recorded (on the server's thread) to the coroutine
    awaiting `wait_for_async` resuming, against a bare future resolved from another thread
    with `call_soon_threadsafe` (the least any cross-thread wake-up costs)."""
    with Receiver() as receiver:
        recorded: dict[str, float] = {}
        log = receiver._log
        original = log.settle

        def settle(delivery: Any, generation: int) -> bool:
            ok = original(delivery, generation)
            recorded[delivery.event.get_attributes()["id"]] = time.perf_counter()
            return ok

        log.settle = settle  # type: ignore[method-assign]

        async def ours() -> list[float]:
            loop = asyncio.get_running_loop()
            wakes = []
            with requests.Session() as session:
                for i in range(n):
                    waiting = asyncio.create_task(receiver.wait_for_async(id=str(i), timeout=5))
                    await asyncio.sleep(0)  # the wait is registered before the post
                    headers = dict(HEADERS, **{"ce-id": str(i)})
                    posting = loop.run_in_executor(
                        None, lambda h=headers: session.post(receiver.url, headers=h, data=BODY)
                    )
                    await waiting
                    woke = time.perf_counter()
                    await posting
                    wakes.append((woke - recorded[str(i)]) * 1000)
            return wakes

        mine = asyncio.run(ours())

    async def bare() -> list[float]:
        loop = asyncio.get_running_loop()
        wakes = []
        for _ in range(n):
            future: asyncio.Future[float] = loop.create_future()

            def resolve(future: asyncio.Future[float] = future) -> None:
                time.sleep(0.0005)
                stamp = time.perf_counter()
                loop.call_soon_threadsafe(future.set_result, stamp)

            resolving = loop.run_in_executor(None, resolve)
            stamp = await future
            wakes.append((time.perf_counter() - stamp) * 1000)
            await resolving
        return wakes

    theirs = asyncio.run(bare())
    report(
        f"wait_for_async wake-up after an event is recorded, median of {n}"
        " (vs a bare future resolved with call_soon_threadsafe)",
        statistics.median(mine),
        statistics.median(theirs),
        "ms",
        "median <= 2 ms",
        "lower",
    )
    print(f"  ours p90 {statistics.quantiles(mine, n=10)[-1]:.3f} ms, max {max(mine):.3f} ms")


def _httpx_rate(url: str, n: int) -> float:
    with httpx.Client() as client:
        started = time.perf_counter()
        for i in range(n):
            client.post(url, headers=dict(HEADERS, **{"ce-id": str(i)}), content=BODY)
        return n / (time.perf_counter() - started)


def httpx_mock_rate(n: int = 500, rounds: int = 15) -> None:
    """httpx posts per second caught by a `ce_mock` sink (respx running the delivery app)
    against plain respx with a callback answering 202."""

    def ours() -> float:
        mocks = Mocks()
        try:
            sink = MockSink("https://ours.example.com/", mocks)
            rate = _httpx_rate("https://ours.example.com/e", n)
        finally:
            mocks.stop()
        assert len(sink.events) == n
        return rate

    def plain() -> float:
        with respx.mock(assert_all_called=False) as router:
            router.post("https://plain.example.com/e").mock(
                side_effect=lambda request: httpx.Response(202)
            )
            return _httpx_rate("https://plain.example.com/e", n)

    mine, theirs, ratio = paired(ours, plain, rounds)
    report(
        f"mock mode through httpx, sends per second, {rounds} paired rounds of {n} posts"
        " (ce_mock sink vs respx callback)",
        mine,
        theirs,
        "sends/s",
        "ratio >= 0.8",
        "higher",
        ratio,
    )


def _accepting_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("202 Accepted", [("Content-Length", "0")])
    return []


def inprocess_rate(n: int = 2000, rounds: int = 15) -> None:
    """`Client.send_raw(..., to=app)` to a WSGI app against werkzeug's test client posting
    the same bytes to the same app."""

    def ours() -> float:
        with Client() as client:
            started = time.perf_counter()
            for i in range(n):
                result = client.send_raw(
                    dict(HEADERS, **{"ce-id": str(i)}), BODY, to=_accepting_app
                )
            elapsed = time.perf_counter() - started
        assert result.status_code == 202
        return n / elapsed

    def plain() -> float:
        client = werkzeug.test.Client(_accepting_app)
        started = time.perf_counter()
        for i in range(n):
            response = client.post("/", headers=dict(HEADERS, **{"ce-id": str(i)}), data=BODY)
        elapsed = time.perf_counter() - started
        assert response.status_code == 202
        return n / elapsed

    mine, theirs, ratio = paired(ours, plain, rounds)
    report(
        f"in-process WSGI sends per second, {rounds} paired rounds of {n}"
        " (Client to=app vs werkzeug's test client)",
        mine,
        theirs,
        "sends/s",
        "ratio >= 0.8",
        "higher",
        ratio,
    )
