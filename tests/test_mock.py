"""Mock mode as users meet it: a producer module posting to a production URL."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import httpx
import pytest
import requests
import respx
from helpers import Ticker, binary
from transports import LIBRARIES, http_for

from pytest_cloudevents import CeMock, Receiver, faults

PRODUCER = """
import json
import requests

EVENTS_URL = "https://events.example.com/orders"

def publish(order_id, total):
    headers = {"ce-specversion": "1.0", "ce-id": order_id, "ce-source": "/shop",
               "ce-type": "com.example.order.created", "content-type": "application/json"}
    response = requests.post(EVENTS_URL, headers=headers, data=json.dumps({"total": total}),
                             timeout=2)
    response.raise_for_status()
    return response.status_code

def publish_broken():
    return requests.post(EVENTS_URL, headers={"ce-specversion": "1.0"}, data="{}").status_code
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(shop=PRODUCER)
    return pytester


def test_a_producer_module_is_tested_without_network(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_shop="""
        import pytest
        import requests
        from shop import publish
        from pytest_cloudevents import faults

        def test_publish(ce_mock):
            sink = ce_mock.sink("https://events.example.com/")
            assert publish("o-1", 12) == 202
            [event] = sink.assert_received(type="com.example.order.created", count=1)
            assert event.get_data() == {"total": 12}
            assert sink.deliveries[0].path == "/orders"

        def test_publish_failure(ce_mock):
            sink = ce_mock.sink("https://events.example.com/")
            sink.inject(faults.status(503))
            with pytest.raises(requests.HTTPError):
                publish("o-2", 1)
            assert sink.attempts("o-2").statuses == [503]

        def test_other_urls_fail_as_responses_does(ce_mock):
            ce_mock.sink("https://other.example.com/")
            with pytest.raises(requests.ConnectionError):
                publish("o-3", 1)

        def test_other_mocks_share_the_responses_object(ce_mock):
            ce_mock.responses.get("https://api.example.com/ping", body="pong")
            assert requests.get("https://api.example.com/ping").text == "pong"
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_unchecked_rejections_in_a_sink_fail_the_test_with_its_log(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_shop="""
        from shop import publish_broken

        def test_broken(ce_mock):
            ce_mock.sink("https://events.example.com/")
            assert publish_broken() == 400
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*<MockSink https://events.example.com/>:*",
            "*was rejected and the test never checked it*",
            "*- cloudevents -*",
            "*#1 POST /orders binary type=- id=- -> rejected 400 *missing-id*",
        ]
    )


def test_sink_defaults_follow_the_marker(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_shop="""
        import pytest
        from shop import publish_broken

        @pytest.mark.cloudevents(check_rejected=False)
        def test_broken(ce_mock):
            sink = ce_mock.sink("https://events.example.com/")
            assert publish_broken() == 400
            assert sink.options.check_rejected is False
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_sink_needs_an_http_url(ce_mock: CeMock) -> None:
    with pytest.raises(ValueError, match="http\\(s\\) URL prefix"):
        ce_mock.sink("events.example.com")


def test_the_prefix_has_a_boundary(ce_mock: CeMock) -> None:
    sink = ce_mock.sink("https://events.example.com/hooks")
    with pytest.raises(requests.ConnectionError):
        requests.post("https://events.example.com/hooksX", data=b"{}")
    assert requests.head("https://events.example.com/hooks/a").status_code == 200
    assert sink.url_for("b") == "https://events.example.com/hooks/b"


#: What each library raises for a URL no sink (and nothing else) is registered for.
UNMATCHED: dict[str, type[BaseException]] = {
    "requests": requests.ConnectionError,
    "httpx": respx.models.AllMockedAssertionError,
    "httpx-async": respx.models.AllMockedAssertionError,
    "aiohttp": aiohttp.ClientConnectionError,
}


@pytest.mark.parametrize("library", LIBRARIES)
def test_ce_mock_and_ce_receiver_work_in_one_test(
    ce_mock: CeMock, ce_receiver: Receiver, library: str
) -> None:
    """Before: the receiver's own loopback URL was refused by `responses`, and httpx and
    aiohttp calls were not caught at all."""
    http = http_for(library)
    sink = ce_mock.sink("https://broker.example.com/")
    assert http.post(sink.url, headers=binary(ce_id="m"), data=b"{}").status_code == 202
    assert http.post(ce_receiver.url, headers=binary(ce_id="r"), data=b"{}").status_code == 202
    sink.assert_received(id="m", count=1)
    ce_receiver.assert_received(id="r", count=1)
    with pytest.raises(UNMATCHED[library]):  # anything else is still not let out
        http.post("https://elsewhere.example.com/", data=b"{}", timeout=5)
    with pytest.raises(UNMATCHED[library]):  # nor a host that only starts like loopback
        http.post("http://127.0.0.1.evil.example.com/", data=b"{}", timeout=5)


@pytest.mark.parametrize("library", ["httpx-async", "aiohttp"])
def test_a_delay_in_an_async_mock_is_awaited_not_blocking(ce_mock: CeMock, library: str) -> None:
    sink = ce_mock.sink("https://slow.example.com/")
    sink.inject(faults.delay(0.3), times=1)

    async def scenario() -> int:
        async with Ticker() as ticker:
            if library == "aiohttp":
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(sink.url, headers=binary(), data=b"{}") as answered,
                ):
                    assert answered.status == 202
            else:
                async with httpx.AsyncClient() as client:
                    response = await client.post(sink.url, headers=binary(), content=b"{}")
                    assert response.status_code == 202
        return ticker.ticks

    assert asyncio.run(scenario()) >= 10
    sink.assert_received(count=1)


def test_reset_cuts_an_awaited_hold(ce_mock: CeMock) -> None:
    sink = ce_mock.sink("https://slow.example.com/")
    sink.inject(faults.delay(30))

    async def scenario() -> type[BaseException]:
        async with httpx.AsyncClient() as client:
            sending = asyncio.create_task(client.post(sink.url, headers=binary(), content=b"{}"))
            await asyncio.sleep(0.05)
            sink.reset()
            with pytest.raises(httpx.HTTPError) as info:
                await asyncio.wait_for(sending, 5)
            return type(info.value)

    assert asyncio.run(scenario()) is httpx.RemoteProtocolError
    assert sink.deliveries == []


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_cloudevents.hosts.mock import Mocks

    monkeypatch.setitem(sys.modules, "respx", None)
    monkeypatch.setitem(sys.modules, "aioresponses", None)
    mocks = Mocks()
    try:
        with pytest.raises(ImportError, match=r"pytest-cloudevents\[httpx\]"):
            _ = mocks.respx
        with pytest.raises(ImportError, match=r"pytest-cloudevents\[aiohttp\]"):
            _ = mocks.aioresponses
    finally:
        mocks.stop()


@pytest.mark.parametrize(
    ("url", "passes"),
    [
        ("http://127.0.0.1:8080/", True),
        ("http://127.10.0.3/hooks", True),
        ("https://localhost:9/x?y", True),
        ("http://[::1]:80/", True),
        ("http://127.0.0.1.evil.example.com/", False),
        ("http://localhost.example.com/", False),
        ("https://events.example.com/", False),
    ],
)
def test_only_loopback_passes_through(url: str, passes: bool) -> None:
    from pytest_cloudevents.hosts.mock import LOOPBACK

    assert (LOOPBACK.match(url) is not None) is passes


LATE_IMPORT = """
import sys
from pytest_cloudevents.hosts.mock import Mocks, MockSink
assert "httpx" not in sys.modules and "respx" not in sys.modules
mocks = Mocks()
sink = MockSink("https://late.example.com/", mocks)
assert "respx" not in sys.modules, "respx started before httpx was imported"
import httpx  # imported after the sink: mocked as its import ends
headers = {"ce-specversion": "1.0", "ce-id": "late", "ce-source": "/", "ce-type": "t"}
assert httpx.post(sink.url, headers=headers, content=b"").status_code == 202
assert [e.get_attributes()["id"] for e in sink.events] == ["late"]
mocks.stop()
print("ok")
"""


@pytest.mark.once
def test_a_library_imported_after_the_sink_is_still_caught() -> None:
    """Issue 27: ce_mock started every library's mock for every test (3.0 ms). Each starts
    when a sink exists and the library is imported, so a late import must still be caught."""
    run = subprocess.run(
        [sys.executable, "-c", LATE_IMPORT], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_mocks_start_nothing_until_a_sink_or_a_mock_is_asked_for() -> None:
    from pytest_cloudevents.hosts.mock import Mocks

    mocks = Mocks()
    try:
        assert (mocks._responses, mocks._respx, mocks._aioresponses) == (None, None, None)
        assert mocks.respx is not None and mocks._responses is None  # only what was asked
    finally:
        mocks.stop()


def _patched(method: object) -> bool:
    """Whether respx's mock stands in for this httpcore method."""
    return str(getattr(method, "__module__", "")).startswith("respx")


def test_a_held_httpx_mock_passes_everything_through_until_the_next_test_takes_it() -> None:
    """Issue 27: starting respx patches twelve httpcore methods (a third of a ce_mock
    test). ce_mock holds the started mock for the next test, dormant: while it waits,
    httpx sends for real, as with no mock; `release_held` stops it."""
    import httpcore

    from pytest_cloudevents.hosts.mock import Mocks, MockSink
    from pytest_cloudevents.hosts.mock.sink import release_held

    unmatched = "http://0.0.0.0:1/"  # not loopback to the mock: refused at once for real
    first = Mocks()
    MockSink("https://held.example.com/", first)
    with pytest.raises(respx.models.AllMockedAssertionError):
        httpx.post(unmatched, content=b"")  # mocked: no sink, not loopback
    first.stop(hold=True)
    try:
        assert _patched(httpcore.ConnectionPool.handle_request)  # held, still started
        with pytest.raises(httpx.ConnectError):
            httpx.post(unmatched, content=b"", timeout=5)  # dormant: sent for real
        second = Mocks()
        sink = MockSink("https://next.example.com/", second)
        assert httpx.post(sink.url, headers=binary(ce_id="n"), content=b"{}").status_code == 202
        with pytest.raises(respx.models.AllMockedAssertionError):  # the first test's sink
            httpx.post("https://held.example.com/", headers=binary(), content=b"{}")
        second.stop(hold=True)
    finally:
        release_held()
    assert not _patched(httpcore.ConnectionPool.handle_request)


def test_ce_mock_tests_in_a_row_share_the_httpx_mock_and_others_see_none(
    pytester: pytest.Pytester,
) -> None:
    """Consecutive ce_mock tests take the held httpx mock; a test without ce_mock runs
    with httpx unpatched, and so does everything after the last test."""
    pytester.makepyfile(
        """
        import httpcore, httpx

        HEADERS = {"ce-specversion": "1.0", "ce-source": "/s", "ce-type": "t.e.st"}

        def patched():
            module = getattr(httpcore.ConnectionPool.handle_request, "__module__", "")
            return str(module).startswith("respx")

        def test_a(ce_mock):
            sink = ce_mock.sink("https://a.example.com/")
            assert httpx.post(sink.url, headers={**HEADERS, "ce-id": "a"}).status_code == 202
            sink.assert_received(id="a")

        def test_b(ce_mock):
            sink = ce_mock.sink("https://b.example.com/")
            assert httpx.post(sink.url, headers={**HEADERS, "ce-id": "b"}).status_code == 202
            sink.assert_received(id="b", count=1)
            assert len(sink.deliveries) == 1  # the first test's sink is gone

        def test_c_without_ce_mock():
            assert not patched()

        def test_d(ce_mock):
            sink = ce_mock.sink("https://d.example.com/")
            assert httpx.post(sink.url, headers={**HEADERS, "ce-id": "d"}).status_code == 202
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)
