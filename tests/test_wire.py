"""Real HTTP messages, valid and invalid, derived from the CloudEvents 1.0.2 texts:
the core spec, the HTTP protocol binding and the JSON format."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from helpers import attr, when

from pytest_cloudevents.events import event_class
from pytest_cloudevents.spec.codes import MUST_CODES, Level
from pytest_cloudevents.wire import decode

B = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/src", "ce-type": "com.example.t"}
S = {"specversion": "1.0", "id": "1", "source": "/src", "type": "com.example.t"}
SJ = {"content-type": "application/cloudevents+json"}
BJ = {"content-type": "application/cloudevents-batch+json"}


def b(drop: tuple[str, ...] = (), /, **extra: str) -> dict[str, str]:
    """Binary-mode headers: the four required attributes plus `extra` (ce_x -> ce-x)."""
    headers = {k: v for k, v in B.items() if k not in drop}
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers


def s(*, drop: tuple[str, ...] = (), **members: Any) -> bytes:
    """A structured-mode body: the four required attributes plus `members`."""
    doc = {k: v for k, v in S.items() if k not in drop}
    doc.update(members)
    return json.dumps(doc).encode()


@dataclass
class Case:
    id: str
    headers: dict[str, str]
    body: bytes = b""
    mode: str | None = "binary"
    attrs: dict[str, Any] = field(default_factory=dict)  # expected subset of attributes
    data: Any = None
    count: int = 1
    warnings: tuple[str, ...] = ()
    code: str | None = None  # expected violation code of an invalid message


UTC = timezone.utc
VALID = [
    Case("binary-minimal", b(), attrs=S),
    # Conformance item 5 -- HTTP binding 3.1.1: only a Content-Type gives the data a media
    # type; without one nothing makes the body a violation (JSON when it parses, else bytes)
    Case("binary-no-content-type-text", b(), b"test data", data=b"test data"),
    Case("binary-no-content-type-json", b(), b'{"a": 1}', data={"a": 1}),
    # Conformance item 4 -- in 1.0 datacontentencoding is an ordinary extension: data is left
    # alone (0.3 JSON format 3.1 alone reads it as base64)
    Case(
        "structured-v1-datacontentencoding-is-an-extension",
        SJ,
        s(datacontentencoding="base64", data="aGVsbG8="),
        mode="structured",
        attrs={"datacontentencoding": "base64"},
        data="aGVsbG8=",
    ),
    Case(
        "structured-v1-datacontentencoding-object-data",
        SJ,
        s(datacontentencoding="base64", data={"a": 1}),
        mode="structured",
        data={"a": 1},
    ),
    # Conformance item 2: media types with parameters, quoted or not, are media types
    Case(
        "binary-media-type-quoted-parameter",
        b(content_type='text/plain; charset="utf-8"; format=flowed'),
        b"hi",
        attrs={"datacontenttype": 'text/plain; charset="utf-8"; format=flowed'},
        data="hi",
    ),
    Case(
        "binary-json-charset",
        b(**{"content-type": "application/json; charset=utf-8"}),
        b'{"a": 1}',
        attrs={"datacontenttype": "application/json; charset=utf-8"},
        data={"a": 1},
    ),
    Case(
        "binary-header-case",
        {"CE-SpecVersion": "1.0", "Ce-Id": "7", "CE-SOURCE": "/x", "ce-Type": "com.example.t"},
        attrs={"id": "7", "source": "/x"},
    ),
    Case("binary-lowercase-hex", b(ce_subject="a%c3%a9"), attrs={"subject": "aé"}),
    Case(
        "binary-spec-euro-example",
        b(ce_subject="Euro%20%E2%82%AC%20%F0%9F%98%80"),
        attrs={"subject": "Euro € \U0001f600"},
    ),
    Case("binary-unnecessary-escape", b(ce_subject="%41bc"), attrs={"subject": "Abc"}),
    Case("binary-quoted-string", b(ce_subject='"hello world"'), attrs={"subject": "hello world"}),
    Case("binary-quoted-backslash", b(ce_subject='"a\\"b"'), attrs={"subject": 'a"b'}),
    Case("binary-quoted-then-percent", b(ce_subject='"a%20b"'), attrs={"subject": "a b"}),
    Case("binary-ows-trimmed", b(ce_subject="  abc "), attrs={"subject": "abc"}),
    Case(
        "binary-text-plain",
        b(**{"content-type": "text/plain; charset=utf-8"}),
        "héllo".encode(),
        data="héllo",
    ),
    Case(
        "binary-text-latin1",
        b(**{"content-type": "text/plain; charset=iso-8859-1"}),
        "héllo".encode("latin-1"),
        data="héllo",
    ),
    Case(
        "binary-xml",
        b(**{"content-type": "application/xml"}),
        b'<much wow="xml"/>',
        data='<much wow="xml"/>',
    ),
    Case(
        "binary-octet-stream",
        b(**{"content-type": "application/octet-stream"}),
        b"\x00\xff\x10",
        data=b"\x00\xff\x10",
    ),
    Case(
        "binary-vendor-json",
        b(**{"content-type": "application/vnd.example+json"}),
        b"[1, 2]",
        data=[1, 2],
    ),
    Case("binary-no-content-type-json", b(), b'{"k": "v"}', data={"k": "v"}),
    Case(
        "binary-json-string-literal",
        b(**{"content-type": "application/json"}),
        b'"I\'m just a string"',
        data="I'm just a string",
    ),
    Case(
        "binary-time-utc",
        b(ce_time="2018-04-05T03:56:24Z"),
        attrs={"time": datetime(2018, 4, 5, 3, 56, 24, tzinfo=UTC)},
    ),
    Case(
        "binary-time-offset-fraction",
        b(ce_time="2018-04-05T19:31:00.123456789+02:00"),
        attrs={
            "time": datetime(2018, 4, 5, 19, 31, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
        },
    ),
    Case("binary-time-lowercase-t-z", b(ce_time="2018-04-05t03:56:24z")),
    Case(
        "binary-extension-int-as-string",
        b(ce_comexampleothervalue="5"),
        attrs={"comexampleothervalue": "5"},
    ),
    Case(
        "binary-dataschema",
        b(ce_dataschema="https://example.com/schema.json"),
        attrs={"dataschema": "https://example.com/schema.json"},
    ),
    Case("binary-source-urn", b(ce_source="urn:event:from:myapi/resource/123")),
    Case("binary-source-mailto", b(ce_source="mailto:cncf-wg-serverless@lists.cncf.io")),
    Case("binary-source-absolute-url", b(ce_source="https://github.com/cloudevents/spec/pull")),
    Case(
        "binary-source-percent-escape",
        b(ce_source="/orders/a%2520b"),
        attrs={"source": "/orders/a%20b"},
    ),
    Case("binary-extension-20-chars", b(**{"ce-abcdefghij0123456789": "x"})),
    Case(
        "binary-extension-21-chars-warns",
        b(**{"ce-abcdefghij01234567890": "x"}),
        warnings=("extension-name-too-long",),
    ),
    Case(
        "binary-type-not-reverse-dns-warns",
        b(ce_type="OrderCreated"),
        warnings=("type-not-reverse-dns",),
    ),
    Case(
        "binary-v03",
        b(ce_specversion="0.3", ce_schemaurl="https://example.com/s"),
        attrs={"specversion": "0.3", "schemaurl": "https://example.com/s"},
    ),
    Case("binary-leap-second", b(ce_time="2016-12-31T23:59:60Z")),
    Case("structured-minimal", SJ, s(), mode="structured", attrs=S),
    Case(
        "structured-charset-case",
        {"Content-Type": "Application/CloudEvents+JSON; charset=UTF-8"},
        s(data={"x": 1}),
        mode="structured",
        data={"x": 1},
    ),
    Case(
        "structured-with-ce-headers",
        {**SJ, "ce-id": "other", "ce-type": "com.example.other"},
        s(),
        mode="structured",
        attrs={"id": "1", "type": "com.example.t"},
    ),
    Case(
        "structured-data-base64",
        SJ,
        s(
            datacontenttype="application/octet-stream",
            data_base64=base64.b64encode(b"\x01\x02").decode(),
        ),
        mode="structured",
        data=b"\x01\x02",
    ),
    Case(
        "structured-json-string-not-parsed-again",
        SJ,
        s(datacontenttype="application/json", data='{"a": 1}'),
        mode="structured",
        data='{"a": 1}',
    ),
    Case(
        "structured-xml-string",
        SJ,
        s(datacontenttype="application/xml", data='<much wow="xml"/>'),
        mode="structured",
        data='<much wow="xml"/>',
    ),
    Case(
        "structured-null-attributes-unset",
        SJ,
        s(subject=None, time=None, unsetextension=None),
        mode="structured",
    ),
    Case("structured-data-null", SJ, s(data=None), mode="structured", data=None),
    Case(
        "structured-typed-extensions",
        SJ,
        s(comexampleothervalue=5, flag=True, label="x"),
        mode="structured",
        attrs={"comexampleothervalue": 5, "flag": True, "label": "x"},
    ),
    Case("structured-int32-max", SJ, s(big=2**31 - 1), mode="structured", attrs={"big": 2**31 - 1}),
    Case("structured-int32-min", SJ, s(small=-(2**31)), mode="structured"),
    Case(
        "structured-v03-base64",
        SJ,
        s(specversion="0.3", datacontentencoding="base64", data=base64.b64encode(b"hi").decode()),
        mode="structured",
        data=b"hi",
    ),
    Case(
        "structured-no-datacontenttype-json-value",
        SJ,
        s(data=[1, "a"]),
        mode="structured",
        data=[1, "a"],
    ),
    Case(
        "structured-spec-example-c",
        SJ,
        s(
            subject=None,
            time="2018-04-05T17:31:00Z",
            comexampleextension1="value",
            datacontenttype="application/json",
            data={"appinfoA": "abc", "appinfoB": 123, "appinfoC": True},
        ),
        mode="structured",
        data={"appinfoA": "abc", "appinfoB": 123, "appinfoC": True},
    ),
    Case(
        "structured-over-64kb-warns",
        SJ,
        s(data="x" * 70_000),
        mode="structured",
        data="x" * 70_000,
        warnings=("event-over-64kb",),
    ),
    Case(
        "batch-two-events",
        BJ,
        json.dumps([{**S, "id": "a"}, {**S, "id": "b", "data_base64": "AAE="}]).encode(),
        mode="batch",
        count=2,
    ),
    Case("batch-empty", BJ, b"[]", mode="batch", count=0),
    Case(
        "batch-charset-param",
        {"content-type": "application/cloudevents-batch+json; charset=UTF-8"},
        json.dumps([S]).encode(),
        mode="batch",
    ),
]

INVALID = [
    Case("binary-missing-id", b(("ce-id",)), code="missing-id"),
    Case("binary-missing-source", b(("ce-source",)), code="missing-source"),
    Case("binary-missing-type", b(("ce-type",)), code="missing-type"),
    Case("binary-missing-specversion", b(("ce-specversion",)), code="missing-specversion"),
    Case(
        "plain-json-post-is-no-event",
        {"content-type": "application/json"},
        b"{}",
        code="missing-id",
    ),
    Case("structured-missing-id", SJ, s(drop=("id",)), code="missing-id"),
    Case("structured-missing-source", SJ, s(drop=("source",)), code="missing-source"),
    Case("structured-missing-type", SJ, s(drop=("type",)), code="missing-type"),
    Case("structured-null-specversion", SJ, s(specversion=None), code="missing-specversion"),
    Case("binary-specversion-2", b(ce_specversion="2.0"), code="specversion-unknown"),
    Case("structured-specversion-1", SJ, s(specversion="1"), code="specversion-unknown"),
    Case("binary-empty-id", b(ce_id=""), code="empty-attribute"),
    Case("structured-empty-source", SJ, s(source=""), code="empty-attribute"),
    Case("structured-empty-subject", SJ, s(subject=""), code="empty-attribute"),
    Case("structured-numeric-id", SJ, s(id=123), code="attribute-type"),
    Case("structured-boolean-type", SJ, s(type=True), code="attribute-type"),
    Case("structured-float-extension", SJ, s(ratio=0.5), code="attribute-type"),
    Case("structured-object-extension", SJ, s(meta={"a": 1}), code="attribute-type"),
    Case("structured-array-extension", SJ, s(tags=["a"]), code="attribute-type"),
    Case("structured-numeric-time", SJ, s(time=1522899384), code="attribute-type"),
    Case("structured-int-over-int32", SJ, s(big=2**31), code="integer-out-of-range"),
    Case("structured-int-under-int32", SJ, s(small=-(2**31) - 1), code="integer-out-of-range"),
    Case("binary-newline-in-subject", b(ce_subject="a%0Ab"), code="control-character"),
    Case("structured-bell-in-id", SJ, s(id="a\u0007"), code="control-character"),
    Case("structured-c1-in-extension", SJ, s(note="a\u0085"), code="control-character"),
    Case("structured-space-in-source", SJ, s(source="/a b"), code="source-not-uri-reference"),
    Case("binary-bad-scheme-source", b(ce_source="1a:b"), code="source-not-uri-reference"),
    Case(
        "structured-two-fragments-source", SJ, s(source="/a#b#c"), code="source-not-uri-reference"
    ),
    Case(
        "binary-relative-dataschema",
        b(ce_dataschema="/schema.json"),
        code="dataschema-not-absolute-uri",
    ),
    Case(
        "structured-v03-relative-schemaurl",
        SJ,
        s(specversion="0.3", schemaurl="s.json"),
        code="dataschema-not-absolute-uri",
    ),
    Case("binary-time-basic-format", b(ce_time="20180405T035624Z"), code="time-not-rfc3339"),
    Case("binary-time-no-offset", b(ce_time="2018-04-05T03:56:24"), code="time-not-rfc3339"),
    Case("structured-time-month-13", SJ, s(time="2018-13-05T03:56:24Z"), code="time-not-rfc3339"),
    Case(
        "structured-time-space-separator",
        SJ,
        s(time="2018-04-05 03:56:24Z"),
        code="time-not-rfc3339",
    ),
    Case("binary-dash-in-extension-name", b(**{"ce-bad-ext": "x"}), code="extension-name-invalid"),
    Case("structured-uppercase-extension", SJ, s(Bad="x"), code="extension-name-invalid"),
    Case("structured-underscore-extension", SJ, s(bad_ext="x"), code="extension-name-invalid"),
    # Conformance item 1 -- core spec 3.1.3, extension naming: "MUST consist of lower-case
    # letters ('a' to 'z') or digits ('0' to '9')"; a header name with `_` must reach the check
    Case(
        "binary-underscore-header",
        {**b(), "ce-bad_name": "x"},
        code="extension-name-invalid",
    ),
    Case("binary-ce-data-header", b(ce_data="x"), code="extension-name-invalid"),
    Case(
        "binary-ce-datacontenttype",
        b(ce_datacontenttype="application/json"),
        code="datacontenttype-header-in-binary",
    ),
    Case("binary-overlong-utf8", b(ce_subject="%C0%A0"), code="invalid-percent-encoding"),
    Case("binary-broken-escape", b(ce_subject="%ZZ"), code="invalid-percent-encoding"),
    Case("binary-truncated-escape", b(ce_subject="abc%4"), code="invalid-percent-encoding"),
    Case("binary-lone-continuation-byte", b(ce_subject="%80"), code="invalid-percent-encoding"),
    Case("binary-raw-non-ascii", b(ce_subject="caf\u00e9"), code="invalid-percent-encoding"),
    Case("binary-unterminated-quote", b(ce_subject='"abc'), code="invalid-percent-encoding"),
    Case(
        "binary-invalid-json-body",
        b(**{"content-type": "application/json"}),
        b"{",
        code="invalid-json",
    ),
    # Conformance item 2 -- core spec 3.1.1, datacontenttype: "If present, MUST adhere to
    # the format specified in RFC 2046"
    Case(
        "binary-content-type-not-media-type",
        b(content_type="xyz"),
        b"x",
        code="datacontenttype-not-media-type",
    ),
    Case(
        "structured-datacontenttype-type-only",
        SJ,
        s(datacontenttype="application"),
        code="datacontenttype-not-media-type",
    ),
    Case(
        "structured-datacontenttype-bogus-parameters",
        SJ,
        s(datacontenttype="bogus ;========="),
        code="datacontenttype-not-media-type",
    ),
    # Conformance item 6 -- JSON format 3 (RFC 8259 section 6): "Numeric values that cannot
    # be represented ... (such as Infinity and NaN) are not permitted"
    Case("binary-json-nan", b(content_type="application/json"), b'{"n": NaN}', code="invalid-json"),
    Case("structured-infinity-data", SJ, s()[:-1] + b', "data": Infinity}', code="invalid-json"),
    # Conformance item 3 -- core spec, type system, String: "noncharacters" are forbidden,
    # and Unicode has 66 of them, on every plane
    Case("structured-noncharacter-plane-1", SJ, s(subject="a\U0001fffe"), code="control-character"),
    Case("structured-noncharacter-plane-16", SJ, s(note="\U0010ffff"), code="control-character"),
    Case("binary-noncharacter-plane-14", b(ce_subject="%F3%AF%BF%BF"), code="control-character"),
    # Conformance item 4 -- 0.3 JSON format 3.1: data is base64 "when the datacontentencoding
    # attribute is set to base64"; no other value can be carried
    Case(
        "structured-v03-encoding-not-base64",
        SJ,
        s(specversion="0.3", datacontentencoding="base54", data="aGVsbG8="),
        code="invalid-base64",
    ),
    Case("structured-invalid-json", SJ, b'{"id": ', code="invalid-json"),
    Case("structured-invalid-utf8", SJ, b'{"id": "\xff"}', code="invalid-json"),
    Case("structured-empty-body", SJ, b"", code="invalid-json"),
    Case("structured-array", SJ, b"[]", code="not-an-object"),
    Case("structured-number", SJ, b"42", code="not-an-object"),
    Case("batch-element-not-object", BJ, b"[1]", code="not-an-object"),
    Case("batch-object", BJ, s(), code="batch-not-an-array"),
    Case(
        "batch-mixed-specversion",
        BJ,
        json.dumps([S, {**S, "specversion": "0.3"}]).encode(),
        code="batch-mixed-specversion",
    ),
    Case(
        "batch-one-invalid-event",
        BJ,
        json.dumps([S, {**S, "id": ""}]).encode(),
        code="empty-attribute",
    ),
    Case(
        "structured-data-and-data-base64",
        SJ,
        s(data="x", data_base64="eA=="),
        code="data-and-data-base64",
    ),
    Case("structured-invalid-base64", SJ, s(data_base64="!!!"), code="invalid-base64"),
    Case("structured-unpadded-base64", SJ, s(data_base64="eA"), code="invalid-base64"),
    Case("structured-numeric-base64", SJ, s(data_base64=12), code="invalid-base64"),
    Case(
        "structured-v03-bad-base64-data",
        SJ,
        s(specversion="0.3", datacontentencoding="base64", data="not base64!"),
        code="invalid-base64",
    ),
    Case(
        "structured-avro",
        {"content-type": "application/cloudevents+avro"},
        b"\x00",
        code="unsupported-format",
    ),
    Case(
        "batch-xml",
        {"content-type": "application/cloudevents-batch+xml"},
        b"<a/>",
        code="unsupported-format",
    ),
]


def _attrs(event: Any) -> dict[str, Any]:
    attrs = dict(event.get_attributes())
    if "time" in attrs:
        attrs["time"] = when(event)
    return attrs


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.id)
def test_valid_message_decodes(case: Case) -> None:
    decoded = decode(case.headers, case.body)
    assert decoded.violations == []
    assert decoded.mode == case.mode
    assert len(decoded.events) == case.count
    assert sorted(w.code for w in decoded.warnings) == sorted(case.warnings)
    assert all(w.level is Level.SHOULD for w in decoded.warnings)
    if case.count == 1:
        [event] = decoded.events
        attrs = _attrs(event)
        for name, value in case.attrs.items():
            assert attrs[name] == value, name
        assert None not in attrs.values()
        assert event.get_data() == case.data
        assert type(event.get_data()) is type(case.data)


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.id)
def test_invalid_message_is_rejected_with_its_code(case: Case) -> None:
    decoded = decode(case.headers, case.body)
    assert decoded.events == []
    codes = [v.code for v in decoded.violations]
    assert case.code in codes
    assert all(v.level is Level.MUST for v in decoded.violations)
    assert all(len(v.message) > 20 for v in decoded.violations)


def test_the_table_is_large_and_covers_every_message_level_must_code() -> None:
    assert len(VALID) + len(INVALID) >= 60
    covered = {c.code for c in INVALID}
    # body-too-large is decided by the receiver's size limit (and the JSON value bound).
    assert MUST_CODES - covered == {"body-too-large"}


def test_missing_attributes_are_never_filled_in() -> None:
    decoded = decode(b(("ce-id", "ce-specversion")), b"")
    assert {v.code for v in decoded.violations} == {"missing-id", "missing-specversion"}
    assert decoded.events == []


def test_binary_decodes_extensions_as_strings_and_keeps_no_ce_datacontenttype() -> None:
    decoded = decode(b(ce_flag="true", ce_n="5"), b"")
    [event] = decoded.events
    assert attr(event, "flag") == "true"
    assert attr(event, "n") == "5"


def test_lax_mode_accepts_what_the_sdk_can_build_and_lists_the_rest() -> None:
    headers = b(ce_time="20180405T035624Z", ce_sub_ject="x", ce_big="1")
    decoded = decode(headers, b"", strict=False)
    assert decoded.violations == []
    [event] = decoded.events
    assert when(event) is None  # the unparseable time was dropped
    assert "sub-ject" not in event.get_attributes()
    codes = {w.code for w in decoded.warnings}
    assert {"time-not-rfc3339", "extension-name-invalid"} <= codes


def test_lax_mode_still_rejects_an_event_without_an_id() -> None:
    decoded = decode(b(("ce-id",)), b"", strict=False)
    assert [v.code for v in decoded.violations] == ["missing-id"]


def test_lax_mode_keeps_an_undecodable_json_body_as_bytes() -> None:
    decoded = decode(b(**{"content-type": "application/json"}), b"{", strict=False)
    [event] = decoded.events
    assert event.get_data() == b"{"
    assert [w.code for w in decoded.warnings] == ["invalid-json"]


def test_lax_mode_still_rejects_a_broken_envelope() -> None:
    decoded = decode(SJ, b"{", strict=False)
    assert [v.code for v in decoded.violations] == ["invalid-json"]


def test_batch_violation_names_the_event_index() -> None:
    decoded = decode(BJ, json.dumps([S, {**S, "id": ""}]).encode())
    [violation] = decoded.violations
    assert violation.message.startswith("event 1:")


def test_v03_events_are_built_with_the_v03_class() -> None:
    [event] = decode(b(ce_specversion="0.3"), b"").events
    assert type(event) is event_class("0.3") and attr(event, "specversion") == "0.3"


@pytest.mark.parametrize(
    ("headers", "body"),
    [({}, b""), ({"content-type": ""}, b"x"), ({"content-type": "application/cloudevents"}, b"{}")],
)
def test_odd_messages_give_violations_not_exceptions(headers: dict[str, str], body: bytes) -> None:
    decoded = decode(headers, body)
    assert decoded.violations


def test_decode_rejects_wrong_argument_types_with_a_hint() -> None:
    with pytest.raises(TypeError, match="encode it first"):
        decode({}, "text")  # type: ignore[arg-type]


def test_an_undecodable_required_header_is_reported_once() -> None:
    decoded = decode(b(ce_id="caf\u00e9"), b"")
    assert [v.code for v in decoded.violations] == ["invalid-percent-encoding"]


def test_built_events_equal_what_the_sdk_constructor_builds() -> None:
    """build_event skips the SDK's (weaker, repeated) validation; the result must be the
    same object state the constructor would give, and no time is invented."""
    from pytest_cloudevents.events import _TRUSTED_LAYOUT

    assert _TRUSTED_LAYOUT, "the SDK's event layout changed: build_event uses the constructor"
    headers = b(ce_time="2018-04-05T03:56:24Z", ce_subject="s", ce_ext="v")
    [ours] = decode(headers, b'{"a": 1}').events
    sdk = type(ours)(dict(ours.get_attributes()), ours.get_data())
    assert vars(ours) == vars(sdk)
    [untimed] = decode(b(), b"").events
    assert "time" not in untimed.get_attributes() and when(untimed) is None


# -- the fast paths of 0.3 (issue 27): each gives what the long way gives ---------------


def test_values_seen_clean_never_hide_a_violation_next_to_them() -> None:
    """check_attributes remembers values it found clean; another attribute's fault, an
    empty or broken id, a time that does not parse, or another specversion is still
    reported (a value is remembered only when its whole event was clean)."""
    from pytest_cloudevents.spec.rules import check_attributes

    clean = {"specversion": "1.0", "id": "1", "source": "/s", "type": "com.example.t"}
    assert check_attributes(clean) == []
    assert check_attributes(clean) == []  # now remembered
    assert [v.code for v in check_attributes({**clean, "id": ""})] == ["empty-attribute"]
    assert [v.code for v in check_attributes({**clean, "id": "a\x00"})] == ["control-character"]
    assert [v.code for v in check_attributes({**clean, "time": "yesterday"})] == [
        "time-not-rfc3339"
    ]
    assert [v.code for v in check_attributes({**clean, "source": "a b"})] == [
        "source-not-uri-reference"
    ]
    missing = {k: v for k, v in clean.items() if k != "type"}
    assert [v.code for v in check_attributes(missing)] == ["missing-type"]
    # `schemaurl` is an extension in 1.0 (any string) and an absolute URI in 0.3
    assert check_attributes({**clean, "schemaurl": "x"}) == []
    v03 = {**clean, "specversion": "0.3", "schemaurl": "x"}
    assert [v.code for v in check_attributes(v03)] == ["dataschema-not-absolute-uri"]


def test_a_time_is_parsed_once_for_its_check_and_its_event() -> None:
    from pytest_cloudevents.spec.syntax import parse_time

    first = parse_time("2024-01-02T03:04:05Z")
    assert first is not None and parse_time("2024-01-02T03:04:05Z") is first
    assert parse_time("2024-01-02T03:04:06Z") != first
    assert parse_time("not a time") is None


def test_headers_read_in_bulk_equal_headers_built_from_pairs() -> None:
    """The server's Headers.read (NUL-joined names and values) gives what Headers(pairs)
    gives: lookups in any case, repeats joined, names and order as sent."""
    from pytest_cloudevents.wire import Headers

    pairs = [("Host", "h"), ("CE-Id", "1"), ("ce-type", "t"), ("X-Twice", "a"), ("x-twice", "b")]
    read = Headers.read(
        b"\0".join(n.encode() for n, _ in pairs), b"\0".join(v.encode() for _, v in pairs)
    )
    built = Headers(pairs)
    assert (
        read.lowered
        == built.lowered
        == {
            "host": "h",
            "ce-id": "1",
            "ce-type": "t",
            "x-twice": "a, b",
        }
    )
    assert read.pairs() == built.pairs() == tuple(pairs)
    assert list(read) == list(built) and read == built and read["CE-ID"] == "1"
    assert read.get_all("X-TWICE") == ["a", "b"]
    assert Headers.read(b"", b"").pairs() == ()


def test_a_head_with_a_nul_in_a_value_is_still_read_pair_by_pair() -> None:
    """llhttp refuses NUL in headers; should one pass anyway, reading the head in bulk
    (NUL-joined) would misalign names and values: it falls back instead of raising."""
    from pytest_cloudevents.hosts.server.connection import _read_headers

    headers = _read_headers([b"X-A", b"a\x00b", b"Y", b"c"])
    assert headers.pairs() == (("X-A", "a\x00b"), ("Y", "c")) and headers["y"] == "c"
