"""RemoteReceiver and `--ce-remote`: the receiver interface over a standalone receiver
running in another process."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from helpers import binary
from standalone import Served, serve

from pytest_cloudevents import RemoteReceiver, faults, match


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    running = serve("--auth", "tok")
    yield running
    assert running.stop() == 0


@pytest.fixture
def remote(served: Served) -> Iterator[RemoteReceiver]:
    with RemoteReceiver(served.url, token="tok") as receiver:
        receiver.reset()
        yield receiver


def test_reads_see_what_arrived_before_them(remote: RemoteReceiver) -> None:
    assert requests.post(remote.url, headers=binary(ce_id="a"), data=b"{}").status_code == 202
    [event] = remote.events  # no wait: a read fetches first
    assert event == match(id="a")
    assert remote.deliveries[0].outcome == "accepted"


def test_a_wait_long_polls_until_the_event_arrives(remote: RemoteReceiver) -> None:
    start = threading.Event()

    def later() -> None:
        start.wait(5)
        requests.post(remote.url_for("/hook"), headers=binary(ce_id="late"), data=b"{}")

    sender = threading.Thread(target=later)
    sender.start()
    start.set()
    [_] = remote.wait_for(id="late", timeout=10)
    sender.join()
    assert remote.deliveries[-1].path == "/hook"


def test_faults_travel_as_json_and_hits_are_counted_remotely(remote: RemoteReceiver) -> None:
    rule = remote.inject(
        faults.throttle(retry_after=1), times=1, when=match(type="com.example.test")
    )
    first = requests.post(remote.url, headers=binary(ce_id="r"), data=b"{}")
    second = requests.post(remote.url, headers=binary(ce_id="r"), data=b"{}")
    assert (first.status_code, second.status_code) == (429, 202)
    assert rule.hits == 1
    assert remote.attempts("r").statuses == [429, 202]


def test_python_code_is_refused_with_a_clear_error(remote: RemoteReceiver) -> None:
    with pytest.raises(TypeError, match="cannot run a Python handler"):
        remote.handle(lambda event: None)
    with pytest.raises(TypeError, match="cannot run a Python predicate"):
        remote.inject(faults.status(500), when=lambda d: True)
    with pytest.raises(TypeError, match="plain values or compiled regexes"):
        remote.inject(faults.status(500), when=match(data=lambda d: True))


def test_a_reset_by_someone_else_is_noticed(remote: RemoteReceiver, served: Served) -> None:
    requests.post(remote.url, headers=binary(ce_id="old"), data=b"{}")
    assert len(remote.events) == 1
    requests.post(served.url + "_ce/reset", headers={"Authorization": "Bearer tok"})
    requests.post(remote.url, headers=binary(ce_id="new"), data=b"{}")
    assert [e.get_attributes()["id"] for e in remote.events] == ["new"]


def test_a_wrong_token_or_url_says_what_to_do(served: Served) -> None:
    with pytest.raises(PermissionError, match="token="):
        RemoteReceiver(served.url, auth="wrong")
    with pytest.raises(ConnectionError, match="cannot reach"):
        RemoteReceiver("http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="standalone receiver's URL"):
        RemoteReceiver("events-sink:8080")


def test_ce_receiver_drives_a_standalone_receiver_under_ce_remote(
    pytester: pytest.Pytester, served: Served
) -> None:
    pytester.makepyfile(
        """
        import requests
        from pytest_cloudevents import RemoteReceiver, faults

        HEADERS = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s",
                   "ce-type": "com.example.t"}

        def test_one(ce_receiver):
            assert isinstance(ce_receiver, RemoteReceiver)
            ce_receiver.inject(faults.status(503), times=1)
            assert requests.post(ce_receiver.url, headers=HEADERS).status_code == 503
            assert requests.post(ce_receiver.url, headers=HEADERS).status_code == 202
            ce_receiver.assert_received(id="1", count=1)

        def test_two_starts_clean(ce_receiver):
            assert ce_receiver.deliveries == []

        def test_an_unchecked_rejection_fails_the_test(ce_receiver):
            requests.post(ce_receiver.url, headers={"ce-specversion": "1.0"})
        """
    )
    result = pytester.runpytest(
        "-p", "no:randomly", f"--ce-remote={served.url}", "--ce-remote-token=tok"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*was rejected and the test never checked it*", "*missing-id*"])
