"""The documented CloudEvents extensions' rules (`cloudevents/extensions/`): warnings by
default, and their MUST rules rejecting with `extensions="strict"`; each case names the
extension and the rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_cloudevents import Client, Options, Receiver
from pytest_cloudevents.spec.rules import check_attributes

BASE = {"specversion": "1.0", "id": "1", "source": "/s", "type": "com.example.a"}

CASES = [
    # (extension rule, attributes, code, MUST in the extension?)
    ("expirytime: RFC 3339", {"expirytime": "tomorrow"}, "extension-time-not-rfc3339", True),
    ("expirytime: not before time", {"time": "2026-01-02T00:00:00Z", "expirytime": "2026-01-01T00:00:00Z"},  # noqa: E501
     "expirytime-before-time", False),
    ("sampledrate: greater than zero", {"sampledrate": 0}, "sampledrate-not-positive", True),
    ("sampledrate: an integer (binary mode: its string)", {"sampledrate": "x"}, "sampledrate-not-positive", True),  # noqa: E501
    ("severitytext: non-empty", {"severitytext": ""}, "severitytext-empty", True),
    ("severitytext: uppercase", {"severitytext": "warn"}, "severitytext-not-uppercase", False),
    ("severitynumber: not negative", {"severitynumber": -1}, "severitynumber-negative", True),
    ("deprecated: a boolean", {"deprecated": "yes"}, "deprecated-not-boolean", True),
    ("deprecationsunset: not before deprecationfrom",
     {"deprecationfrom": "2026-02-01T00:00:00Z", "deprecationsunset": "2026-01-01T00:00:00Z"},
     "deprecationsunset-before-from", True),
    ("deprecationfrom: RFC 3339", {"deprecationfrom": "soon"}, "extension-time-not-rfc3339", True),
    ("deprecationmigration: a URI", {"deprecationmigration": "see the wiki"}, "deprecationmigration-not-uri", False),  # noqa: E501
    ("sequence: non-empty", {"sequence": ""}, "sequence-empty", True),
    ("partitionkey: non-empty", {"partitionkey": ""}, "partitionkey-empty", True),
    ("dataref: a URI-reference", {"dataref": "not a uri"}, "dataref-not-uri-reference", True),
    ("traceparent: W3C Trace Context", {"traceparent": "00-xyz"}, "traceparent-invalid", True),
    ("recordedtime: RFC 3339", {"recordedtime": "now"}, "extension-time-not-rfc3339", True),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "extra", "code", "must"), CASES, ids=[c[0] for c in CASES])
def test_each_extension_rule(rule: str, extra: dict[str, object], code: str, must: bool) -> None:
    attributes = {**BASE, **extra}
    (warned,) = [v for v in check_attributes(attributes) if v.code == code]
    assert warned.level.value == "SHOULD"  # by default: a warning
    (strict,) = [v for v in check_attributes(attributes, extensions="strict") if v.code == code]
    assert strict.level.value == ("MUST" if must else "SHOULD")


@pytest.mark.parametrize(
    "extra",
    [
        {"expirytime": "2026-01-02T00:00:00Z", "time": "2026-01-01T00:00:00Z"},
        {"sampledrate": "30"},
        {"severitytext": "WARN", "severitynumber": 13},
        {"deprecated": "true", "deprecationfrom": "2026-01-01T00:00:00Z",
         "deprecationsunset": "2026-03-01T00:00:00Z", "deprecationmigration": "https://x.example/m"},
        {"sequence": "0001", "sequencetype": "Integer", "partitionkey": "customer-7"},
        {"dataref": "https://store.example/blobs/1"},
        {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        {"recordedtime": "2026-01-01T00:00:01Z"},
    ],
)  # fmt: skip
def test_valid_extensions_pass(extra: dict[str, object]) -> None:
    assert check_attributes({**BASE, **extra}, extensions="strict") == []


def test_a_relational_rule_is_checked_every_time() -> None:
    """A remembered clean value hides nothing: expirytime is read against each time."""
    ok = {**BASE, "time": "2026-01-01T00:00:00Z", "expirytime": "2026-01-02T00:00:00Z"}
    assert check_attributes(ok) == [] and check_attributes(ok) == []
    late = {**ok, "time": "2026-01-03T00:00:00Z"}
    assert [v.code for v in check_attributes(late)] == ["expirytime-before-time"]


def test_a_receiver_warns_by_default_and_rejects_when_strict(
    make_ce_receiver: Callable[..., Receiver], ce_client: Client
) -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "com.example.a",
               "ce-sampledrate": "0"}  # fmt: skip
    warn = make_ce_receiver()
    assert ce_client.send_raw(headers, b"", to=warn.url).status == 202
    assert [w.code for w in warn.deliveries[0].warnings] == ["sampledrate-not-positive"]
    strict = make_ce_receiver(extensions="strict")
    assert ce_client.send_raw(headers, b"", to=strict.url).status == 400
    strict.assert_rejected("sampledrate-not-positive")


def test_the_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="'warn'"):
        Options(extensions="loose")


def test_the_marker_takes_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, requests

        @pytest.mark.cloudevents(extensions="strict")
        def test_strict(ce_receiver):
            headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s",
                       "ce-type": "com.example.a", "ce-traceparent": "bad"}
            assert requests.post(ce_receiver.url, headers=headers).status_code == 400
            ce_receiver.assert_rejected("traceparent-invalid")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


# -- ordering -----------------------------------------------------------------------------


def _send(client: Client, url: str, **attributes: str) -> None:
    headers = {"ce-specversion": "1.0", "ce-type": "com.example.tick"}
    headers.update({f"ce-{k}": v for k, v in attributes.items()})
    assert client.send_raw(headers, b"", to=url).status == 202


def test_assert_ordered_by_sequence_per_source(ce_receiver: Receiver, ce_client: Client) -> None:
    for n, source in [
        ("0001", "/a"),
        ("0001", "/b"),
        ("0002", "/a"),
        ("0002", "/a"),
        ("0003", "/a"),
    ]:
        _send(ce_client, ce_receiver.url, id=f"{source}-{n}", source=source, sequence=n)
    ce_receiver.assert_ordered()  # a repeated 0002 (a retry) is in order
    assert ce_receiver.sequence_of("/a") == ["0001", "0002", "0002", "0003"]
    _send(ce_client, ce_receiver.url, id="late", source="/a", sequence="0002")
    with pytest.raises(AssertionError, match=r"sequence '0002', after '0003' .* source '/a'"):
        ce_receiver.assert_ordered()
    ce_receiver.assert_ordered(source="/b")  # only the events that match


def test_assert_ordered_by_time_per_partitionkey(ce_receiver: Receiver, ce_client: Client) -> None:
    _send(
        ce_client,
        ce_receiver.url,
        id="1",
        source="/s",
        partitionkey="k1",
        time="2026-01-01T00:00:02Z",
    )
    _send(
        ce_client,
        ce_receiver.url,
        id="2",
        source="/s",
        partitionkey="k2",
        time="2026-01-01T00:00:01Z",
    )
    ce_receiver.assert_ordered(by="time", per="partitionkey")
    with pytest.raises(AssertionError, match="out of time order per source"):
        ce_receiver.assert_ordered(by="time", per="source")
    _send(ce_client, ce_receiver.url, id="3", source="/s", partitionkey="k1")
    with pytest.raises(AssertionError, match="has no usable time"):
        ce_receiver.assert_ordered(by="time", per="partitionkey")
    with pytest.raises(ValueError, match="by is one of"):
        ce_receiver.assert_ordered(by="id")
