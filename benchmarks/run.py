"""The performance targets of DESIGN.md, each measured against its baseline in one run.

    python benchmarks/run.py            # or: make bench

Prints every figure and its ratio to the baseline; exits 0 whatever the figures are (the
figures are reported, not asserted: timings belong here, not in the test suite).
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import responses
from werkzeug.serving import WSGIRequestHandler, make_server

from pytest_cloudevents import Receiver
from pytest_cloudevents.mock import MockSink

HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "bench-1",
    "ce-source": "/bench",
    "ce-type": "com.example.bench",
    "content-type": "application/json",
}
BODY = json.dumps({"order_id": "o-1", "total": 12.5, "items": ["a", "b", "c"]}).encode()
RESULTS: list[dict[str, Any]] = []


def paired(
    ours: Callable[[], float], baseline: Callable[[], float], rounds: int
) -> tuple[float, float, float]:
    """Alternate short rounds of ours and the baseline; return the median of each and the
    median of the per-pair ratios (machine noise moves both members of a pair alike)."""
    mine, theirs, ratios = [], [], []
    for i in range(rounds):
        a, b = (ours(), baseline()) if i % 2 == 0 else tuple(reversed((baseline(), ours())))
        mine.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return statistics.median(mine), statistics.median(theirs), statistics.median(ratios)


def report(
    name: str,
    ours: float,
    baseline: float,
    unit: str,
    target: str,
    better: str,
    ratio: float | None = None,
) -> None:
    """Print one figure; `better` is "higher" or "lower" (for the ratio's reading)."""
    if ratio is None:
        ratio = ours / baseline if baseline else float("nan")
    RESULTS.append(
        {
            "name": name,
            "ours": ours,
            "baseline": baseline,
            "ratio": ratio,
            "unit": unit,
            "target": target,
        }
    )
    print(
        f"{name}\n  ours {ours:,.3f} {unit}, baseline {baseline:,.3f} {unit}, ratio {ratio:.2f} ({better} is better; target {target})"
    )


# -- 1. per-test cost of ce_receiver vs pytest-httpserver ---------------------------------

CE_TESTS = """
import pytest, requests
HEADERS = {headers!r}

@pytest.mark.parametrize("i", range({n}))
def test_one(ce_receiver, i):
    requests.post(ce_receiver.url, headers=dict(HEADERS, **{{"ce-id": str(i)}}), data=b"{{}}")
    ce_receiver.assert_received(id=str(i), count=1)
"""

HTTPSERVER_TESTS = """
import pytest, requests
HEADERS = {headers!r}

@pytest.mark.parametrize("i", range({n}))
def test_one(httpserver, i):
    httpserver.expect_oneshot_request("/", method="POST", headers={{"ce-id": str(i)}}).respond_with_data("", status=202)
    requests.post(httpserver.url_for("/"), headers=dict(HEADERS, **{{"ce-id": str(i)}}), data=b"{{}}")
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
"""

EMPTY_TESTS = """
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_one(i):
    pass
"""


def _pytest_seconds(source: str, directory: Path, name: str) -> float:
    path = directory / f"test_{name}.py"
    path.write_text(textwrap.dedent(source))
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            str(path),
        ],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{name} benchmark failed:\n{done.stdout[-2000:]}")
    return elapsed


def per_test_cost(n: int = 1000, rounds: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text("[pytest]\n")
        empty, ours, theirs = [], [], []
        for _ in range(rounds):  # interleaved, best of each, to even out machine noise
            empty.append(_pytest_seconds(EMPTY_TESTS.format(n=n), directory, "empty"))
            ours.append(_pytest_seconds(CE_TESTS.format(n=n, headers=HEADERS), directory, "ce"))
            theirs.append(
                _pytest_seconds(
                    HTTPSERVER_TESTS.format(n=n, headers=HEADERS), directory, "httpserver"
                )
            )

    def per_test(total: float) -> float:  # ms per test, pytest's own cost removed
        return (total - min(empty)) / n * 1000

    report(
        f"per-test cost over {n} tests (ce_receiver vs pytest-httpserver)",
        per_test(min(ours)),
        per_test(min(theirs)),
        "ms/test",
        "ratio <= 1.0",
        "lower",
    )


# -- 2. events per second through ce_receiver vs a bare werkzeug app ------------------------


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        return None


def _bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("202 Accepted", [("Content-Length", "0")])
    return [b""]


def _rate(url: str, n: int) -> float:
    with requests.Session() as session:
        started = time.perf_counter()
        for i in range(n):
            session.post(url, headers=dict(HEADERS, **{"ce-id": str(i)}), data=BODY)
        return n / (time.perf_counter() - started)


def throughput(n: int = 400, rounds: int = 15) -> None:
    server = make_server("127.0.0.1", 0, _bare_app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    bare_url = f"http://127.0.0.1:{server.server_port}/"
    with Receiver() as receiver:

        def ours() -> float:
            receiver.reset()
            rate = _rate(receiver.url, n)
            assert len(receiver.events) == n
            return rate

        mine, theirs, ratio = paired(ours, lambda: _rate(bare_url, n), rounds)
    server.shutdown()
    thread.join()
    report(
        f"events recorded per second, {rounds} paired rounds of {n} posts on a Session (ce_receiver vs bare werkzeug 202)",
        mine,
        theirs,
        "events/s",
        "ratio >= 0.85",
        "higher",
        ratio,
    )


# -- 3. wait_for wake-up latency ------------------------------------------------------------


def wake_latency(n: int = 300) -> None:
    with Receiver() as receiver:
        recorded: dict[str, float] = {}
        log = receiver._log
        original = log.settle

        def settle(delivery: Any, generation: int) -> bool:
            ok = original(delivery, generation)
            recorded[delivery.event.get_attributes()["id"]] = time.perf_counter()
            return ok

        log.settle = settle  # type: ignore[method-assign]
        ours = []
        with requests.Session() as session:
            for i in range(n):
                woke: dict[str, float] = {}
                ready = threading.Event()

                def waiter(
                    event_id: str = str(i),
                    ready: threading.Event = ready,
                    woke: dict[str, float] = woke,
                ) -> None:
                    ready.set()
                    receiver.wait_for(id=event_id, timeout=5)
                    woke["t"] = time.perf_counter()

                thread = threading.Thread(target=waiter)
                thread.start()
                ready.wait()
                session.post(receiver.url, headers=dict(HEADERS, **{"ce-id": str(i)}), data=BODY)
                thread.join()
                ours.append((woke["t"] - recorded[str(i)]) * 1000)
    # baseline: a bare condition variable, notified from another thread
    cond, flag, theirs = threading.Condition(), [False], []
    for _ in range(n):
        flag[0] = False
        stamps: dict[str, float] = {}

        def bare_waiter(stamps: dict[str, float] = stamps) -> None:
            with cond:
                cond.wait_for(lambda: flag[0], timeout=5)
            stamps["woke"] = time.perf_counter()

        thread = threading.Thread(target=bare_waiter)
        thread.start()
        time.sleep(0.0005)
        with cond:
            flag[0] = True
            stamps["set"] = time.perf_counter()
            cond.notify_all()
        thread.join()
        theirs.append((stamps["woke"] - stamps["set"]) * 1000)
    report(
        f"wait_for wake-up after an event is recorded, median of {n} (vs a bare Condition)",
        statistics.median(ours),
        statistics.median(theirs),
        "ms",
        "median <= 2 ms",
        "lower",
    )
    print(f"  ours p90 {statistics.quantiles(ours, n=10)[-1]:.3f} ms, max {max(ours):.3f} ms")


# -- 4. mock mode sends per second vs plain responses ----------------------------------------


def mock_rate(n: int = 500, rounds: int = 15) -> None:
    def plain_callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        return 202, {}, b""

    def ours() -> float:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            sink = MockSink("https://ours.example.com/", mock)
            rate = _rate("https://ours.example.com/e", n)
        assert len(sink.events) == n
        return rate

    def plain() -> float:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback("POST", "https://plain.example.com/e", callback=plain_callback)
            return _rate("https://plain.example.com/e", n)

    mine, theirs, ratio = paired(ours, plain, rounds)
    report(
        f"mock mode sends per second, {rounds} paired rounds of {n} posts (ce_mock sink vs responses callback)",
        mine,
        theirs,
        "sends/s",
        "ratio >= 0.8",
        "higher",
        ratio,
    )


def main() -> None:
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    started = time.perf_counter()
    for bench in (throughput, wake_latency, mock_rate, per_test_cost):
        bench()
    print(f"all benchmarks: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
