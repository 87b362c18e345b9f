"""Mock mode as users meet it: a producer module posting to a production URL."""

from __future__ import annotations

import pytest
import requests
from helpers import binary

from pytest_cloudevents import CeMock, Receiver

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


def test_ce_mock_and_ce_receiver_work_in_one_test(ce_mock: CeMock, ce_receiver: Receiver) -> None:
    """Before: the receiver's own loopback URL was refused by `responses`."""
    sink = ce_mock.sink("https://broker.example.com/")
    assert requests.post(sink.url, headers=binary(ce_id="m"), data=b"{}").status_code == 202
    assert requests.post(ce_receiver.url, headers=binary(ce_id="r"), data=b"{}").status_code == 202
    sink.assert_received(id="m", count=1)
    ce_receiver.assert_received(id="r", count=1)
    with pytest.raises(requests.ConnectionError):  # anything else is still not let out
        requests.post("https://elsewhere.example.com/", data=b"{}", timeout=5)


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
    from pytest_cloudevents.mock import LOOPBACK

    assert (LOOPBACK.match(url) is not None) is passes
