"""The plugin as users meet it: test files run through pytest by pytester."""

from __future__ import annotations

import pytest

# Imported here so that pytester's in-process runs share these modules with this
# process (it forgets modules first imported inside a run, which breaks requests'
# cookie-jar type checks on the next run).
import requests  # noqa: F401

PRODUCER = """
import json
import requests

HEADERS = {"ce-specversion": "1.0", "ce-id": "o-1", "ce-source": "/orders",
           "ce-type": "com.example.order.created", "content-type": "application/json"}

def emit_binary(url):
    return requests.post(url, headers=HEADERS, data=json.dumps({"total": 5}))

def emit_structured(url, id="o-2"):
    body = {"specversion": "1.0", "id": id, "source": "/orders",
            "type": "com.example.order.shipped", "data": {"total": 7}}
    return requests.post(url, headers={"content-type": "application/cloudevents+json"},
                         data=json.dumps(body))

def emit_batch(url):
    events = [{"specversion": "1.0", "id": f"b-{i}", "source": "/orders",
               "type": "com.example.order.created"} for i in range(2)]
    return requests.post(url, headers={"content-type": "application/cloudevents-batch+json"},
                         data=json.dumps(events))

def emit_broken(url):
    headers = {k: v for k, v in HEADERS.items() if k != "ce-id"}
    return requests.post(url, headers=headers, data="{}")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(producer=PRODUCER)
    pytester.makeini("[pytest]\n")
    return pytester


def test_a_producer_test_passes_in_every_mode(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        from producer import emit_binary, emit_structured, emit_batch
        from pytest_cloudevents import match

        def test_orders(ce_receiver):
            assert emit_binary(ce_receiver.url).status_code == 202
            assert emit_structured(ce_receiver.url_for("/shipping")).status_code == 202
            assert emit_batch(ce_receiver.url).status_code == 202
            [created] = ce_receiver.assert_received(id="o-1", count=1)
            assert created.get_data() == {"total": 5}
            assert created == match(type="com.example.order.created")
            ce_receiver.assert_received(type="com.example.order.created", count=3)
            assert [d.mode for d in ce_receiver.deliveries] == ["binary", "structured", "batch"]

        def test_next_test_starts_empty(ce_receiver):
            assert ce_receiver.deliveries == []
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_a_failing_assertion_shows_the_closest_event(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        from producer import emit_binary

        def test_orders(ce_receiver):
            emit_binary(ce_receiver.url)
            ce_receiver.assert_received(type="com.example.order.created", data={"total": 6},
                                        timeout=0.1)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected an event match(type='com.example.order.created', data={'total': 6})*",
            "*closest event (id='o-1', type='com.example.order.created'):*",
            "*data: expected {'total': 6}, got {'total': 5}*",
        ]
    )


def test_a_failing_test_gets_a_cloudevents_report_section(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        from producer import emit_binary, emit_structured

        def test_orders(ce_receiver):
            emit_binary(ce_receiver.url)
            emit_structured(ce_receiver.url_for("/x"))
            assert False, "the service misbehaved"
        """
    )
    result = project.runpytest("--ce-seed=1234")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- cloudevents -*",
            "<Receiver http://127.0.0.1:*/>",
            "*#1 POST / binary type=com.example.order.created id=o-1 -> accepted 202",
            "*#2 POST /x structured type=com.example.order.shipped id=o-2 -> accepted 202",
            "seed: --ce-seed=1234 (this test's seed: *)",
        ]
    )


def test_an_unexpected_rejection_fails_the_test_itself(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        from producer import emit_broken

        def test_forgets_to_check(ce_receiver):
            emit_broken(ce_receiver.url)

        def test_checks_it(ce_receiver):
            assert emit_broken(ce_receiver.url).status_code == 400
            [delivery] = ce_receiver.assert_rejected("missing-id")
            assert delivery.status == 400

        def test_reads_rejected_twice(ce_receiver):
            emit_broken(ce_receiver.url)
            assert len(ce_receiver.rejected) == 1
            assert len(ce_receiver.rejected) == 1  # reading is no assertion
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)  # failures, not errors
    result.stdout.fnmatch_lines(
        [
            "*cloudevents: problems the test did not assert on*",
            "*delivery #1 was rejected and the test never checked it:*",
            "*missing-id [[]id[]]: the required attribute 'id' is missing*",
            "FAILED test_orders.py::test_forgets_to_check*",
            "FAILED test_orders.py::test_reads_rejected_twice*",
        ]
    )


def test_a_handler_error_fails_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        from producer import emit_binary

        def test_handler(ce_receiver):
            def handler(event):
                raise KeyError("total")
            ce_receiver.handle(handler)
            assert emit_binary(ce_receiver.url).status_code == 500
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*delivery #1: user code (the handler or a when= predicate) raised KeyError('total')*"]
    )


def test_marker_and_ini_keys_change_behaviour(project: pytest.Pytester) -> None:
    project.makeini(
        """
        [pytest]
        cloudevents_ack_status = 200
        cloudevents_wait_timeout = 0.1
        """
    )
    project.makepyfile(
        test_orders="""
        import pytest
        import requests
        from producer import emit_binary, emit_broken, HEADERS

        def test_ack_status_from_ini(ce_receiver):
            assert emit_binary(ce_receiver.url).status_code == 200
            assert ce_receiver.options.wait_timeout == 0.1

        @pytest.mark.cloudevents(strict=False)
        def test_lax_by_marker(ce_receiver):
            headers = dict(HEADERS, **{"ce-time": "yesterday"})
            assert requests.post(ce_receiver.url, headers=headers, data="{}").status_code == 200
            [delivery] = ce_receiver.deliveries
            assert [w.code for w in delivery.warnings] == ["time-not-rfc3339"]

        def test_strict_again(ce_receiver):
            headers = dict(HEADERS, **{"ce-time": "yesterday"})
            assert requests.post(ce_receiver.url, headers=headers, data="{}").status_code == 400
            ce_receiver.assert_rejected("time-not-rfc3339")

        @pytest.mark.cloudevents(check_rejected=False)
        def test_rejections_allowed_by_marker(ce_receiver):
            emit_broken(ce_receiver.url)

        def test_make_receiver_takes_marker_defaults(make_ce_receiver):
            with make_ce_receiver(ack_status=204) as other:
                assert emit_binary(other.url).status_code == 204
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5)


def test_ini_check_rejected_and_command_line_lax(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ncloudevents_check_rejected = false\n")
    project.makepyfile(
        test_orders="""
        from producer import emit_broken

        def test_broken_is_allowed(ce_receiver):
            assert emit_broken(ce_receiver.url).status_code == 400
        """
    )
    project.runpytest().assert_outcomes(passed=1)
    project.makepyfile(
        test_orders="""
        import requests
        from producer import HEADERS

        def test_lax(ce_receiver):
            headers = dict(HEADERS, **{"ce-time": "yesterday"})
            assert requests.post(ce_receiver.url, headers=headers, data="{}").status_code == 202
        """
    )
    project.runpytest("--ce-lax").assert_outcomes(passed=1)
    project.runpytest().assert_outcomes(failed=1)


def test_wrong_marker_arguments_are_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        import pytest

        @pytest.mark.cloudevents(strictness=False)
        def test_x(ce_receiver):
            pass
        """
    )
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*does not know *strictness*"])
    assert result.ret != 0


def test_match_comparison_is_explained(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        from producer import emit_binary
        from pytest_cloudevents import match

        def test_orders(ce_receiver):
            emit_binary(ce_receiver.url)
            [event] = ce_receiver.wait_for(id="o-1")
            assert event == match(type="com.example.order.cancelled")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the event differs from the match:*",
            "*type: expected 'com.example.order.cancelled', got 'com.example.order.created'*",
        ]
    )


def test_make_ce_receiver_gives_separate_receivers_stopped_after(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_fanout="""
        import requests
        from producer import emit_binary

        KEEP = []

        def test_fanout(make_ce_receiver, ce_receiver):
            a, b = make_ce_receiver(), make_ce_receiver(ack_status=200)
            assert len({a.port, b.port, ce_receiver.port}) == 3
            emit_binary(a.url)
            assert a.events and not b.events and not ce_receiver.events
            KEEP.append(a.url)

        def test_stopped_after():
            try:
                requests.post(KEEP[0], data="{}", timeout=1)
            except requests.ConnectionError:
                return
            raise AssertionError("the receiver was still listening")
        """
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


@pytest.mark.once
def test_runs_under_xdist_and_in_random_order(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_many="""
        import pytest
        from producer import emit_structured

        @pytest.mark.parametrize("n", range(8))
        def test_each(ce_receiver, n):
            emit_structured(ce_receiver.url, id=f"e-{n}")
            [event] = ce_receiver.assert_received(count=1)
            assert event.get_attributes()["id"] == f"e-{n}"
        """
    )
    result = project.runpytest_subprocess("-p", "xdist", "-n", "2", "-p", "randomly")
    result.assert_outcomes(passed=8)


def test_the_receiver_binds_to_the_host_given(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_host="""
        def test_host(ce_receiver):
            assert ce_receiver._server.socket.getsockname()[0] == "127.0.0.1"
            assert ce_receiver.url.startswith("http://localhost:")
        """
    )
    project.runpytest("--ce-advertise-host=localhost").assert_outcomes(passed=1)


def test_ce_host_moves_the_bind_address(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_host="""
        from producer import emit_binary

        def test_host(ce_receiver):
            assert ce_receiver._server.socket.getsockname()[0] == "127.0.0.2"
            assert ce_receiver.url.startswith("http://127.0.0.2:")
            assert emit_binary(ce_receiver.url).status_code == 202
        """
    )
    project.runpytest("--ce-host=127.0.0.2").assert_outcomes(passed=1)


def test_a_failed_assertion_shows_the_users_line_not_the_plugins_source(
    project: pytest.Pytester,
) -> None:
    """Before: a failing assert_received printed ~25 lines of sink.py; and the message
    repeated the delivery log that the `cloudevents` section shows."""
    project.makepyfile(
        test_orders="""
        from producer import emit_binary
        from pytest_cloudevents import assert_ack, Client

        def test_waits(ce_receiver):
            emit_binary(ce_receiver.url)
            ce_receiver.assert_received(type="com.example.never", timeout=0.1)

        def test_result():
            with Client() as client:
                assert_ack(client.send_raw({}, b"", to="http://127.0.0.1:9/"))
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "sink.py" not in text and "assertions.py" not in text
    assert "def assert_received" not in text and "def assert_ack" not in text
    result.stdout.fnmatch_lines(
        [
            '*ce_receiver.assert_received(type="com.example.never", timeout=0.1)*',
            "E*expected an event match(type='com.example.never'), none arrived",
            "*- cloudevents -*",
            "*#1 POST / binary type=com.example.order.created*",
        ]
    )
    assert text.count("#1 POST / binary") == 1  # the log is shown once, in the section
