"""The CloudEvents 1.0.3 working draft (`spec="1.0.3-wip"`, `cloudevents/spec` main's
`spec.md` and `formats/json-format.md`): its rules apply only when asked, each code marked
with the version that brought it."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from pytest_cloudevents import Options, Receiver
from pytest_cloudevents.spec.codes import CODES
from pytest_cloudevents.wire import Headers, decode

HEADERS = [
    ("ce-specversion", "1.0"),
    ("ce-id", "1"),
    ("ce-source", "/s"),
    ("ce-type", "com.example.a"),
]


def test_each_attribute_appears_at_most_once_binary() -> None:
    """spec.md (1.0.3-wip), Context Attributes: "Each context attribute MUST only appear
    at most once in a CloudEvent"; 1.0.2 has no such rule (repeated headers join)."""
    headers = Headers([*HEADERS, ("ce-subject", "a"), ("ce-Subject", "b")])
    assert decode(headers, b"").ok  # 1.0.2: joined as "a, b"
    drafted = decode(headers, b"", spec="1.0.3-wip")
    assert [(v.code, v.attribute) for v in drafted.violations] == [
        ("attribute-repeated", "subject")
    ]


def test_each_attribute_appears_at_most_once_structured_and_batch() -> None:
    one = b'{"specversion":"1.0","id":"1","source":"/s","type":"t.a","type":"t.b"}'
    content = {"content-type": "application/cloudevents+json"}
    assert decode(content, one).ok
    assert [v.code for v in decode(content, one, spec="1.0.3-wip").violations] == [
        "attribute-repeated"
    ]
    batch = b'[{"specversion":"1.0","id":"1","source":"/s","type":"t.a"},' + one + b"]"
    found = decode({"content-type": "application/cloudevents-batch+json"}, batch, spec="1.0.3-wip")
    (repeated,) = [v for v in found.violations if v.code == "attribute-repeated"]
    assert "in event 1 of the batch" in repeated.message


def test_no_json_is_assumed_without_a_content_type() -> None:
    """json-format.md (1.0.3-wip) 3.1.2 and its binary example: a body with no content type
    is not read as JSON; 1.0.2 reads it as JSON when it parses."""
    body = b'{ "xyz": 123 }'
    assert decode(Headers(HEADERS), body).events[0].get_data() == {"xyz": 123}
    assert decode(Headers(HEADERS), body, spec="1.0.3-wip").events[0].get_data() == body


def test_the_codes_carry_the_version_that_brought_them() -> None:
    assert CODES["attribute-repeated"].version == "1.0.3-wip"
    assert CODES["missing-id"].version == "1.0.2"
    assert CODES["sampledrate-not-positive"].version == "extensions"


def _post_with_two_types(url: str) -> int:
    """A binary-mode POST carrying ce-type twice (http.client sends repeated headers)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.putrequest("POST", "/")
        for name, value in [*HEADERS, ("ce-type", "com.example.b"), ("Content-Length", "0")]:
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_receiver_with_the_draft(make_ce_receiver: Callable[..., Receiver]) -> None:
    draft = make_ce_receiver(spec="1.0.3-wip")
    assert _post_with_two_types(draft.url) == 400
    draft.assert_rejected("attribute-repeated")
    released = make_ce_receiver()
    assert _post_with_two_types(released.url) == 202


def test_the_setting_is_checked() -> None:
    with pytest.raises(ValueError, match=r"1\.0\.3-wip"):
        Options(spec="1.1")
