"""Properties of the codec: valid events survive every mode; no input makes decode crash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_cloudevents.events import CloudEvent, build, new_event
from pytest_cloudevents.events import attributes_of as event_attributes
from pytest_cloudevents.wire import decode, encode_batch, encode_binary, encode_structured

KNOWN = {"id", "source", "type", "specversion", "datacontenttype", "dataschema", "subject", "time"}
# The String type: no control characters, surrogates or noncharacters.
text = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs"),
        # the noncharacters: U+FDD0..U+FDEF and the last two code points of every plane
        blacklist_characters="".join(map(chr, range(0xFDD0, 0xFDF0)))
        + "".join(chr(plane * 0x10000 + last) for plane in range(17) for last in (0xFFFE, 0xFFFF)),
    ),
    min_size=1,
    max_size=30,
)
segment = st.from_regex(r"[A-Za-z0-9._~-]{1,10}", fullmatch=True)
source = st.lists(segment, min_size=1, max_size=4).map(lambda p: "/" + "/".join(p))
etype = st.from_regex(r"com\.example\.[a-z]{1,10}(\.[a-z]{1,10})?", fullmatch=True)
ext_name = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(lambda n: n not in KNOWN)
ext_value = st.one_of(text, st.booleans(), st.integers(-(2**31), 2**31 - 1))
times = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30))]),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=10,
)
payloads = st.one_of(
    st.tuples(st.none(), st.none()),
    st.tuples(st.sampled_from([None, "application/json", "application/vnd.x+json"]), json_values),
    st.tuples(st.just("text/plain"), text),
    st.tuples(st.sampled_from([None, "application/octet-stream"]), st.binary(min_size=1)),
)


@st.composite
def events(draw: st.DrawFn) -> CloudEvent:
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(text),
        "source": draw(source),
        "type": draw(etype),
    }
    if draw(st.booleans()):
        attributes["subject"] = draw(text)
    if draw(st.booleans()):
        attributes["time"] = draw(times)
    if draw(st.booleans()):
        attributes["dataschema"] = "https://example.com" + draw(source)
    attributes.update(draw(st.dictionaries(ext_name, ext_value, max_size=3)))
    content_type, data = draw(payloads)
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    if "time" not in attributes:  # both SDK constructors would invent one
        return build(attributes, data)
    return new_event(attributes, data)


def _canonical(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else value


def _expected(event: CloudEvent, mode: str) -> dict[str, Any]:
    attrs = event_attributes(event)
    if mode == "binary":
        # Binary mode carries extension values as strings, and makes an implied
        # datacontenttype explicit (JSON format 3.1.2).
        attrs = {k: v if k in KNOWN else _canonical(v) for k, v in attrs.items()}
        data = event.get_data()
        if data is not None and "datacontenttype" not in attrs:
            binary = isinstance(data, bytes)
            attrs["datacontenttype"] = "application/octet-stream" if binary else "application/json"
    return attrs


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_every_valid_event_survives_each_mode(event: CloudEvent) -> None:
    for mode, encoder in (("binary", encode_binary), ("structured", encode_structured)):
        headers, body = encoder(event)
        decoded = decode(headers, body)
        assert decoded.violations == [], (mode, decoded.violations)
        [back] = decoded.events
        assert event_attributes(back) == _expected(event, mode), mode
        assert back.get_data() == event.get_data(), mode


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=4))
def test_batches_survive(batch: list[CloudEvent]) -> None:
    headers, body = encode_batch(batch)
    decoded = decode(headers, body)
    assert decoded.violations == []
    assert [event_attributes(e) for e in decoded.events] == [_expected(e, "batch") for e in batch]
    assert [e.get_data() for e in decoded.events] == [e.get_data() for e in batch]


header_names = st.one_of(
    st.sampled_from(
        ["ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "ce-x", "content-type"]
    ),
    st.from_regex(r"[A-Za-z0-9-]{1,12}", fullmatch=True),
)
header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=20),
    st.sampled_from(
        [
            "application/cloudevents+json",
            "application/cloudevents-batch+json",
            "application/json",
            "1.0",
            "%C0%A0",
            '"',
        ]
    ),
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: __import__("json").dumps(v).encode()),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(header_names, header_values, max_size=8), bodies, st.booleans())
def test_no_input_makes_decode_raise(headers: dict[str, str], body: bytes, strict: bool) -> None:
    decoded = decode(headers, body, strict=strict)
    assert decoded.ok == (not decoded.violations)
    if decoded.violations:
        assert decoded.events == []
        assert all(v.message for v in decoded.violations)
